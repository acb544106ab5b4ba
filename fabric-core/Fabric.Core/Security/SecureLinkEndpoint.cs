using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Fabric.Core.Links;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fabric.Core.Security;

/// <summary>
/// A node's end of secure links: runs handshakes over carrier links as initiator (<see cref="ConnectAsync"/>) or
/// responder (<see cref="AcceptAsync"/>). Holds the node's identity (and keys being rotated out), the trust policy,
/// the replay table and the per-source rate limiter. Thread-safe.
/// </summary>
public sealed partial class SecureLinkEndpoint
{
    private static long s_lastTimestamp;

    private readonly NodeIdentity _identity;
    private readonly IReadOnlyList<NodeIdentity> _responderIdentities;
    private readonly SecureLinkOptions _options;
    private readonly byte[] _psk;
    private readonly HandshakeReplayTable _replay = new();
    private readonly HandshakeRateLimiter _rateLimiter;
    private readonly ILogger _logger;
    private volatile FabricTrust _trust;

    /// <summary>Creates an endpoint. <paramref name="previousIdentities"/> are older keys still answered during a rotation.</summary>
    public SecureLinkEndpoint(NodeIdentity identity, FabricTrust trust, SecureLinkOptions? options = null, IEnumerable<NodeIdentity>? previousIdentities = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(trust);
        options ??= new SecureLinkOptions();
        options.Validate();
        _identity = identity;
        _responderIdentities = [identity, .. previousIdentities ?? []];
        _trust = trust;
        _options = options;
        _psk = HandshakeProtocol.NormalizePsk(options.PreSharedKey ?? []);
        _rateLimiter = new HandshakeRateLimiter(options.HandshakesPerSecondPerSource, options.HandshakeBurstPerSource, options.TimeProvider);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>This node's identity.</summary>
    public NodeIdentity Identity => _identity;

    /// <summary>The trust policy; assign a new one to reload (links already up are kept).</summary>
    public FabricTrust Trust
    {
        get => _trust;
        set => _trust = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Handshake outcomes.</summary>
    public HandshakeStatistics Statistics { get; } = new();

    /// <summary>Runs the initiator side over <paramref name="carrier"/> to the node whose static key is <paramref name="peerStaticKey"/>.</summary>
    public async Task<SecureLink> ConnectAsync(IFabricLink carrier, byte[] peerStaticKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(carrier);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        try
        {
            using var initiator = new HandshakeInitiator(_identity, peerStaticKey, _psk);
            var payload = new InitPayload(HandshakeProtocol.Version, NextTimestamp(_options.TimeProvider), _options.ProcessEpoch, _options.OfferedSuiteMask, _options.Certificate ?? []);
            await WriteRecordAsync(carrier.Output, initiator.CreateInit(payload), timeout.Token).ConfigureAwait(false);
            byte[] response = await ReadHandshakeRecordAsync(carrier.Input, timeout.Token).ConfigureAwait(false)
                ?? throw new SecureHandshakeException(HandshakeFailure.Timeout, "the peer closed the link without answering (wrong pre-shared key, unknown key, or rate limited)");
            (ResponsePayload answer, TransportKeys keys) = initiator.ReadResponse(response);
            if (answer.Version != HandshakeProtocol.Version)
            {
                throw new SecureHandshakeException(HandshakeFailure.VersionMismatch, $"peer speaks link version {answer.Version}");
            }

            if ((_options.OfferedSuiteMask & (1 << ((int)answer.Suite - 1))) == 0)
            {
                throw new SecureHandshakeException(HandshakeFailure.NoCommonCipher, $"peer chose {answer.Suite}, which was not offered");
            }

            TrustDecision trust = _trust.Evaluate(peerStaticKey, answer.Certificate);
            if (!trust.Accepted)
            {
                throw new SecureHandshakeException(HandshakeFailure.Untrusted, $"peer {trust.NodeId.ShortForm} is not trusted: {trust.Failure}");
            }

            Statistics.OnCompleted();
            Log.Connected(_logger, trust.NodeId.ShortForm, carrier.RemoteDescription, answer.Suite);
            return new SecureLink(carrier, keys, answer.Suite, trust, peerStaticKey, answer.ProcessEpoch, _options);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Statistics.OnFailed(HandshakeFailure.Timeout);
            throw new SecureHandshakeException(HandshakeFailure.Timeout, $"no handshake answer within {_options.HandshakeTimeout.TotalSeconds:0.###} s (wrong pre-shared key, unknown key, or rate limited)");
        }
        catch (SecureHandshakeException ex)
        {
            Statistics.OnFailed(ex.Failure);
            throw;
        }
        catch (IOException ex)
        {
            // The responder drops what it refuses; a reset instead of silence means the same to the initiator.
            Statistics.OnFailed(HandshakeFailure.Timeout);
            throw new SecureHandshakeException(HandshakeFailure.Timeout, $"the peer closed the link without answering ({ex.Message})");
        }
    }

    /// <summary>
    /// Runs the responder side. Returns null, having sent nothing, when the handshake is dropped (wrong mac1,
    /// unknown key, rate limit, replay, untrusted peer...): a scanner learns nothing. The caller closes the carrier then.
    /// </summary>
    public Task<SecureLink?> AcceptAsync(IFabricLink carrier, IPAddress? source, CancellationToken cancellationToken = default)
        => AcceptCoreAsync(carrier, source, endToEnd: false, cancellationToken);

    /// <summary>
    /// The responder side of an end-to-end handshake inside a relayed fabric stream. The per-source rate limit and
    /// the timestamp replay table do not apply: the stream came from an authenticated neighbor under the session's
    /// stream limits, every relayed stream runs its own handshake (several at once from one node are normal), and a
    /// replayed INIT yields nothing, since the opener's route preamble follows only under the new keys.
    /// </summary>
    public Task<SecureLink?> AcceptEndToEndAsync(IFabricLink carrier, CancellationToken cancellationToken = default)
        => AcceptCoreAsync(carrier, null, endToEnd: true, cancellationToken);

    private async Task<SecureLink?> AcceptCoreAsync(IFabricLink carrier, IPAddress? source, bool endToEnd, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(carrier);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        byte[]? record;
        try
        {
            record = await ReadHandshakeRecordAsync(carrier.Input, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Drop(HandshakeFailure.Timeout, source);
        }
        catch (SecureHandshakeException ex)
        {
            return Drop(ex.Failure, source);
        }
        catch (IOException)
        {
            return Drop(HandshakeFailure.Malformed, source); // the carrier failed inside the record (a reset): a truncated record
        }

        if (record is null || !HandshakeResponder.IsWellFormedInit(record))
        {
            return Drop(HandshakeFailure.Malformed, source);
        }

        NodeIdentity? self = null;
        ReadOnlySpan<byte> keyId = HandshakeResponder.AddressedKeyId(record);
        foreach (NodeIdentity candidate in _responderIdentities)
        {
            if (keyId.SequenceEqual(HandshakeProtocol.KeyId(candidate.PublicKey)))
            {
                self = candidate;
                break;
            }
        }

        if (self is null)
        {
            return Drop(HandshakeFailure.UnknownResponderKey, source);
        }

        if (!HandshakeProtocol.VerifyMac1(record, HandshakeProtocol.Mac1Key(_psk, self.PublicKey)))
        {
            return Drop(HandshakeFailure.BadMac, source);
        }

        if (!endToEnd && !_rateLimiter.TryAcquire(source))
        {
            return Drop(HandshakeFailure.RateLimited, source);
        }

        try
        {
            using var responder = new HandshakeResponder(self, _psk);
            InitPayload hello = responder.ReadInit(record);
            if (hello.Version != HandshakeProtocol.Version)
            {
                return Drop(HandshakeFailure.VersionMismatch, source);
            }

            TrustDecision trust = _trust.Evaluate(responder.InitiatorStaticKey, hello.Certificate);
            if (!trust.Accepted)
            {
                Log.Untrusted(_logger, trust.NodeId.ShortForm, source, trust.Failure);
                return Drop(HandshakeFailure.Untrusted, source);
            }

            if (!endToEnd && !_replay.TryAdvance(trust.NodeId, hello.Timestamp))
            {
                return Drop(HandshakeFailure.Replay, source);
            }

            CipherSuite? suite = null;
            foreach (CipherSuite candidate in _options.CipherSuites)
            {
                if ((hello.OfferedSuites & (1 << ((int)candidate - 1))) != 0)
                {
                    suite = candidate;
                    break;
                }
            }

            if (suite is null)
            {
                return Drop(HandshakeFailure.NoCommonCipher, source);
            }

            (byte[] response, TransportKeys keys) = responder.CreateResponse(new ResponsePayload(HandshakeProtocol.Version, _options.ProcessEpoch, suite.Value, _options.Certificate ?? []));
            await WriteRecordAsync(carrier.Output, response, timeout.Token).ConfigureAwait(false);
            Statistics.OnCompleted();
            Log.Accepted(_logger, trust.NodeId.ShortForm, carrier.RemoteDescription, suite.Value);
            return new SecureLink(carrier, keys, suite.Value, trust, responder.InitiatorStaticKey, hello.ProcessEpoch, _options);
        }
        catch (SecureHandshakeException ex)
        {
            return Drop(ex.Failure, source);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Drop(HandshakeFailure.Timeout, source);
        }
    }

    /// <summary>Handshake timestamps: wall-clock nanoseconds, forced to increase strictly within this process.</summary>
    internal static ulong NextTimestamp(TimeProvider time)
    {
        ulong now = (ulong)(time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        while (true)
        {
            ulong last = (ulong)Interlocked.Read(ref s_lastTimestamp);
            ulong next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref s_lastTimestamp, (long)next, (long)last) == (long)last)
            {
                return next;
            }
        }
    }

    private SecureLink? Drop(HandshakeFailure failure, IPAddress? source)
    {
        Statistics.OnFailed(failure);
        Log.Dropped(_logger, failure, source);
        return null;
    }

    private static async Task WriteRecordAsync(PipeWriter output, byte[] record, CancellationToken cancellationToken)
    {
        await output.WriteAsync(record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one handshake record; null when the link ends first. The length is checked before buffering.</summary>
    private static async Task<byte[]?> ReadHandshakeRecordAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (TryReadPrefix(buffer, out RecordPrefix prefix))
            {
                if (prefix.Type is not (SecureRecordType.HandshakeInit or SecureRecordType.HandshakeResponse) || prefix.BodyLength > HandshakeProtocol.MaxBody)
                {
                    input.AdvanceTo(buffer.Start);
                    throw new SecureHandshakeException(HandshakeFailure.Malformed, $"not a handshake record (type {(byte)prefix.Type}, length {prefix.BodyLength})");
                }

                long total = RecordPrefix.Size + prefix.BodyLength;
                if (buffer.Length >= total)
                {
                    byte[] record = buffer.Slice(0, total).ToArray();
                    input.AdvanceTo(buffer.GetPosition(total));
                    return record;
                }
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                return null;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool TryReadPrefix(in ReadOnlySequence<byte> buffer, out RecordPrefix prefix)
    {
        if (buffer.Length < RecordPrefix.Size)
        {
            prefix = default;
            return false;
        }

        Span<byte> bytes = stackalloc byte[RecordPrefix.Size];
        buffer.Slice(0, RecordPrefix.Size).CopyTo(bytes);
        prefix = RecordPrefix.Read(bytes);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Secure link to {Peer} at {Remote} up ({Suite})")]
        public static partial void Connected(ILogger logger, string peer, string remote, CipherSuite suite);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Secure link from {Peer} at {Remote} up ({Suite})")]
        public static partial void Accepted(ILogger logger, string peer, string remote, CipherSuite suite);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Handshake from {Source} dropped silently: {Failure}")]
        public static partial void Dropped(ILogger logger, HandshakeFailure failure, IPAddress? source);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Node {Peer} from {Source} authenticated but is not trusted: {Failure}")]
        public static partial void Untrusted(ILogger logger, string peer, IPAddress? source, TrustFailure failure);
    }
}
