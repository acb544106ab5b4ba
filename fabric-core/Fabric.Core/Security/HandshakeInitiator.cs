using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// The initiator side of one link handshake. Deterministic given its inputs (static keys, ephemeral key, payload),
/// which is what lets docs/PROTOCOL.md pin exact handshake bytes.
/// <code>
/// HANDSHAKE_INIT body:  8 responder key id | 65 e | 81 enc(s) | enc(payload) | 16 mac1
/// </code>
/// </summary>
internal sealed class HandshakeInitiator : IDisposable
{
    private readonly NodeIdentity _self;
    private readonly byte[] _responderStatic;
    private readonly byte[] _psk;
    private readonly ECDiffieHellman _ephemeral;
    private readonly SymmetricState _state = new(HandshakeProtocol.ProtocolName);
    private readonly ECDiffieHellman _rs;
    private bool _sent;

    public HandshakeInitiator(NodeIdentity self, byte[] responderStaticKey, ReadOnlySpan<byte> psk, ECDiffieHellman? ephemeral = null)
    {
        _self = self;
        _responderStatic = responderStaticKey;
        _rs = HandshakeProtocol.ImportPeerKey(responderStaticKey, "responder static key");
        _psk = HandshakeProtocol.NormalizePsk(psk);
        _ephemeral = ephemeral ?? ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
    }

    public byte[] CreateInit(InitPayload payload)
    {
        if (_sent)
        {
            throw new InvalidOperationException("HANDSHAKE_INIT already created");
        }

        _sent = true;
        _state.MixHash(HandshakeProtocol.Prologue);
        _state.MixHash(_responderStatic);

        byte[] e = PublicKeys.Encode(_ephemeral);
        _state.MixHash(e);
        _state.MixKey(e);                                            // psk modifier: e is mixed into the key too
        _state.MixKey(HandshakeProtocol.Dh(_ephemeral, _rs));        // es
        byte[] encryptedStatic = _state.EncryptAndHash(_self.PublicKey);
        _state.MixKey(_self.Agree(_rs));                             // ss
        byte[] encryptedPayload = _state.EncryptAndHash(payload.Encode());

        int bodyLength = HandshakeProtocol.InitFixedSize + encryptedPayload.Length + HandshakeProtocol.MacSize;
        byte[] record = HandshakeProtocol.NewRecord(SecureRecordType.HandshakeInit, bodyLength);
        Span<byte> body = record.AsSpan(RecordPrefix.Size);
        HandshakeProtocol.KeyId(_responderStatic).CopyTo(body);
        e.CopyTo(body[HandshakeProtocol.KeyIdSize..]);
        encryptedStatic.CopyTo(body[(HandshakeProtocol.KeyIdSize + PublicKeys.Size)..]);
        encryptedPayload.CopyTo(body[HandshakeProtocol.InitFixedSize..]);
        HandshakeProtocol.WriteMac1(record, HandshakeProtocol.Mac1Key(_psk, _responderStatic));
        return record;
    }

    /// <summary>Processes HANDSHAKE_RESPONSE; returns the responder's payload and the transport keys.</summary>
    public (ResponsePayload Payload, TransportKeys Keys) ReadResponse(ReadOnlySpan<byte> record)
    {
        RecordPrefix prefix = RecordPrefix.Read(record);
        int minBody = PublicKeys.Size + ResponsePayload.FixedSize + SymmetricState.TagLength + HandshakeProtocol.MacSize;
        if (prefix.Type != SecureRecordType.HandshakeResponse || prefix.Generation != 0 || prefix.Reserved != 0 || prefix.BodyLength != record.Length - RecordPrefix.Size
            || prefix.BodyLength < minBody || prefix.BodyLength > HandshakeProtocol.MaxBody)
        {
            throw new SecureHandshakeException(HandshakeFailure.Malformed, "not a well-formed HANDSHAKE_RESPONSE");
        }

        if (!HandshakeProtocol.VerifyMac1(record, HandshakeProtocol.Mac1Key(_psk, _self.PublicKey)))
        {
            throw new SecureHandshakeException(HandshakeFailure.BadMac, "HANDSHAKE_RESPONSE mac1 is wrong (different pre-shared key?)");
        }

        ReadOnlySpan<byte> body = record[RecordPrefix.Size..^HandshakeProtocol.MacSize];
        ReadOnlySpan<byte> re = body[..PublicKeys.Size];
        using ECDiffieHellman responderEphemeral = HandshakeProtocol.ImportPeerKey(re, "responder ephemeral key");
        _state.MixHash(re);
        _state.MixKey(re);
        _state.MixKey(HandshakeProtocol.Dh(_ephemeral, responderEphemeral));   // ee
        _state.MixKey(_self.Agree(responderEphemeral));                         // se
        _state.MixKeyAndHash(_psk);                                             // psk
        byte[] payloadBytes;
        try
        {
            payloadBytes = _state.DecryptAndHash(body[PublicKeys.Size..]);
        }
        catch (CryptographicException)
        {
            throw new SecureHandshakeException(HandshakeFailure.DecryptFailed, "HANDSHAKE_RESPONSE does not authenticate (wrong keys or pre-shared key)");
        }

        ResponsePayload payload = ResponsePayload.Decode(payloadBytes);
        (byte[] i2r, byte[] r2i) = _state.Split();
        byte[] hash = _state.Hash.ToArray();
        return (payload, new TransportKeys(i2r, r2i, HandshakeProtocol.LinkId(hash), hash));
    }

    public void Dispose()
    {
        _state.Dispose();
        _ephemeral.Dispose();
        _rs.Dispose();
        CryptographicOperations.ZeroMemory(_psk);
    }
}
