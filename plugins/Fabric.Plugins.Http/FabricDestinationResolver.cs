using Fabric.Abstractions;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Fabric.Plugins.Http;

/// <summary>
/// Expands every destination whose address is <c>fabric://service[/path]</c> into one YARP destination per replica
/// the fabric knows (healthy or degraded), so YARP's load balancing, health checks, session affinity and transforms
/// work across sites. The change token fires when the directory changes; YARP then resolves again. Other
/// destinations pass through unchanged. A service with no replica yields no destination (YARP answers 503).
/// </summary>
internal sealed class FabricDestinationResolver(FabricHolder fabric, FabricDestinations names) : IDestinationResolver
{
    public const string Scheme = "fabric://";

    public ValueTask<ResolvedDestinationCollection> ResolveDestinationsAsync(IReadOnlyDictionary<string, DestinationConfig> destinations, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        bool usesFabric = false;
        foreach ((string id, DestinationConfig destination) in destinations)
        {
            if (!destination.Address.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            {
                result[id] = destination;
                continue;
            }

            usesFabric = true;
            (string service, string path) = Split(destination.Address);
            IFabric? current = fabric.Current;
            if (current is null)
            {
                continue; // the fabric is not up yet: resolved again when it is
            }

            foreach (FabricReplicaInfo replica in InRotation(current.FindReplicas(service, HttpDriverPlugin.Subprotocol.Id)))
            {

                var metadata = new Dictionary<string, string>(destination.Metadata ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase)
                {
                    ["fabric.service"] = service,
                    ["fabric.replica"] = replica.Key,
                    ["fabric.node"] = replica.NodeName,
                };
                result[$"{id}/{replica.Key}"] = destination with
                {
                    Address = $"http://{names.HostFor(service, replica.Key)}{path}",
                    Host = destination.Host ?? service,
                    Metadata = metadata,
                };
            }
        }

        IChangeToken? token = usesFabric ? fabric.ChangeToken() : null;
        return new ValueTask<ResolvedDestinationCollection>(new ResolvedDestinationCollection(result, token));
    }

    /// <summary>The serving replicas; when there are none, the draining ones (a stopping node serves until its GOAWAY).</summary>
    private static IEnumerable<FabricReplicaInfo> InRotation(IReadOnlyList<FabricReplicaInfo> replicas)
    {
        static bool Serving(FabricReplicaInfo r) => r.Health is FabricServiceHealth.Healthy or FabricServiceHealth.Degraded;
        return replicas.Any(Serving) ? replicas.Where(Serving) : replicas.Where(r => r.Health is FabricServiceHealth.Draining);
    }

    private static (string Service, string Path) Split(string address)
    {
        string rest = address[Scheme.Length..];
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (rest, "/") : (rest[..slash], rest[slash..]);
    }
}
