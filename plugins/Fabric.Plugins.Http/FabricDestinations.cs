using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Fabric.Plugins.Http;

/// <summary>
/// Names replicas in a way HTTP can carry: each replica of a service gets a DNS-safe host name
/// <c>r&lt;hash&gt;.fabric</c> that YARP uses as a destination address and that the connect callback maps back to
/// (service, replica). Thread-safe.
/// </summary>
internal sealed class FabricDestinations
{
    public const string Suffix = ".fabric";

    private readonly ConcurrentDictionary<string, (string Service, string Replica)> _byHost = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The host name of a replica.</summary>
    public string HostFor(string service, string replicaKey)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(service + "\n" + replicaKey));
        string host = "r" + Convert.ToHexStringLower(hash.AsSpan(0, 10)) + Suffix;
        _byHost[host] = (service, replicaKey);
        return host;
    }

    /// <summary>The (service, replica) a host name stands for.</summary>
    public bool TryResolve(string host, out string service, out string replicaKey)
    {
        if (_byHost.TryGetValue(host, out (string Service, string Replica) entry))
        {
            (service, replicaKey) = entry;
            return true;
        }

        service = replicaKey = string.Empty;
        return false;
    }

    /// <summary>True for the host names this class makes.</summary>
    public static bool IsFabricHost(string host) => host.EndsWith(Suffix, StringComparison.OrdinalIgnoreCase);
}
