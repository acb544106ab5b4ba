using System.IO.Pipelines;
using Fabric.Core.Links;

namespace Fabric.Core.Security;

/// <summary>
/// An authenticated, encrypted link over a carrier link: what a fabric session runs over. Made by
/// <see cref="SecureLinkEndpoint"/>. Its <see cref="Input"/> yields only authenticated plaintext; its
/// <see cref="Output"/> seals what the session writes into AEAD records of up to 64 KiB.
/// </summary>
public sealed class SecureLink : IFabricLink
{
    private readonly IFabricLink _carrier;
    private readonly RecordSealer _sealer;
    private readonly RecordOpener _opener;
    private readonly int _maxRejected;

    internal SecureLink(IFabricLink carrier, TransportKeys keys, CipherSuite suite, TrustDecision peer, byte[] peerPublicKey, ulong peerEpoch, SecureLinkOptions options)
    {
        _carrier = carrier;
        _maxRejected = options.MaxRejectedRecords;
        _sealer = new RecordSealer(suite, keys.SendSecret, keys.LinkId, options.Limits, options.TimeProvider);
        _opener = new RecordOpener(suite, keys.ReceiveSecret, keys.LinkId, options.Limits, options.TimeProvider);
        Output = new SecureLinkWriter(carrier.Output, _sealer, Statistics);
        Input = new SecureLinkReader(carrier.Input, _opener, this);
        Suite = suite;
        LinkId = keys.LinkId;
        PeerId = peer.NodeId;
        PeerName = peer.Name;
        PeerRoles = peer.Roles;
        PeerPublicKey = peerPublicKey;
        PeerProcessEpoch = peerEpoch;
    }

    /// <inheritdoc/>
    public PipeReader Input { get; }

    /// <inheritdoc/>
    public PipeWriter Output { get; }

    /// <summary>The authenticated peer.</summary>
    public NodeId PeerId { get; }

    /// <summary>The peer's name from its certificate, if it sent one.</summary>
    public string? PeerName { get; }

    /// <summary>The peer's roles from its certificate.</summary>
    public IReadOnlyList<string> PeerRoles { get; }

    /// <summary>The peer's static public key.</summary>
    public byte[] PeerPublicKey { get; }

    /// <summary>The peer's process epoch: a different one after a reconnect means the peer restarted.</summary>
    public ulong PeerProcessEpoch { get; }

    /// <summary>The record cipher in use.</summary>
    public CipherSuite Suite { get; }

    /// <summary>Identifies this link's keys in every record header (first 4 bytes of the handshake hash).</summary>
    public uint LinkId { get; }

    /// <summary>Record counters.</summary>
    public SecureLinkStatistics Statistics { get; } = new();

    /// <summary>Key updates made so far, sending and receiving.</summary>
    public (long Sent, long Received) KeyUpdates => (_sealer.KeyUpdates, _opener.KeyUpdates);

    /// <inheritdoc/>
    public string RemoteDescription => $"{PeerName ?? PeerId.ShortForm} at {_carrier.RemoteDescription}";

    /// <summary>Moves the sending direction to the next key generation at the next record (normally done by count and age).</summary>
    public void UpdateSendKey() => _sealer.RequestUpdate();

    /// <inheritdoc/>
    public void Abort() => _carrier.Abort();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _carrier.DisposeAsync().ConfigureAwait(false);
        _sealer.Dispose();
        _opener.Dispose();
    }

    internal void OnRejectedRecord(RecordOpenResult reason)
    {
        long total = Statistics.OnRejected(reason);
        if (total > _maxRejected)
        {
            throw new IOException($"secure link refused {total} records (last: {reason}); tearing it down");
        }
    }
}
