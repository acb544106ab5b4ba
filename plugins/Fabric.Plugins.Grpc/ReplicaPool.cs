using System.Collections.Concurrent;
using System.Net;
using Fabric.Abstractions;
using Fabric.Plugins.Shared;
using Microsoft.Extensions.Logging;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// The replicas calls can go to, and one HTTP/2 client per replica. Each call picks its replica (per-call balancing,
/// not per connection): among the healthy replicas of the best priority tier, the less loaded of two chosen at
/// random (outstanding calls divided by weight). A replica's HTTP/2 connections are fabric streams to exactly that
/// replica, pooled and shared by its calls; a replica that could not be reached is skipped for a while.
/// </summary>
internal sealed partial class ReplicaPool : IDisposable
{
    private readonly ConcurrentDictionary<string, ReplicaClient> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FabricReplicaInfo[]> _replicas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _ejectedUntil = new(StringComparer.Ordinal);
    private readonly GrpcDriverOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IFabric? _fabric;

    public ReplicaPool(GrpcDriverOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised when the fabric's replica set may have changed.</summary>
    public event Action? Changed;

    public bool IsUp => _fabric is not null;

    public void Attach(IFabric fabric)
    {
        _fabric = fabric;
        fabric.ReplicasChanged += OnReplicasChanged;
        OnReplicasChanged();
    }

    public void Detach()
    {
        if (Interlocked.Exchange(ref _fabric, null) is { } fabric)
        {
            fabric.ReplicasChanged -= OnReplicasChanged;
        }

        _replicas.Clear();
    }

    /// <summary>The fabric's replicas of <paramref name="service"/> that speak gRPC (cached until the directory changes).</summary>
    public FabricReplicaInfo[] ReplicasOf(string service)
    {
        IFabric? fabric = _fabric;
        if (fabric is null)
        {
            return [];
        }

        if (_replicas.TryGetValue(service, out FabricReplicaInfo[]? cached))
        {
            return cached;
        }

        FabricReplicaInfo[] found = [.. fabric.FindReplicas(service, GrpcDriverPlugin.Subprotocol.Id)];
        if (found.Length > 0 || _replicas.Count < 10_000)
        {
            _replicas[service] = found; // bounded: names come from clients
        }

        return found;
    }

    /// <summary>True when the replica is healthy enough for new calls.</summary>
    public static bool Serves(FabricReplicaInfo replica) => replica.Health is FabricServiceHealth.Healthy or FabricServiceHealth.Degraded;

    /// <summary>Picks the replica for one call; null when none is usable.</summary>
    public ReplicaClient? Pick(string service, HashSet<string>? exclude)
    {
        FabricReplicaInfo[] all = ReplicasOf(service);
        long now = _time.GetTimestamp();
        List<FabricReplicaInfo>? usable = null;
        foreach (FabricReplicaInfo replica in all)
        {
            // Draining replicas stay candidates: the health order below makes them a last resort (a stopping node
            // serves until its GOAWAY; one drained by its operator refuses, and the call fails over or ends UNAVAILABLE).
            if (exclude?.Contains(replica.Key) == true || (_ejectedUntil.TryGetValue(replica.Key, out long until) && until > now)
                || !(Serves(replica) || replica.Health == FabricServiceHealth.Draining))
            {
                continue;
            }

            usable ??= [];
            usable.Add(replica);
        }

        if (usable is null)
        {
            return null;
        }

        // Healthy before degraded before draining, then the best (lowest) priority tier.
        FabricServiceHealth bestHealth = usable.Min(r => r.Health);
        int bestPriority = usable.Where(r => r.Health == bestHealth).Min(r => r.Priority);
        usable.RemoveAll(r => r.Health != bestHealth || r.Priority != bestPriority);

        FabricReplicaInfo chosen = usable[0];
        if (usable.Count > 1)
        {
            int first = Random.Shared.Next(usable.Count);
            int second = Random.Shared.Next(usable.Count - 1);
            if (second >= first)
            {
                second++;
            }

            chosen = Load(usable[first]) <= Load(usable[second]) ? usable[first] : usable[second];
        }

        return ClientFor(chosen);
    }

    /// <summary>Skips a replica for <see cref="GrpcDriverOptions.EjectSeconds"/>.</summary>
    public void Eject(ReplicaClient client)
    {
        _ejectedUntil[client.Key] = _time.GetTimestamp() + (long)(_options.EjectSeconds * _time.TimestampFrequency);
        Log.ReplicaEjected(_logger, client.Key, client.Service, _options.EjectSeconds);
    }

    public void Dispose()
    {
        Detach();
        foreach (ReplicaClient client in _clients.Values)
        {
            client.Dispose();
        }

        _clients.Clear();
    }

    private double Load(FabricReplicaInfo replica)
    {
        int outstanding = _clients.TryGetValue(replica.Key, out ReplicaClient? client) ? client.Outstanding : 0;
        return (outstanding + 1.0) / Math.Max(1, replica.Weight);
    }

    private ReplicaClient ClientFor(FabricReplicaInfo replica) =>
        _clients.GetOrAdd(replica.Key, static (key, state) => new ReplicaClient(key, state.replica.Service, state.pool.ConnectAsync), (replica, pool: this));

    /// <summary>An HTTP/2 connection to one replica: a fabric stream, once the egress says its backend connection is up.</summary>
    private async ValueTask<Stream> ConnectAsync(ReplicaClient client, CancellationToken cancellationToken)
    {
        IFabric fabric = _fabric ?? throw new FabricOpenException(FabricErrorCodes.NoRoute, "the fabric is not up");
        FabricConnection connection = await fabric.OpenAsync(client.Service, GrpcDriverPlugin.Subprotocol.Id, new FabricOpenOptions
        {
            Replica = client.Key,
            TrafficClass = FabricTrafficClass.Interactive,
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] ready = new byte[1];
            int n = await connection.Stream.ReadAsync(ready, cancellationToken).ConfigureAwait(false);
            if (n != 1 || ready[0] != GrpcEgress.BackendReady)
            {
                throw new FabricOpenException(FabricErrorCodes.NoRoute, $"replica {client.Key} of {client.Service} could not reach its backend");
            }
        }
        catch (IOException ex) when (ex is not FabricOpenException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new FabricOpenException(FabricErrorCodes.NoRoute, $"replica {client.Key} of {client.Service} could not reach its backend: {ex.Message}", ex);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new FabricConnectionStream(connection);
    }

    private void OnReplicasChanged()
    {
        _replicas.Clear();
        if (_fabric is { } fabric)
        {
            // Clients of replicas that left the directory and carry no calls are closed.
            foreach (ReplicaClient client in _clients.Values)
            {
                if (client.Outstanding == 0 && !fabric.FindReplicas(client.Service, GrpcDriverPlugin.Subprotocol.Id).Any(r => r.Key == client.Key)
                    && _clients.TryRemove(new KeyValuePair<string, ReplicaClient>(client.Key, client)))
                {
                    client.Dispose();
                }
            }
        }

        Changed?.Invoke();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "Replica {Replica} of {Service} could not be reached; skipped for {Seconds} s")]
        public static partial void ReplicaEjected(ILogger logger, string replica, string service, double seconds);
    }
}

/// <summary>One replica's HTTP/2 client (its connections are fabric streams to that replica) and its calls in flight.</summary>
internal sealed class ReplicaClient : IDisposable
{
    private int _outstanding;

    public ReplicaClient(string key, string service, Func<ReplicaClient, CancellationToken, ValueTask<Stream>> connect)
    {
        Key = key;
        Service = service;
        Prefix = $"http://r{(uint)StringComparer.Ordinal.GetHashCode(key):x8}.grpc.fabric/";
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, cancellationToken) => connect(this, cancellationToken),
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // A connection is a fabric stream a stopping replica's node waits for: idle ones go soon (a new one is a
            // stream open, one round trip).
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(15),
            InitialHttp2StreamWindowSize = 1024 * 1024,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ActivityHeadersPropagator = null,
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>The replica's directory key.</summary>
    public string Key { get; }

    /// <summary>The fabric service.</summary>
    public string Service { get; }

    /// <summary>The destination prefix requests are sent to (only a name: the connect callback picks the replica).</summary>
    public string Prefix { get; }

    public HttpMessageInvoker Invoker { get; }

    public int Outstanding => Volatile.Read(ref _outstanding);

    public void Begin() => Interlocked.Increment(ref _outstanding);

    public void End() => Interlocked.Decrement(ref _outstanding);

    public void Dispose() => Invoker.Dispose();
}
