namespace Fabric.Plugins.Grpc;

/// <summary>Maps a gRPC service name to the fabric service its calls go to.</summary>
internal sealed class GrpcRouteTable
{
    private readonly Dictionary<string, string> _exact = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, string Service)> _prefixes = []; // longest first
    private readonly string? _any;

    public GrpcRouteTable(IEnumerable<GrpcRouteOptions> routes)
    {
        foreach (GrpcRouteOptions route in routes)
        {
            if (route.Match == "*")
            {
                _any ??= route.Service;
            }
            else if (route.Match.EndsWith(".*", StringComparison.Ordinal))
            {
                _prefixes.Add((route.Match[..^1], route.Service)); // "package." keeps its dot
            }
            else
            {
                _exact.TryAdd(route.Match, route.Service);
            }
        }

        _prefixes.Sort((a, b) => b.Prefix.Length.CompareTo(a.Prefix.Length));
    }

    /// <summary>True when a route names <paramref name="grpcService"/> exactly.</summary>
    public bool HasExactRoute(string grpcService) => _exact.ContainsKey(grpcService);

    /// <summary>
    /// The fabric service for <paramref name="grpcService"/>: an exact route, the longest matching package prefix,
    /// the catch-all, or else the gRPC service name itself (the caller checks that such a fabric service exists).
    /// </summary>
    public (string Service, bool Routed) Resolve(string grpcService)
    {
        if (_exact.TryGetValue(grpcService, out string? exact))
        {
            return (exact, true);
        }

        foreach ((string prefix, string service) in _prefixes)
        {
            if (grpcService.StartsWith(prefix, StringComparison.Ordinal))
            {
                return (service, true);
            }
        }

        return _any is not null ? (_any, true) : (grpcService, false);
    }
}
