using System.Collections.Concurrent;
using System.Net;
using Fabric.Core.Discovery;
using Fabric.Core.Links;
using Fabric.Core.Policy;
using Fabric.Core.Security;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fabric.Core.Nodes;

/// <summary>
/// A fabric node: accepts links on its listen address, dials its configured peers (redialing with exponential
/// backoff and jitter), runs the secure handshake on each, and keeps one <see cref="FabricSession"/> per link. Over
/// every link a control stream carries subprotocol manifests and directory gossip; routed streams are dispatched to
/// the handler of their subprotocol, relayed towards other nodes, or refused with a clear code.
/// </summary>
public sealed partial class FabricNode : IAsyncDisposable
{
    private readonly NodeIdentity _identity;
    private readonly FabricNodeOptions _options;
    private readonly SecureLinkEndpoint? _endpoint;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<FabricSession, PeerConnection> _connections = new();
    private readonly CancellationTokenSource _stopping = new();          // accept and dial loops
    private readonly CancellationTokenSource _handlersAborted = new();   // stream handlers: only after the drain deadline
    private readonly List<Task> _loops = [];
    private TcpLinkListener? _listener;
    private int _started;

    /// <summary>Creates a node. Its own key is always trusted, so a node can link to itself.</summary>
    public FabricNode(NodeIdentity identity, FabricTrust trust, FabricNodeOptions options, IEnumerable<NodeIdentity>? previousIdentities = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(options);
        options.Session.Validate();
        options.Tcp.Validate();
        options.Security.Validate();
        _identity = identity;
        _options = options;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<FabricNode>();
        FabricTrust ownTrust = trust.WithPinnedKey(identity.PublicKey);
        if (!options.Plaintext)
        {
            _endpoint = new SecureLinkEndpoint(identity, ownTrust, options.Security, previousIdentities, _loggers.CreateLogger<SecureLinkEndpoint>());
        }

        _directory = new ServiceDirectory(identity, ownTrust, options.Directory);
        _gossip = new DirectoryGossip(_directory, _loggers.CreateLogger<DirectoryGossip>());
        _policy = options.AccessPolicy ?? AccessPolicy.AllowAll;
        var v1 = new SubprotocolVersion(1, 0);
        _registry.Register(new SubprotocolDescriptor(CoreSubprotocols.Control, "fabric.control", v1, v1), allowCore: true);
        _registry.Register(new SubprotocolDescriptor(CoreSubprotocols.Relay, "fabric.relay", v1, v1), allowCore: true);
        RegisterHandler(new SubprotocolDescriptor(CoreSubprotocols.Echo, "fabric.echo", v1, v1), EchoAsync, core: true);
    }

    /// <summary>This node's identity.</summary>
    public NodeIdentity Identity => _identity;

    /// <summary>The options in force.</summary>
    public FabricNodeOptions Options => _options;

    /// <summary>The bound listen address (with the real port when 0 was configured); null before start or when not listening.</summary>
    public IPEndPoint? ListenEndPoint => _listener?.LocalEndPoint;

    /// <summary>Live links.</summary>
    public IReadOnlyCollection<PeerConnection> Connections => [.. _connections.Values];

    /// <summary>Handshake counters (null on a plaintext node).</summary>
    public HandshakeStatistics? HandshakeStatistics => _endpoint?.Statistics;

    /// <summary>Raised when a link comes up.</summary>
    public event Action<PeerConnection>? ConnectionOpened;

    /// <summary>Raised when a link goes down.</summary>
    public event Action<PeerConnection>? ConnectionClosed;

    /// <summary>The trust policy; assign to reload it (links already up stay up).</summary>
    public FabricTrust? Trust
    {
        get => _endpoint?.Trust;
        set
        {
            if (value is not null)
            {
                FabricTrust own = value.WithPinnedKey(_identity.PublicKey);
                _directory.Trust = own;
                if (_endpoint is not null)
                {
                    _endpoint.Trust = own;
                }
            }
        }
    }

    /// <summary>Binds the listener and starts dialing.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The node is already started.");
        }

        if (_options.Plaintext)
        {
            Log.PlaintextWarning(_logger, _options.Name);
        }

        if (_options.Listen is { } listen)
        {
            _listener = TcpLinkListener.Listen(listen, _options.Tcp);
            Log.Listening(_logger, _options.Name, _identity.Id.ShortForm, _listener.LocalEndPoint, _options.Plaintext ? "plaintext" : "secure");
            _loops.Add(AcceptLoopAsync(_listener, _stopping.Token));
        }

        foreach (PeerEndpoint peer in _options.Peers)
        {
            _loops.Add(DialLoopAsync(peer, _stopping.Token));
        }

        Diagnostics.FabricTelemetry.Register(this);
        Announce();
        _maintenance = _options.Session.TimeProvider.CreateTimer(static s => ((FabricNode)s!).OnMaintenanceTick(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        return Task.CompletedTask;
    }

    /// <summary>Opens a stream to <paramref name="peer"/> over its least-loaded open session.</summary>
    public async ValueTask<FabricStream> OpenStreamAsync(NodeId peer, ushort subprotocol, string target, TrafficClass trafficClass = TrafficClass.Reliable, CancellationToken cancellationToken = default)
    {
        PeerConnection? best = null;
        foreach (PeerConnection connection in _connections.Values)
        {
            if (connection.PeerId == peer && connection.Session.State == FabricSessionState.Open
                && (best is null || connection.Session.ActiveStreamCount < best.Session.ActiveStreamCount))
            {
                best = connection;
            }
        }

        if (best is null)
        {
            throw new FabricStreamException(FabricErrorCode.NoRoute, $"no open link to node {peer.ShortForm}", isRemote: false);
        }

        return await best.Session.OpenStreamAsync(subprotocol, target, trafficClass, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Announces the local replicas as draining (<see cref="BeginDrainNotice"/>) and waits out the drain notice, then
    /// stops accepting and dialing, drains every session with GOAWAY, and waits for them (bounded by the drain timeout).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await WaitDrainNoticeAsync(cancellationToken).ConfigureAwait(false);
        Diagnostics.FabricTelemetry.Unregister(this);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_maintenance is not null)
        {
            await _maintenance.DisposeAsync().ConfigureAwait(false);
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        Task[] drains = [.. _connections.Keys.Select(s => s.GoAwayAsync("node stopping", cancellationToken))];
        try
        {
            await Task.WhenAll(drains).WaitAsync(_options.Session.DrainTimeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The drain timeout passed, or the caller's stop budget ran out: reset what is still open.
            foreach (FabricSession session in _connections.Keys)
            {
                session.Abort(FabricErrorCode.NoError, "node stopped");
            }
        }

        // Handlers had the whole drain to finish their streams; whatever still runs is cancelled now.
        await _handlersAborted.CancelAsync().ConfigureAwait(false);

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync().ConfigureAwait(false);
        }

        foreach (FabricSession session in _connections.Keys)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _handlersAborted.Dispose();
    }

    private async Task AcceptLoopAsync(TcpLinkListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpLink carrier;
            try
            {
                carrier = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Log.AcceptFailed(_logger, ex.Message);
                continue;
            }

            _ = Task.Run(() => AcceptOneAsync(carrier, stopping), CancellationToken.None);
        }
    }

    private async Task AcceptOneAsync(TcpLink carrier, CancellationToken stopping)
    {
        IFabricLink? link = null;
        byte[]? peerKey = null;
        string? peerName = null;
        try
        {
            if (_endpoint is null)
            {
                peerKey = await PlaintextIdentityExchange.ExchangeAsync(carrier, _identity.PublicKey, _options.Security.HandshakeTimeout, stopping).ConfigureAwait(false);
                link = carrier;
            }
            else
            {
                IPAddress? source = (carrier.RemoteEndPoint as IPEndPoint)?.Address;
                SecureLink? secure = await _endpoint.AcceptAsync(carrier, source, stopping).ConfigureAwait(false);
                if (secure is not null)
                {
                    link = secure;
                    peerKey = secure.PeerPublicKey;
                    peerName = secure.PeerName;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            Log.AcceptFailed(_logger, ex.Message);
        }

        if (link is null || peerKey is null)
        {
            await carrier.DisposeAsync().ConfigureAwait(false);
            return;
        }

        await RunSessionAsync(link, SessionRole.Acceptor, NodeId.FromPublicKey(peerKey), peerName, dialed: false, stopping).ConfigureAwait(false);
    }

    private async Task DialLoopAsync(PeerEndpoint peer, CancellationToken stopping)
    {
        TimeSpan backoff = _options.ReconnectMinDelay;
        while (!stopping.IsCancellationRequested)
        {
            long started = _options.Session.TimeProvider.GetTimestamp();
            try
            {
                (IFabricLink link, NodeId peerId, string? peerName) = await DialAsync(peer, stopping).ConfigureAwait(false);
                await RunSessionAsync(link, SessionRole.Initiator, peerId, peerName, dialed: true, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException or OperationCanceledException)
            {
                Log.DialFailed(_logger, peer.Address, ex.Message);
            }

            // A link that stayed up a while resets the backoff; a flapping one backs off exponentially.
            if (_options.Session.TimeProvider.GetElapsedTime(started) > _options.ReconnectMaxDelay)
            {
                backoff = _options.ReconnectMinDelay;
            }

            TimeSpan jitter = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * backoff.TotalMilliseconds / 2);
            try
            {
                await Task.Delay(backoff + jitter, _options.Session.TimeProvider, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
        }
    }

    private async Task<(IFabricLink Link, NodeId PeerId, string? PeerName)> DialAsync(PeerEndpoint peer, CancellationToken stopping)
    {
        TcpLink carrier = await TcpLink.ConnectAsync(peer.Address, _options.Tcp, stopping).ConfigureAwait(false);
        try
        {
            if (_endpoint is null)
            {
                byte[] key = await PlaintextIdentityExchange.ExchangeAsync(carrier, _identity.PublicKey, _options.Security.HandshakeTimeout, stopping).ConfigureAwait(false);
                return (carrier, NodeId.FromPublicKey(key), null);
            }

            byte[] expected = peer.PublicKey ?? throw new InvalidOperationException($"peer {peer.Address} has no public key configured; a secure link needs it");
            SecureLink secure = await _endpoint.ConnectAsync(carrier, expected, stopping).ConfigureAwait(false);
            return (secure, secure.PeerId, secure.PeerName);
        }
        catch
        {
            await carrier.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunSessionAsync(IFabricLink link, SessionRole role, NodeId peerId, string? peerName, bool dialed, CancellationToken stopping)
    {
        var session = new FabricSession(link, role, _options.Session, _loggers.CreateLogger<FabricSession>());
        var connection = new PeerConnection(peerId, peerName, link.RemoteDescription, session, dialed, authenticated: _endpoint is not null, DateTimeOffset.UtcNow, link as SecureLink);
        _connections[session] = connection;
        session.Start();
        Log.LinkUp(_logger, _options.Name, link.RemoteDescription, role, connection.Authenticated ? "secure" : "PLAINTEXT");
        ConnectionOpened?.Invoke(connection);
        if (role == SessionRole.Initiator)
        {
            _ = Task.Run(() => OpenControlAsync(connection, stopping), CancellationToken.None);
        }

        try
        {
            // Not cancelled by stopping: streams the session accepted before its GOAWAY went out (ids up to the last
            // one it names) are served during the drain; the loop ends when the session closes.
            while (await session.AcceptStreamAsync(CancellationToken.None).ConfigureAwait(false) is { } stream)
            {
                Task work = stream.Subprotocol switch
                {
                    CoreSubprotocols.Control => new ControlChannel(stream, connection, _registry, _gossip, _options.Directory).RunAsync(stopping),
                    CoreSubprotocols.Relay => Task.Run(() => HandleRelayAsync(stream, connection, _handlersAborted.Token), CancellationToken.None),
                    _ => Task.Run(() => DispatchRoutedAsync(stream, connection, _handlersAborted.Token), CancellationToken.None),
                };
                _ = work;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            await session.Completion.ConfigureAwait(false);
            _connections.TryRemove(session, out _);
            Log.LinkDown(_logger, _options.Name, peerName ?? peerId.ShortForm, session.CloseError?.Message ?? "drained");
            ConnectionClosed?.Invoke(connection);
        }
    }

    /// <summary>The dialing side opens the link's control stream once the session is up.</summary>
    private async Task OpenControlAsync(PeerConnection connection, CancellationToken stopping)
    {
        try
        {
            await connection.Session.Ready.WaitAsync(stopping).ConfigureAwait(false);
            FabricStream control = await connection.Session.OpenStreamAsync(CoreSubprotocols.Control, string.Empty, TrafficClass.Control, stopping).ConfigureAwait(false);
            await new ControlChannel(control, connection, _registry, _gossip, _options.Directory).RunAsync(stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // the session ended before the control stream came up
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Fabric node {Node} ({NodeId}) listening on {EndPoint} ({Mode})")]
        public static partial void Listening(ILogger logger, string node, string nodeId, IPEndPoint endPoint, string mode);

        [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Fabric node {Node} runs PLAINTEXT links: no authentication, no encryption. For tests only.")]
        public static partial void PlaintextWarning(ILogger logger, string node);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "{Node}: link up: {Remote} ({Role}, {Mode})")]
        public static partial void LinkUp(ILogger logger, string node, string remote, SessionRole role, string mode);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "{Node}: link to {Peer} down: {Reason}")]
        public static partial void LinkDown(ILogger logger, string node, string peer, string reason);

        [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Dialing {Peer} failed: {Reason}")]
        public static partial void DialFailed(ILogger logger, EndPoint peer, string reason);

        [LoggerMessage(EventId = 1205, Level = LogLevel.Debug, Message = "Accepting a link failed: {Reason}")]
        public static partial void AcceptFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "Handler of service {Service} (subprotocol 0x{Subprotocol:x4}) failed")]
        public static partial void HandlerFailed(ILogger logger, string service, ushort subprotocol, Exception exception);

        [LoggerMessage(EventId = 1207, Level = LogLevel.Information, Message = "Replica {Replica} of {Service} failed to open a stream, skipped for a while: {Reason}")]
        public static partial void ReplicaFailed(ILogger logger, string replica, string service, string reason);

        [LoggerMessage(EventId = 1208, Level = LogLevel.Information, Message = "Stream to {Service} (subprotocol 0x{Subprotocol:x4}) from {Origin} refused: {Code}")]
        public static partial void StreamRefused(ILogger logger, string service, ushort subprotocol, string origin, FabricErrorCode code);
    }
}
