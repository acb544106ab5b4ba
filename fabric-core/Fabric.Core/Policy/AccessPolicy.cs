using System.Globalization;
using System.Net;
using System.Net.Sockets;
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
            if (prefix < 0)
            {
                continue; // the rule's sources do not contain the client address: it does not match at all
            }

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
            else if (TryParseNetwork(source, out IPNetwork network))
            {
                networks.Add(network);
            }
            else
            {
                throw new FormatException($"rule {index}: source '{source}' is not a CIDR network such as 10.0.0.0/8 (no host bits set), an address, or *");
            }
        }

        bool anyService = rule.Services.Contains("*");
        return new CompiledRule([.. rule.Services], anyService, nodes, anyNode, [.. networks], anySource, rule.Action);
    }

    /// <summary>
    /// Parses <c>address</c> or <c>address/prefix</c> strictly: IPv4 only in dotted-quad decimal (not the legacy
    /// forms "10.1", "10" or "0x0a000001", which name other addresses than they seem to), no scope id, no host bits
    /// set beyond the prefix. An IPv4-mapped IPv6 network is taken as the IPv4 network it maps, as sources are.
    /// </summary>
    private static bool TryParseNetwork(string text, out IPNetwork network)
    {
        network = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        int prefix = -1;
        if (slash >= 0 && !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix))
        {
            return false;
        }

        if (addressText.Contains('%', StringComparison.Ordinal) || !IPAddress.TryParse(addressText, out IPAddress? address))
        {
            return false;
        }

        bool v4 = address.AddressFamily == AddressFamily.InterNetwork;
        if (v4 ? address.ToString() != addressText : address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        int bits = v4 ? 32 : 128;
        prefix = slash < 0 ? bits : prefix;
        if (prefix > bits)
        {
            return false;
        }

        byte[] bytes = address.GetAddressBytes();
        for (int bit = prefix; bit < bits; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                return false;
            }
        }

        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
        {
            (address, prefix) = (address.MapToIPv4(), prefix - 96);
        }

        network = new IPNetwork(address, prefix);
        return true;
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
