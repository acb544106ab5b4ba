using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// The responder side of one link handshake. The caller checks mac1 and the rate limit first: this class does
/// the expensive ECDH.
/// <code>
/// HANDSHAKE_RESPONSE body:  65 e | enc(payload) | 16 mac1
/// </code>
/// </summary>
internal sealed class HandshakeResponder : IDisposable
{
    private readonly NodeIdentity _self;
    private readonly byte[] _psk;
    private readonly ECDiffieHellman _ephemeral;
    private readonly SymmetricState _state = new(HandshakeProtocol.ProtocolName);
    private ECDiffieHellman? _initiatorEphemeral;
    private ECDiffieHellman? _initiatorStatic;

    public HandshakeResponder(NodeIdentity self, ReadOnlySpan<byte> psk, ECDiffieHellman? ephemeral = null)
    {
        _self = self;
        _psk = HandshakeProtocol.NormalizePsk(psk);
        _ephemeral = ephemeral ?? ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
    }

    /// <summary>The initiator's static public key, known after <see cref="ReadInit"/>.</summary>
    public byte[] InitiatorStaticKey { get; private set; } = [];

    /// <summary>Checks the shape of a HANDSHAKE_INIT record (cheap, before mac1).</summary>
    public static bool IsWellFormedInit(ReadOnlySpan<byte> record)
    {
        if (record.Length < RecordPrefix.Size)
        {
            return false;
        }

        RecordPrefix prefix = RecordPrefix.Read(record);
        return prefix.Type == SecureRecordType.HandshakeInit && prefix.Reserved == 0 && prefix.Generation == 0
            && prefix.BodyLength == record.Length - RecordPrefix.Size
            && prefix.BodyLength >= HandshakeProtocol.InitFixedSize + InitPayload.FixedSize + SymmetricState.TagLength + HandshakeProtocol.MacSize
            && prefix.BodyLength <= HandshakeProtocol.MaxBody;
    }

    /// <summary>The responder key id a HANDSHAKE_INIT addresses.</summary>
    public static ReadOnlySpan<byte> AddressedKeyId(ReadOnlySpan<byte> record) => record.Slice(RecordPrefix.Size, HandshakeProtocol.KeyIdSize);

    public InitPayload ReadInit(ReadOnlySpan<byte> record)
    {
        ReadOnlySpan<byte> body = record[RecordPrefix.Size..^HandshakeProtocol.MacSize];
        _state.MixHash(HandshakeProtocol.Prologue);
        _state.MixHash(_self.PublicKey);

        ReadOnlySpan<byte> ie = body.Slice(HandshakeProtocol.KeyIdSize, PublicKeys.Size);
        _initiatorEphemeral = HandshakeProtocol.ImportPeerKey(ie, "initiator ephemeral key");
        _state.MixHash(ie);
        _state.MixKey(ie);
        _state.MixKey(_self.Agree(_initiatorEphemeral));                                   // es
        try
        {
            InitiatorStaticKey = _state.DecryptAndHash(body.Slice(HandshakeProtocol.KeyIdSize + PublicKeys.Size, PublicKeys.Size + SymmetricState.TagLength));
            _initiatorStatic = HandshakeProtocol.ImportPeerKey(InitiatorStaticKey, "initiator static key");
            _state.MixKey(_self.Agree(_initiatorStatic));                                  // ss
            return InitPayload.Decode(_state.DecryptAndHash(body[HandshakeProtocol.InitFixedSize..]));
        }
        catch (CryptographicException)
        {
            throw new SecureHandshakeException(HandshakeFailure.DecryptFailed, "HANDSHAKE_INIT does not authenticate");
        }
    }

    public (byte[] Record, TransportKeys Keys) CreateResponse(ResponsePayload payload)
    {
        if (_initiatorEphemeral is null || _initiatorStatic is null)
        {
            throw new InvalidOperationException("ReadInit must succeed first");
        }

        byte[] e = PublicKeys.Encode(_ephemeral);
        _state.MixHash(e);
        _state.MixKey(e);
        _state.MixKey(HandshakeProtocol.Dh(_ephemeral, _initiatorEphemeral));   // ee
        _state.MixKey(HandshakeProtocol.Dh(_ephemeral, _initiatorStatic));      // se
        _state.MixKeyAndHash(_psk);                                             // psk
        byte[] encryptedPayload = _state.EncryptAndHash(payload.Encode());

        int bodyLength = PublicKeys.Size + encryptedPayload.Length + HandshakeProtocol.MacSize;
        byte[] record = HandshakeProtocol.NewRecord(SecureRecordType.HandshakeResponse, bodyLength);
        e.CopyTo(record, RecordPrefix.Size);
        encryptedPayload.CopyTo(record, RecordPrefix.Size + PublicKeys.Size);
        HandshakeProtocol.WriteMac1(record, HandshakeProtocol.Mac1Key(_psk, InitiatorStaticKey));

        (byte[] i2r, byte[] r2i) = _state.Split();
        byte[] hash = _state.Hash.ToArray();
        return (record, new TransportKeys(r2i, i2r, HandshakeProtocol.LinkId(hash), hash));
    }

    public void Dispose()
    {
        _state.Dispose();
        _ephemeral.Dispose();
        _initiatorEphemeral?.Dispose();
        _initiatorStatic?.Dispose();
        CryptographicOperations.ZeroMemory(_psk);
    }
}
