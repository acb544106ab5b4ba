using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Fabric.Core.Discovery;
using Fabric.Core.Links;
using Fabric.Core.Policy;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;
using Microsoft.Extensions.Logging;

namespace Fabric.Core.Nodes;

/// <summary>Handles one routed stream for a subprotocol (a driver's ingress-to-egress bridge, a vendor protocol).</summary>
public delegate Task FabricStreamHandler(FabricStreamContext context, CancellationToken cancellationToken);

/// <summary>Services, announcements, routing, relaying and dispatch of routed streams.</summary>
public sealed partial class FabricNode
{
    /// <summary>The status byte a destination sends after the route preamble when it takes the stream.</summary>
    private const byte Accepted = 0;

    private readonly SubprotocolRegistry _registry = new();
    private readonly ConcurrentDictionary<ushort, FabricStreamHandler> _handlers = new();
    private readonly ServiceDirectory _directory;
    private readonly DirectoryGossip _gossip;
    private readonly Lock _servicesLock = new();
    private long _drainNoticeStarted; // Stopwatch timestamp of BeginDrainNotice; 0 while not stopping
    private bool _drainNoticeMatters; // replicas were hosted here when the notice began (plugins may withdraw theirs since)
    private readonly ConcurrentDictionary<string, long> _ejectedUntil = new();
    private readonly ConcurrentDictionary<InboundStream, byte> _inbound = new();
    private List<ServiceReplica> _localServices = [];
    private volatile AccessPolicy _policy;
    private ulong _sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 8;
    private int _pressure;
    private int _announceDirty = 1;
    private long _lastAnnounce;
    private ITimer? _maintenance;
    private long _directoryFingerprint;

    /// <summary>Raised (on a timer thread, at most once a second) when the directory's replicas or paths changed.</summary>
    public event Action? DirectoryChanged;

    /// <summary>The subprotocols this node handles.</summary>
    public SubprotocolRegistry Subprotocols => _registry;

    /// <summary>What this node knows of the fabric's services.</summary>
    public ServiceDirectory Directory => _directory;

    /// <summary>The services this node hosts.</summary>
    public IReadOnlyList<ServiceReplica> LocalServices
    {
        get
        {
            lock (_servicesLock)
            {
                return _localServices;
            }
        }
    }

    /// <summary>Who may open streams to this node's services. Setting it re-checks open streams: those now denied are reset.</summary>
    public AccessPolicy AccessPolicy
    {
        get => _policy;
        set
        {
            _policy = value ?? throw new ArgumentNullException(nameof(value));
            foreach (InboundStream inbound in _inbound.Keys)
            {
                if (value.Evaluate(inbound.Service, inbound.Origin, inbound.Source) == AccessAction.Deny)
                {
                    inbound.Abort(FabricErrorCode.AccessDenied);
                }
            }
        }
    }

    /// <summary>This node's load, 0..100, announced as its pressure (re-announced at most once a second).</summary>
    public byte Pressure
    {
        get => (byte)Volatile.Read(ref _pressure);
        set
        {
            if (Interlocked.Exchange(ref _pressure, Math.Min(value, (byte)100)) != value)
            {
                Volatile.Write(ref _announceDirty, 1);
            }
        }
    }

    /// <summary>Registers the handler of a subprotocol. Vendor and experimental ids only, unless <paramref name="core"/> (the built-in drivers).</summary>
    public void RegisterHandler(SubprotocolDescriptor descriptor, FabricStreamHandler handler, bool core = false)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(handler);
        _registry.Register(descriptor, core);
        _handlers[descriptor.Id] = handler;
        Volatile.Write(ref _announceDirty, 1);
    }

    /// <summary>Removes a subprotocol's handler (a plugin unloading).</summary>
    public bool UnregisterHandler(ushort id)
    {
        bool removed = _handlers.TryRemove(id, out _) & _registry.Unregister(id);
        Volatile.Write(ref _announceDirty, 1);
        return removed;
    }

    /// <summary>Hosts a replica here: it is announced to the fabric.</summary>
    public void AddLocalService(ServiceReplica replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        lock (_servicesLock)
        {
            if (_localServices.Count >= NodeAnnouncement.MaxReplicas)
            {
                throw new InvalidOperationException($"a node hosts at most {NodeAnnouncement.MaxReplicas} replicas");
            }

            _localServices = [.. _localServices.Where(r => !(r.Service == replica.Service && r.Instance == replica.Instance)), replica];
        }

        AnnounceNow();
    }

    /// <summary>Stops hosting a replica here.</summary>
    public void RemoveLocalService(string service, string instance)
    {
        lock (_servicesLock)
        {
            _localServices = [.. _localServices.Where(r => !(r.Service == service && r.Instance == instance))];
        }

        AnnounceNow();
    }

    /// <summary>Changes a local replica's health (announced at once).</summary>
    public void SetLocalServiceHealth(string service, string instance, ReplicaHealth health)
    {
        lock (_servicesLock)
        {
            if (_drainNoticeStarted != 0 && health is not (ReplicaHealth.Draining or ReplicaHealth.Unhealthy))
            {
                return; // stopping: a backend probe must not put a replica back in rotation
            }

            _localServices = [.. _localServices.Select(r => r.Service == service && r.Instance == instance ? r with { Health = health } : r)];
        }

        AnnounceNow();
    }

    /// <summary>
    /// The first step of stopping, safe to call early (when the host begins to shut down) and more than once: every
    /// local replica is announced as draining, so other nodes stop choosing this node while its links still work.
    /// <see cref="StopAsync"/> sends GOAWAY once <see cref="RoutingOptions.DrainNotice"/> has passed since this call.
    /// </summary>
    public void BeginDrainNotice()
    {
        lock (_servicesLock)
        {
            if (_drainNoticeStarted != 0)
            {
                return;
            }

            _drainNoticeStarted = Math.Max(1, Stopwatch.GetTimestamp());
            _drainNoticeMatters = _localServices.Count > 0;
            _localServices = [.. _localServices.Select(r => r.Health is ReplicaHealth.Unhealthy ? r : r with { Health = ReplicaHealth.Draining })];
        }

        AnnounceNow();
    }

    /// <summary>Waits out what is left of the drain notice, when other nodes are linked and local replicas were announced.</summary>
    private async Task WaitDrainNoticeAsync(CancellationToken cancellationToken)
    {
        BeginDrainNotice();
        if (_options.Routing.DrainNotice <= TimeSpan.Zero || !_drainNoticeMatters || !_connections.Values.Any(c => c.PeerId != _identity.Id && c.Session.State == FabricSessionState.Open))
        {
            return;
        }

        TimeSpan left = _options.Routing.DrainNotice - Stopwatch.GetElapsedTime(_drainNoticeStarted);
        if (left > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(left, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the stop budget ran out: go on to GOAWAY now
            }
        }
    }

    /// <summary>
    /// Opens a stream to a replica of <paramref name="service"/> that speaks <paramref name="subprotocol"/>: ranks the
    /// replicas the directory knows, and tries them in turn until one accepts (a replica that fails is skipped for a
    /// while). Through relays, the stream is end-to-end encrypted between this node and the replica's node.
    /// </summary>
    public async Task<RoutedStream> OpenServiceStreamAsync(string service, ushort subprotocol, RouteOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        options ??= new RouteOptions();
        SubprotocolDescriptor descriptor = _registry.Find(subprotocol) ?? new SubprotocolDescriptor(subprotocol, "unregistered", new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0));
        var preamble = new RoutePreamble(subprotocol, descriptor.Version, descriptor.MinCompatible, service, options.Source);
        IReadOnlyList<ReplicaRoute> candidates = Rank(service, subprotocol, options);
        if (candidates.Count == 0)
        {
            throw new FabricRouteException(FabricErrorCode.NoRoute, $"no reachable, healthy replica of '{service}' speaks subprotocol 0x{subprotocol:x4}");
        }

        Exception? last = null;
        int attempts = 0;
        foreach (ReplicaRoute candidate in candidates)
        {
            if (attempts++ >= _options.Routing.MaxAttempts)
            {
                break;
            }

            for (int linkTry = 0; ; linkTry++)
            {
                int linksBefore = OpenLinkCount(candidate.NextHop);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.Routing.OpenTimeout);
                try
                {
                    return await OpenToAsync(candidate, preamble, options, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
                {
                    last = ex;
                    if (linkTry == 0 && OpenLinkCount(candidate.NextHop) is > 0 and var linksAfter && linksAfter < linksBefore)
                    {
                        // The link the attempt took went down under it, and another link to that node is up (redundant
                        // links): not the replica's fault. Try it again over the remaining link.
                        continue;
                    }

                    if (ex is not FabricRouteException { Code: FabricErrorCode.AccessDenied or FabricErrorCode.UnknownSubprotocol or FabricErrorCode.IncompatibleSubprotocol or FabricErrorCode.RefusedStream })
                    {
                        // A refusal for this stream alone (policy, subprotocol) is an answer from a working replica, and
                        // a draining replica's refusal is orderly (its announcement takes it out of rotation, and its
                        // return puts it back at once): neither is ejected.
                        _ejectedUntil[EjectionKey(service, candidate)] = _options.Session.TimeProvider.GetTimestamp() + (long)(_options.Routing.EjectionTime.TotalSeconds * _options.Session.TimeProvider.TimestampFrequency);
                        Log.ReplicaFailed(_logger, candidate.Key, service, ex.Message);
                    }

                    break;
                }
            }
        }

        FabricErrorCode code = last switch
        {
            FabricRouteException r => r.Code,
            FabricStreamException s => s.Code,
            _ => FabricErrorCode.NoRoute,
        };
        throw new FabricRouteException(code, $"no replica of '{service}' accepted the stream ({Math.Min(attempts, candidates.Count)} tried): {last?.Message}", last);
    }

    /// <summary>The replicas of a service in the order the policy would try them (ejected and unhealthy ones left out).</summary>
    public IReadOnlyList<ReplicaRoute> Rank(string service, ushort subprotocol, RouteOptions? options = null)
    {
        options ??= new RouteOptions();
        long now = _options.Session.TimeProvider.GetTimestamp();
        var candidates = _directory.FindReplicas(service, subprotocol)
            .Where(r => !_ejectedUntil.TryGetValue(EjectionKey(service, r), out long until) || until <= now)
            .Where(r => options.Exclude is null || !options.Exclude.Contains(r.Key))
            .Where(r => options.Only is null || options.Only == r.Key)
            .ToList();
        var usable = candidates.Where(r => r.Replica.Health is ReplicaHealth.Healthy or ReplicaHealth.Degraded).ToList();
        if (usable.Count == 0)
        {
            // Last resort: draining replicas. One whose node is stopping still serves until its GOAWAY; one an operator
            // drained refuses at its destination, as before.
            usable = [.. candidates.Where(r => r.Replica.Health is ReplicaHealth.Draining)];
        }
        return (options.Policy ?? _options.Routing.Policy) switch
        {
            RoutingPolicy.LeastLoaded => [.. usable.OrderBy(r => r.Replica.Health).ThenBy(r => r.Pressure).ThenBy(r => r.Hops).ThenBy(r => r.Rtt)],
            RoutingPolicy.Weighted => WeightedOrder(usable),
            RoutingPolicy.PriorityFailover => [.. usable.OrderBy(r => r.Replica.Priority).ThenBy(r => r.Replica.Health).ThenBy(r => r.Hops).ThenBy(r => r.Rtt)],
            _ => [.. usable.OrderBy(r => r.Replica.Health).ThenBy(r => r.Hops).ThenBy(r => r.Rtt).ThenBy(r => r.Pressure)],
        };
    }

    private int OpenLinkCount(NodeId peer) => _connections.Values.Count(c => c.PeerId == peer && c.Session.State == FabricSessionState.Open);

    /// <summary>Ejection is per service: a node's replicas of different services share instance names (the node name by default).</summary>
    private static string EjectionKey(string service, ReplicaRoute route) => $"{service}\n{route.Key}";

    private static List<ReplicaRoute> WeightedOrder(List<ReplicaRoute> usable)
    {
        // Weighted sampling without replacement (Efraimidis-Spirakis): key = u^(1/w), largest first; healthy before degraded.
        return [.. usable
            .Select(r => (Route: r, Key: Math.Pow(Random.Shared.NextDouble(), 1.0 / Math.Max(1, (int)r.Replica.Weight))))
            .OrderBy(x => x.Route.Replica.Health)
            .ThenByDescending(x => x.Key)
            .Select(x => x.Route)];
    }

    private async Task<RoutedStream> OpenToAsync(ReplicaRoute route, RoutePreamble preamble, RouteOptions options, CancellationToken cancellationToken)
    {
        preamble = preamble with { Instance = route.Replica.Instance }; // the destination serves exactly this replica
        if (route.IsLocal && !_options.Routing.ServeLocalInProcess && _connections.Values.Any(c => c.PeerId == _identity.Id && c.Session.State == FabricSessionState.Open))
        {
            route = route with { NextHop = _identity.Id, IsLocal = false }; // through the self-link, as a remote replica
        }

        if (route.IsLocal)
        {
            // In-process pipes. A reset (refusal, policy reload, failing handler) fails the opener's reads with its
            // code, as RESET_STREAM does over a link: a clean end of stream would pass the cut off as complete.
            var pipeOptions = new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
            var toFar = new Pipe(pipeOptions);
            var toNear = new Pipe(pipeOptions);
            var near = new DuplexPipeStream(toNear.Reader, toFar.Writer);
            var far = new DuplexPipeStream(toFar.Reader, toNear.Writer);
            void Reset(FabricErrorCode code)
            {
                toNear.Writer.Complete(new FabricStreamException(code, $"stream reset by the destination ({code})", isRemote: true));
                far.Dispose();
            }

            _ = Task.Run(() => ServeAsync(far, preamble, _identity.Id, _options.Name, relayed: false, Reset, _handlersAborted.Token), CancellationToken.None);
            await ExpectAcceptedAsync(near, cancellationToken).ConfigureAwait(false);
            return new RoutedStream(near, route, relayed: false, abort: null);
        }

        if (route.NextHop == route.Origin)
        {
            FabricStream direct = await OpenStreamAsync(route.Origin, preamble.Subprotocol, preamble.Service, options.TrafficClass, cancellationToken).ConfigureAwait(false);
            try
            {
                await direct.WriteAsync(preamble.Encode(), cancellationToken).ConfigureAwait(false);
                await ExpectAcceptedAsync(direct, cancellationToken).ConfigureAwait(false);
                return new RoutedStream(direct, route, relayed: false, direct.Abort);
            }
            catch
            {
                direct.Abort(FabricErrorCode.Cancel);
                throw;
            }
        }

        if (!_directory.TryGetOrigin(route.Origin, out NodeAnnouncement announcement, out _, out _, out _))
        {
            throw new FabricRouteException(FabricErrorCode.NoRoute, $"node {route.Origin.ShortForm} left the directory");
        }

        FabricStream relay = await OpenStreamAsync(route.NextHop, CoreSubprotocols.Relay, RelayTarget(route.Origin, _options.Routing.MaxRelayHops), options.TrafficClass, cancellationToken).ConfigureAwait(false);
        try
        {
            Stream endToEnd = relay;
            if (_endpoint is not null)
            {
                var carrier = new StreamLink(relay, $"relay to {route.Origin.ShortForm} via {route.NextHop.ShortForm}", () => relay.Abort(FabricErrorCode.Cancel));
                SecureLink secure = await _endpoint.ConnectAsync(carrier, announcement.PublicKey, cancellationToken).ConfigureAwait(false);
                endToEnd = new DuplexPipeStream(secure.Input, secure.Output, () => _ = secure.DisposeAsync().AsTask());
            }

            await endToEnd.WriteAsync(preamble.Encode(), cancellationToken).ConfigureAwait(false);
            await ExpectAcceptedAsync(endToEnd, cancellationToken).ConfigureAwait(false);
            return new RoutedStream(endToEnd, route, relayed: true, relay.Abort);
        }
        catch
        {
            relay.Abort(FabricErrorCode.Cancel);
            throw;
        }
    }

    private static async Task ExpectAcceptedAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] status = new byte[1];
        int n;
        try
        {
            n = await stream.ReadAsync(status, cancellationToken).ConfigureAwait(false);
        }
        catch (FabricStreamException ex) when (ex.IsRemote)
        {
            // A refusing destination resets the stream with the code it also sends as the status byte; the reset
            // (passed on by relays) can overtake the byte and discards it, so it is the same answer.
            throw new FabricRouteException(ex.Code, $"the destination refused the stream: {ex.Code}", ex);
        }

        if (n == 0)
        {
            throw new FabricRouteException(FabricErrorCode.NoRoute, "the destination closed the stream without answering");
        }

        if (status[0] != Accepted)
        {
            var code = (FabricErrorCode)status[0];
            throw new FabricRouteException(code, $"the destination refused the stream: {code}");
        }
    }

    private static string RelayTarget(NodeId destination, int ttl) => $"{destination}/{ttl.ToString(CultureInfo.InvariantCulture)}";

    private static bool TryParseRelayTarget(string target, out NodeId destination, out int ttl)
    {
        destination = default;
        ttl = 0;
        int slash = target.IndexOf('/', StringComparison.Ordinal);
        if (slash != NodeId.Size * 2 || !int.TryParse(target.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ttl))
        {
            return false;
        }

        try
        {
            destination = NodeId.Parse(target[..slash]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A routed stream arrived directly from a neighbor: read its preamble, check it, serve it.</summary>
    private async Task DispatchRoutedAsync(FabricStream stream, PeerConnection from, CancellationToken stopping)
    {
        RoutePreamble preamble;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(_options.Routing.OpenTimeout);
            preamble = await RoutePreamble.ReadAsync(stream, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FormatException or EndOfStreamException or IOException or OperationCanceledException)
        {
            stream.Abort(FabricErrorCode.ProtocolError);
            return;
        }

        if (preamble.Subprotocol != stream.Subprotocol || preamble.Service != stream.Target)
        {
            stream.Abort(FabricErrorCode.ProtocolError);
            return;
        }

        await ServeAsync(stream, preamble, from.PeerId, from.PeerName, relayed: false, stream.Abort, stopping).ConfigureAwait(false);
    }

    /// <summary>A relay stream arrived: serve it when this node is its destination, else forward it one hop on, opaquely.</summary>
    private async Task HandleRelayAsync(FabricStream inbound, PeerConnection from, CancellationToken stopping)
    {
        if (!TryParseRelayTarget(inbound.Target, out NodeId destination, out int ttl))
        {
            inbound.Abort(FabricErrorCode.ProtocolError);
            return;
        }

        if (destination == _identity.Id)
        {
            await ServeRelayedAsync(inbound, stopping).ConfigureAwait(false);
            return;
        }

        if (!_options.Roles.Contains("relay"))
        {
            inbound.Abort(FabricErrorCode.AccessDenied);
            return;
        }

        if (ttl <= 1 || !_directory.TryGetOrigin(destination, out _, out NodeId nextHop, out _, out _) || nextHop == from.PeerId || nextHop == _identity.Id)
        {
            inbound.Abort(FabricErrorCode.NoRoute);
            return;
        }

        FabricStream outbound;
        try
        {
            outbound = await OpenStreamAsync(nextHop, CoreSubprotocols.Relay, RelayTarget(destination, ttl - 1), inbound.TrafficClass, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            inbound.Abort(FabricErrorCode.NoRoute);
            return;
        }

        // Bytes go through untouched: this node holds no key of the inner stream and does not look at it.
        await Task.WhenAll(PumpAsync(inbound, outbound), PumpAsync(outbound, inbound)).ConfigureAwait(false);
        await inbound.DisposeAsync().ConfigureAwait(false);
        await outbound.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task PumpAsync(FabricStream from, FabricStream to)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
            }

            to.CompleteWrites();
        }
        catch (FabricStreamException ex)
        {
            // A reset on one side is passed on with its code, so the opener learns why.
            to.Abort(ex.Code);
            from.Abort(ex.Code);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            to.Abort(FabricErrorCode.Cancel);
            from.Abort(FabricErrorCode.Cancel);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task ServeRelayedAsync(FabricStream inbound, CancellationToken stopping)
    {
        Stream endToEnd = inbound;
        NodeId origin;
        string? originName;
        if (_endpoint is null)
        {
            origin = default;
            originName = null;
        }
        else
        {
            var carrier = new StreamLink(inbound, "relayed stream", () => inbound.Abort(FabricErrorCode.Cancel));
            SecureLink? secure = await _endpoint.AcceptEndToEndAsync(carrier, stopping).ConfigureAwait(false);
            if (secure is null)
            {
                inbound.Abort(FabricErrorCode.AccessDenied);
                return;
            }

            origin = secure.PeerId;
            originName = secure.PeerName;
            endToEnd = new DuplexPipeStream(secure.Input, secure.Output, () => _ = secure.DisposeAsync().AsTask());
        }

        RoutePreamble preamble;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(_options.Routing.OpenTimeout);
            preamble = await RoutePreamble.ReadAsync(endToEnd, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FormatException or EndOfStreamException or IOException or OperationCanceledException)
        {
            inbound.Abort(FabricErrorCode.ProtocolError);
            await endToEnd.DisposeAsync().ConfigureAwait(false);
            return;
        }

        await ServeAsync(endToEnd, preamble, origin, originName, relayed: true, inbound.Abort, stopping).ConfigureAwait(false);
    }

    /// <summary>Checks a routed stream (handler, version, service, policy), answers with the status byte, runs the handler.</summary>
    private async Task ServeAsync(Stream stream, RoutePreamble preamble, NodeId origin, string? originName, bool relayed, Action<FabricErrorCode> abort, CancellationToken stopping)
    {
        FabricErrorCode refusal = Admit(preamble, origin, out FabricStreamHandler? handler);
        try
        {
            if (refusal != FabricErrorCode.NoError)
            {
                Log.StreamRefused(_logger, preamble.Service, preamble.Subprotocol, origin.ShortForm, refusal);
                await stream.WriteAsync(new[] { (byte)refusal }, stopping).ConfigureAwait(false);
                abort(refusal);
                return;
            }

            await stream.WriteAsync(new[] { Accepted }, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }

        var context = new FabricStreamContext(stream, preamble, origin, originName, relayed, abort);
        var inbound = new InboundStream(preamble.Service, origin, preamble.Source?.Address, abort);
        _inbound[inbound] = 0;
        try
        {
            await handler!(context, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            abort(FabricErrorCode.Cancel); // the node stopped and the drain deadline passed: not the handler's fault
        }
#pragma warning disable CA1031 // a failing handler resets its stream; it must not take the node down
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(_logger, preamble.Service, preamble.Subprotocol, ex);
            abort(FabricErrorCode.InternalError);
        }
        finally
        {
            _inbound.TryRemove(inbound, out _);
            try
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // the stream was reset (policy reload, handler failure, opener gone): nothing left to close gracefully
            }
        }
    }

    private FabricErrorCode Admit(RoutePreamble preamble, NodeId origin, out FabricStreamHandler? handler)
    {
        if (!_handlers.TryGetValue(preamble.Subprotocol, out handler) || _registry.Find(preamble.Subprotocol) is not { } ours)
        {
            return FabricErrorCode.UnknownSubprotocol;
        }

        if (!ours.IsCompatibleWith(new SubprotocolDescriptor(preamble.Subprotocol, ours.Name, preamble.Version, preamble.MinCompatible)))
        {
            return FabricErrorCode.IncompatibleSubprotocol;
        }

        ServiceReplica? replica = LocalServices.FirstOrDefault(r => r.Service == preamble.Service && r.Subprotocols.Contains(preamble.Subprotocol)
            && (preamble.Instance.Length == 0 || r.Instance == preamble.Instance));
        if (replica is null || replica.Health is ReplicaHealth.Unhealthy)
        {
            return FabricErrorCode.NoRoute;
        }

        if (replica.Health is ReplicaHealth.Draining && Volatile.Read(ref _drainNoticeStarted) == 0)
        {
            return FabricErrorCode.RefusedStream; // drained by its operator; a stopping node serves until its GOAWAY
        }

        return _policy.Evaluate(preamble.Service, origin, preamble.Source?.Address) == AccessAction.Deny ? FabricErrorCode.AccessDenied : FabricErrorCode.NoError;
    }

    /// <summary>Announces this node now (services, handlers, pressure changed).</summary>
    private void AnnounceNow()
    {
        Volatile.Write(ref _announceDirty, 1);
        if (Volatile.Read(ref _started) != 0)
        {
            Announce();
        }
    }

    private void Announce()
    {
        Volatile.Write(ref _announceDirty, 0);
        _lastAnnounce = _options.Session.TimeProvider.GetTimestamp();
        NodeAnnouncement own = NodeAnnouncement.Create(
            _identity,
            Interlocked.Increment(ref _sequence),
            _options.Directory.AnnouncementTtl,
            Pressure,
            _options.Name,
            _options.Roles,
            [.. _registry.Descriptors.Select(d => d.Id).Order()],
            LocalServices,
            _options.Security.Certificate);
        _gossip.PublishLocal(own);
    }

    private void OnMaintenanceTick()
    {
        _gossip.Expire();
        long fingerprint = 17;
        foreach ((NodeAnnouncement announcement, NodeId nextHop, int hops, TimeSpan _) in _directory.Origins())
        {
            fingerprint = unchecked((fingerprint * 31) + HashCode.Combine(announcement.Origin, announcement.Sequence, nextHop, hops));
        }

        if (Interlocked.Exchange(ref _directoryFingerprint, fingerprint) != fingerprint)
        {
            DirectoryChanged?.Invoke();
        }

        TimeSpan sinceAnnounce = _options.Session.TimeProvider.GetElapsedTime(_lastAnnounce);
        if (sinceAnnounce >= _options.Directory.AnnouncementTtl / 3
            || Volatile.Read(ref _announceDirty) != 0 && sinceAnnounce >= _options.Routing.MinAnnounceInterval)
        {
            Announce();
        }
    }

    private static Task EchoAsync(FabricStreamContext context, CancellationToken cancellationToken) => context.Stream.CopyToAsync(context.Stream, cancellationToken);

    /// <summary>A stream being served here, kept so a policy reload can reset the ones it now denies.</summary>
    private sealed class InboundStream(string service, NodeId origin, System.Net.IPAddress? source, Action<FabricErrorCode> abort)
    {
        public string Service { get; } = service;

        public NodeId Origin { get; } = origin;

        public System.Net.IPAddress? Source { get; } = source;

        public void Abort(FabricErrorCode code) => abort(code);
    }
}
