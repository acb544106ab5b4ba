using System.Net;
using Fabric.Core.Security;

namespace Fabric.Core.Policy;

/// <summary>
/// Decides whether a node may open a stream to a service on behalf of a client address. Among the rules that cover
/// the service and the node, the one whose source network is the longest prefix containing the client address wins
/// (a wildcard is a /0; a stream without a client address matches only wildcards); when two tie, Deny wins. No
/// matching rule: the default action. Immutable: the node swaps in a new policy to reload (an atomic reference
/// swap, so evaluation never takes a lock).
/// </summary>
public sealed class AccessPolicy
{
    private readonly CompiledRule[] _rules;

    /// <summary>Compiles <paramref name="rules"/>; throws <see cref="FormatException"/> naming the rule and value that is wrong.</summary>
    public AccessPolicy(IEnumerable<AccessRule> rules, AccessAction defaultAction = AccessAction.Allow)
    {
        ArgumentNullException.ThrowIfNull(rules);
        DefaultAction = defaultAction;
        _rules = [.. rules.Select(Compile)];
    }

    /// <summary>A policy that allows everything.</summary>
    public static AccessPolicy AllowAll { get; } = new([], AccessAction.Allow);

    /// <summary>What happens when no rule covers a stream.</summary>
    public AccessAction DefaultAction { get; }

    /// <summary>Number of rules.</summary>
    public int RuleCount => _rules.Length;

    /// <summary>Decides for a stream to <paramref name="service"/> opened by <paramref name="origin"/> for <paramref name="source"/>.</summary>
    public AccessAction Evaluate(string service, NodeId origin, IPAddress? source)
    {
        int bestPrefix = -1;
        AccessAction best = DefaultAction;
        foreach (CompiledRule rule in _rules)
        {
            if (!rule.CoversService(service) || !rule.CoversNode(origin))
            {
                continue;
            }

            int prefix = rule.MatchLength(source);
            if (prefix > bestPrefix || prefix == bestPrefix && rule.Action == AccessAction.Deny)
            {
                bestPrefix = prefix;
                best = rule.Action;
            }
        }

        return best;
    }

    private static CompiledRule Compile(AccessRule rule, int index)
    {
        if (rule.Services.Count == 0 || rule.Nodes.Count == 0 || rule.Sources.Count == 0)
        {
            throw new FormatException($"rule {index}: Services, Nodes and Sources each need at least one entry (use \"*\" for any)");
        }

        var nodes = new HashSet<NodeId>();
        bool anyNode = false;
        foreach (string node in rule.Nodes)
        {
            if (node == "*")
            {
                anyNode = true;
            }
            else
            {
                try
                {
                    nodes.Add(NodeId.Parse(node));
                }
                catch (FormatException ex)
                {
                    throw new FormatException($"rule {index}: node '{node}': {ex.Message}", ex);
                }
            }
        }

        var networks = new List<IPNetwork>();
        bool anySource = false;
        foreach (string source in rule.Sources)
        {
            if (source == "*")
            {
                anySource = true;
            }
            else if (IPNetwork.TryParse(source, out IPNetwork network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(source, out IPAddress? address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                throw new FormatException($"rule {index}: source '{source}' is not a CIDR network such as 10.0.0.0/8, an address, or *");
            }
        }

        bool anyService = rule.Services.Contains("*");
        return new CompiledRule([.. rule.Services], anyService, nodes, anyNode, [.. networks], anySource, rule.Action);
    }

    private sealed class CompiledRule(HashSet<string> services, bool anyService, HashSet<NodeId> nodes, bool anyNode, IPNetwork[] networks, bool anySource, AccessAction action)
    {
        public AccessAction Action { get; } = action;

        public bool CoversService(string service) => anyService || services.Contains(service);

        public bool CoversNode(NodeId node) => anyNode || nodes.Contains(node);

        /// <summary>Length of the longest network containing <paramref name="source"/> (0 for a wildcard), or -1.</summary>
        public int MatchLength(IPAddress? source)
        {
            int best = anySource ? 0 : -1;
            if (source is null)
            {
                return best;
            }

            if (source.IsIPv4MappedToIPv6)
            {
                source = source.MapToIPv4();
            }

            foreach (IPNetwork network in networks)
            {
                if (network.PrefixLength > best && network.Contains(source))
                {
                    best = network.PrefixLength;
                }
            }

            return best;
        }
    }
}
