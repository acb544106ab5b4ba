using System.Net;
using Fabric.Core.Policy;
using Fabric.Core.Security;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Core.Tests.Policy;

/// <summary>
/// <see cref="AccessPolicy"/> (docs/PROTOCOL.md §3.6): among the rules covering the service and the origin node, the
/// longest source prefix containing the client address wins, a wildcard is a /0, a stream without an address matches
/// only wildcards, Deny wins ties, and the default applies when nothing matches. Checked case by case and against a
/// naive reference implementation over random rule sets.
/// </summary>
public class AccessPolicyTests
{
    private static readonly NodeId NodeX = NodeId.FromBytes([.. Enumerable.Repeat((byte)0xAA, 32)]);
    private static readonly NodeId NodeY = NodeId.FromBytes([.. Enumerable.Repeat((byte)0x5C, 32)]);

    // ---------------------------------------------------------------- longest prefix

    [Theory]
    [InlineData("10.1.2.3", AccessAction.Allow)]
    [InlineData("10.1.3.3", AccessAction.Deny)]
    [InlineData("10.1.255.255", AccessAction.Deny)]
    [InlineData("10.2.0.1", AccessAction.Allow)]
    [InlineData("10.1.2.255", AccessAction.Allow)]
    [InlineData("11.0.0.1", AccessAction.Deny)] // no rule: the default
    public void Evaluate_NestedPrefixes_LongestMatchWins(string source, AccessAction expected)
    {
        var policy = new AccessPolicy(
        [
            Rule(AccessAction.Allow, sources: ["10.0.0.0/8"]),
            Rule(AccessAction.Deny, sources: ["10.1.0.0/16"]),
            Rule(AccessAction.Allow, sources: ["10.1.2.0/24"]),
        ], AccessAction.Deny);

        Assert.Equal(expected, policy.Evaluate("orders", NodeX, IPAddress.Parse(source)));
    }

    [Fact]
    public void Evaluate_RuleOrder_DoesNotMatter()
    {
        AccessRule[] rules = [Rule(AccessAction.Allow, sources: ["10.1.2.0/24"]), Rule(AccessAction.Deny, sources: ["10.1.0.0/16"]), Rule(AccessAction.Allow, sources: ["10.0.0.0/8"])];
        var forward = new AccessPolicy(rules, AccessAction.Deny);
        var backward = new AccessPolicy(rules.Reverse(), AccessAction.Deny);
        foreach (string source in (string[])["10.1.2.3", "10.1.3.3", "10.2.0.1", "9.9.9.9"])
        {
            Assert.Equal(forward.Evaluate("s", NodeX, IPAddress.Parse(source)), backward.Evaluate("s", NodeX, IPAddress.Parse(source)));
        }
    }

    [Fact]
    public void Evaluate_LongestSourceWithinOneRule_Counts()
    {
        // One rule lists a /8 and a /24; another a /16: the /24 of the first rule is what competes.
        var policy = new AccessPolicy([Rule(AccessAction.Allow, sources: ["10.0.0.0/8", "10.1.2.0/24"]), Rule(AccessAction.Deny, sources: ["10.1.0.0/16"])]);
        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.Parse("10.1.2.9")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("10.1.9.9")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Evaluate_EqualPrefixAllowAndDeny_DenyWins(bool denyFirst)
    {
        AccessRule allow = Rule(AccessAction.Allow, sources: ["192.168.0.0/16"]);
        AccessRule deny = Rule(AccessAction.Deny, sources: ["192.168.0.0/16"]);
        var policy = new AccessPolicy(denyFirst ? [deny, allow] : [allow, deny]);

        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("192.168.7.7")));
    }

    [Fact]
    public void Evaluate_WildcardSource_IsSlash0()
    {
        var tie = new AccessPolicy([Rule(AccessAction.Allow, sources: ["*"]), Rule(AccessAction.Deny, sources: ["0.0.0.0/0"])]);
        Assert.Equal(AccessAction.Deny, tie.Evaluate("s", NodeX, IPAddress.Parse("1.2.3.4")));

        var longer = new AccessPolicy([Rule(AccessAction.Deny, sources: ["*"]), Rule(AccessAction.Allow, sources: ["10.0.0.0/8"])]);
        Assert.Equal(AccessAction.Allow, longer.Evaluate("s", NodeX, IPAddress.Parse("10.9.9.9")));
        Assert.Equal(AccessAction.Deny, longer.Evaluate("s", NodeX, IPAddress.Parse("11.9.9.9")));
        Assert.Equal(AccessAction.Deny, longer.Evaluate("s", NodeX, IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void Evaluate_NoSourceAddress_MatchesOnlyWildcardRules()
    {
        var networksOnly = new AccessPolicy([Rule(AccessAction.Deny, sources: ["0.0.0.0/0"]), Rule(AccessAction.Deny, sources: ["::/0"])], AccessAction.Allow);
        Assert.Equal(AccessAction.Allow, networksOnly.Evaluate("s", NodeX, null));

        var withWildcard = new AccessPolicy([Rule(AccessAction.Allow, sources: ["10.0.0.0/8"]), Rule(AccessAction.Deny, sources: ["*"])], AccessAction.Allow);
        Assert.Equal(AccessAction.Deny, withWildcard.Evaluate("s", NodeX, null));

        var mixed = new AccessPolicy([Rule(AccessAction.Allow, sources: ["10.0.0.0/8", "*"])], AccessAction.Deny);
        Assert.Equal(AccessAction.Allow, mixed.Evaluate("s", NodeX, null));
    }

    [Fact]
    public void Evaluate_DenyRuleWhoseSourceDoesNotMatch_DefaultApplies()
    {
        var policy = new AccessPolicy([Rule(AccessAction.Deny, sources: ["10.0.0.0/8"])], AccessAction.Allow);

        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.Parse("192.168.1.1")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public void Evaluate_BareAddress_IsAHostRoute()
    {
        var policy = new AccessPolicy([Rule(AccessAction.Allow, sources: ["10.0.0.0/8"]), Rule(AccessAction.Deny, sources: ["10.1.2.3", "2001:db8::7"])]);

        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("10.1.2.3")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.Parse("10.1.2.4")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("2001:db8::7")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.Parse("2001:db8::8")));
    }

    // ---------------------------------------------------------------- address families

    [Theory]
    [InlineData("2001:db8:1::5", AccessAction.Allow)]
    [InlineData("2001:db8:2::5", AccessAction.Deny)]
    [InlineData("2001:db9::1", AccessAction.Allow)]
    [InlineData("10.0.0.1", AccessAction.Allow)]
    public void Evaluate_Ipv6Source_LongestIpv6PrefixWins(string source, AccessAction expected)
    {
        var policy = new AccessPolicy([Rule(AccessAction.Deny, sources: ["2001:db8::/32"]), Rule(AccessAction.Allow, sources: ["2001:db8:1::/48"])], AccessAction.Allow);

        Assert.Equal(expected, policy.Evaluate("s", NodeX, IPAddress.Parse(source)));
    }

    [Theory]
    [InlineData("::ffff:10.1.2.3", AccessAction.Deny)]
    [InlineData("::ffff:10.9.2.3", AccessAction.Allow)]
    [InlineData("::ffff:192.168.0.1", AccessAction.Allow)]
    public void Evaluate_Ipv4MappedIpv6Source_MatchedAsIpv4(string source, AccessAction expected)
    {
        IPAddress address = IPAddress.Parse(source);
        Assert.True(address.IsIPv4MappedToIPv6);
        var policy = new AccessPolicy([Rule(AccessAction.Deny, sources: ["10.1.0.0/16"]), Rule(AccessAction.Allow, sources: ["10.0.0.0/8", "192.168.0.1"])], AccessAction.Deny);

        Assert.Equal(expected, policy.Evaluate("s", NodeX, address));
        Assert.Equal(expected, policy.Evaluate("s", NodeX, address.MapToIPv4()));
    }

    [Theory]
    [InlineData("::ffff:10.0.0.0/104", "10.1.2.3", AccessAction.Deny)]
    [InlineData("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", AccessAction.Deny)]
    [InlineData("::ffff:10.0.0.0/104", "11.1.2.3", AccessAction.Allow)]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3", AccessAction.Deny)]
    [InlineData("::ffff:0:0/96", "203.0.113.1", AccessAction.Deny)]
    [InlineData("::ffff:0:0/96", "2001:db8::1", AccessAction.Allow)]
    public void Evaluate_Ipv4MappedIpv6Rule_MatchesTheIpv4Addresses(string rule, string source, AccessAction expected)
    {
        var policy = new AccessPolicy([Rule(AccessAction.Deny, sources: [rule])], AccessAction.Allow);

        Assert.Equal(expected, policy.Evaluate("s", NodeX, IPAddress.Parse(source)));
    }

    [Fact]
    public void Evaluate_Ipv4RulesAndIpv6Source_NoMatch()
    {
        var policy = new AccessPolicy([Rule(AccessAction.Deny, sources: ["0.0.0.0/0"])], AccessAction.Allow);

        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.Parse("2001:db8::1")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.IPv6Loopback));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Loopback));
    }

    // ---------------------------------------------------------------- nodes and services

    [Fact]
    public void Evaluate_NodeSpecificRules_CoverOnlyThoseNodes()
    {
        var policy = new AccessPolicy(
        [
            Rule(AccessAction.Deny, nodes: [NodeX.ToString()], sources: ["*"]),
            Rule(AccessAction.Allow, nodes: [NodeY.ToString().ToUpperInvariant()], sources: ["10.0.0.0/8"]),
        ], AccessAction.Deny);

        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("10.0.0.1")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeY, IPAddress.Parse("10.0.0.1")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeY, IPAddress.Parse("11.0.0.1")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeId.FromBytes(new byte[32]), IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public void Evaluate_NodeSpecificShorterPrefix_LosesToWildcardNodeLongerPrefix()
    {
        var policy = new AccessPolicy(
        [
            Rule(AccessAction.Deny, nodes: [NodeX.ToString()], sources: ["10.0.0.0/8"]),
            Rule(AccessAction.Allow, nodes: ["*"], sources: ["10.1.0.0/16"]),
        ]);

        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeX, IPAddress.Parse("10.1.0.1")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("s", NodeX, IPAddress.Parse("10.2.0.1")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("s", NodeY, IPAddress.Parse("10.2.0.1")));
    }

    [Fact]
    public void Evaluate_ServiceSpecificRules_CoverOnlyThoseServices()
    {
        var policy = new AccessPolicy(
        [
            Rule(AccessAction.Allow, services: ["orders", "billing"], sources: ["10.0.0.0/8"]),
            Rule(AccessAction.Deny, services: ["admin"], sources: ["*"]),
            Rule(AccessAction.Deny, services: ["*"], sources: ["10.66.0.0/16"]),
        ], AccessAction.Allow);

        Assert.Equal(AccessAction.Allow, policy.Evaluate("orders", NodeX, IPAddress.Parse("10.1.1.1")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("billing", NodeX, IPAddress.Parse("10.1.1.1")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("admin", NodeX, IPAddress.Parse("10.1.1.1")));
        Assert.Equal(AccessAction.Deny, policy.Evaluate("orders", NodeX, IPAddress.Parse("10.66.1.1")));
        Assert.Equal(AccessAction.Allow, policy.Evaluate("Admin", NodeX, IPAddress.Parse("10.1.1.1"))); // names are exact
    }

    [Theory]
    [InlineData(AccessAction.Allow)]
    [InlineData(AccessAction.Deny)]
    public void Evaluate_NoRuleCovers_DefaultAction(AccessAction fallback)
    {
        var empty = new AccessPolicy([], fallback);
        Assert.Equal(fallback, empty.Evaluate("s", NodeX, IPAddress.Parse("10.0.0.1")));
        Assert.Equal(fallback, empty.Evaluate("s", NodeX, null));
        Assert.Equal(fallback, empty.DefaultAction);
        Assert.Equal(0, empty.RuleCount);

        AccessAction other = fallback == AccessAction.Allow ? AccessAction.Deny : AccessAction.Allow;
        var elsewhere = new AccessPolicy([Rule(other, services: ["other"], sources: ["*"]), Rule(other, nodes: [NodeY.ToString()], sources: ["*"])], fallback);
        Assert.Equal(fallback, elsewhere.Evaluate("s", NodeX, IPAddress.Parse("10.0.0.1")));
        Assert.Equal(2, elsewhere.RuleCount);
    }

    [Fact]
    public void AllowAll_AnyStream_Allowed()
    {
        Assert.Equal(AccessAction.Allow, AccessPolicy.AllowAll.Evaluate("s", NodeX, null));
        Assert.Equal(AccessAction.Allow, AccessPolicy.AllowAll.Evaluate("s", NodeX, IPAddress.Parse("203.0.113.9")));
    }

    // ---------------------------------------------------------------- compilation errors

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("300.1.1.0/24")]
    [InlineData("10.0.0.0/")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/8/8")]
    [InlineData("10.0.0.0/x")]
    [InlineData("::/129")]
    [InlineData("corp-net")]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("**")]
    [InlineData("10.1")]
    [InlineData("10")]
    [InlineData("1.2.3")]
    [InlineData("0x0a000001")]
    [InlineData("10.1.2.3/8")]
    [InlineData("010.1.2.3")]
    [InlineData("10.0.0.0/08x")]
    [InlineData("10.0.0.0/+8")]
    [InlineData("10.0.0.0 /8")]
    [InlineData("2001:db8::1/64")]
    [InlineData("fe80::1%2")]
    public void Ctor_InvalidSource_FormatExceptionNamingTheRule(string source)
    {
        FormatException ex = Assert.Throws<FormatException>(() => new AccessPolicy([Rule(AccessAction.Allow, sources: ["*"]), Rule(AccessAction.Deny, sources: ["10.0.0.0/8", source])]));
        Assert.Contains("rule 1", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("node-x")]
    [InlineData("aaaa")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000a")]
    [InlineData("")]
    public void Ctor_InvalidNodeId_FormatExceptionNamingTheRule(string node)
    {
        FormatException ex = Assert.Throws<FormatException>(() => new AccessPolicy([Rule(AccessAction.Allow), Rule(AccessAction.Allow), Rule(AccessAction.Deny, nodes: [NodeX.ToString(), node])]));
        Assert.Contains("rule 2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("services")]
    [InlineData("nodes")]
    [InlineData("sources")]
    public void Ctor_EmptyList_FormatExceptionNamingTheRule(string which)
    {
        AccessRule bad = which switch
        {
            "services" => Rule(AccessAction.Allow, services: []),
            "nodes" => Rule(AccessAction.Allow, nodes: []),
            _ => Rule(AccessAction.Allow, sources: []),
        };
        FormatException ex = Assert.Throws<FormatException>(() => new AccessPolicy([Rule(AccessAction.Allow), bad]));
        Assert.Contains("rule 1", ex.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- property

    private static readonly string[] V4Pool = ["10.0.0.0", "10.1.2.3", "10.1.3.3", "10.2.0.1", "10.1.2.255", "192.168.1.1", "192.168.1.129", "0.0.0.0", "255.255.255.255", "172.16.5.4"];
    private static readonly string[] V6Pool = ["2001:db8::1", "2001:db8:1::5", "2001:db8:1:2::ff", "2001:db9::", "fe80::1", "::1", "::", "ffff::1", "::ffff:10.1.2.3", "::ffff:192.168.1.1"];
    private static readonly int[] MappedPrefixes = [96, 97, 104, 112, 120, 128];
    private static readonly int[] V4Prefixes = [0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32];
    private static readonly int[] V6Prefixes = [0, 16, 31, 32, 33, 47, 48, 64, 127, 128];

    private static readonly Gen<string> Sources = Gen.Frequency(
        (1, Gen.Constant("*")),
        (4, from a in Gen.Elements(V4Pool) from p in Gen.Elements(V4Prefixes) select Network(a, p)),
        (2, from a in Gen.Elements(V6Pool) from p in Gen.Elements(V6Prefixes) select Network(a, p)),
        (1, from a in Gen.Elements(V4Pool) from p in Gen.Elements(MappedPrefixes) select Network("::ffff:" + a, p)),
        (1, Gen.Elements([.. V4Pool, .. V6Pool])));

    private static readonly Gen<AccessRule> Rules =
        from services in Gen.Elements<string[]>(["*"], ["a"], ["b"], ["a", "b"])
        from nodes in Gen.Elements<string[]>(["*"], [NodeX.ToString()], [NodeY.ToString()], [NodeX.ToString(), NodeY.ToString()])
        from sourceCount in Gen.Choose(1, 3)
        from sources in Gen.ArrayOf(Sources, sourceCount)
        from action in Gen.Elements(AccessAction.Allow, AccessAction.Deny)
        select new AccessRule(services, nodes, sources, action);

    private static readonly Gen<IPAddress?> Addresses = Gen.Frequency(
        (1, Gen.Constant<IPAddress?>(null)),
        (4, Gen.Elements(V4Pool).Select(a => (IPAddress?)IPAddress.Parse(a))),
        (2, Gen.Elements(V4Pool).Select(a => (IPAddress?)IPAddress.Parse(a).MapToIPv6())),
        (3, Gen.Elements(V6Pool).Select(a => (IPAddress?)IPAddress.Parse(a))),
        (2, from a in Gen.Elements(V4Pool) from last in Gen.Choose(0, 255) select (IPAddress?)new IPAddress([.. IPAddress.Parse(a).GetAddressBytes()[..3], (byte)last])));

    public sealed record PolicyCase(AccessRule[] Rules, AccessAction Default, (string Service, bool X, IPAddress? Source)[] Queries)
    {
        public override string ToString() =>
            $"default {Default}; rules: {string.Join(" | ", Rules.Select(r => $"{r.Action} svc[{string.Join(",", r.Services)}] node[{string.Join(",", r.Nodes.Select(n => n.Length > 4 ? n[..4] : n))}] src[{string.Join(",", r.Sources)}]"))}; queries: {string.Join(", ", Queries.Select(q => $"{q.Service}/{(q.X ? "X" : "Y")}/{q.Source?.ToString() ?? "none"}"))}";
    }

    [Fact]
    public void Evaluate_RandomRuleSets_MatchesReferenceImplementation()
    {
        Gen<PolicyCase> cases =
            from ruleCount in Gen.Choose(0, 8)
            from rules in Gen.ArrayOf(Rules, ruleCount)
            from fallback in Gen.Elements(AccessAction.Allow, AccessAction.Deny)
            from queries in Gen.ArrayOf(
                from service in Gen.Elements("a", "b", "c")
                from x in Gen.Elements(true, false)
                from source in Addresses
                select (service, x, source), 12)
            select new PolicyCase(rules, fallback, queries);

        Property property = Prop.ForAll(Arb.From(cases), c =>
        {
            var policy = new AccessPolicy(c.Rules, c.Default);
            foreach ((string service, bool x, IPAddress? source) in c.Queries)
            {
                NodeId node = x ? NodeX : NodeY;
                AccessAction expected = Reference(c.Rules, c.Default, service, node, source);
                Assert.True(expected == policy.Evaluate(service, node, source), $"{service}/{(x ? "X" : "Y")}/{source?.ToString() ?? "none"}: expected {expected}");
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    /// <summary>The rules of §3.6 read literally, with prefixes compared bit by bit.</summary>
    private static AccessAction Reference(AccessRule[] rules, AccessAction fallback, string service, NodeId node, IPAddress? source)
    {
        byte[]? address = source is null ? null : (source.IsIPv4MappedToIPv6 ? source.MapToIPv4() : source).GetAddressBytes();
        int bestLength = -1;
        AccessAction best = fallback;
        foreach (AccessRule rule in rules)
        {
            if (!rule.Services.Any(s => s == "*" || s == service) || !rule.Nodes.Any(n => n == "*" || NodeId.Parse(n) == node))
            {
                continue;
            }

            int length = -1;
            foreach (string s in rule.Sources)
            {
                if (s == "*")
                {
                    length = Math.Max(length, 0);
                    continue;
                }

                if (address is null)
                {
                    continue;
                }

                string[] parts = s.Split('/');
                byte[] network = IPAddress.Parse(parts[0]).GetAddressBytes();
                int prefix = parts.Length == 2 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : network.Length * 8;
                if (network.Length == 16 && network.AsSpan(0, 10).IndexOfAnyExcept((byte)0) < 0 && network[10] == 0xFF && network[11] == 0xFF && prefix >= 96)
                {
                    (network, prefix) = (network[12..], prefix - 96); // an IPv4-mapped network is the IPv4 network
                }

                if (network.Length == address.Length && Enumerable.Range(0, prefix).All(bit => Bit(network, bit) == Bit(address, bit)))
                {
                    length = Math.Max(length, prefix);
                }
            }

            if (length < 0)
            {
                continue;
            }

            if (length > bestLength)
            {
                (bestLength, best) = (length, rule.Action);
            }
            else if (length == bestLength && rule.Action == AccessAction.Deny)
            {
                best = AccessAction.Deny;
            }
        }

        return best;
    }

    private static int Bit(byte[] bytes, int index) => (bytes[index / 8] >> (7 - (index % 8))) & 1;

    /// <summary>The network of <paramref name="address"/> with host bits cleared, as "address/prefix".</summary>
    private static string Network(string address, int prefix)
    {
        byte[] bytes = IPAddress.Parse(address).GetAddressBytes();
        for (int bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(1 << (7 - (bit % 8)));
        }

        return $"{new IPAddress(bytes)}/{prefix}";
    }

    private static AccessRule Rule(AccessAction action, string[]? services = null, string[]? nodes = null, string[]? sources = null)
        => new(services ?? ["*"], nodes ?? ["*"], sources ?? ["*"], action);
}
