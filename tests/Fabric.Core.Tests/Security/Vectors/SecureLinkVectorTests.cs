using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security.Vectors;

/// <summary>
/// Drives the C# secure link with the fixed inputs of <see cref="SecureLinkVectors"/> (docs/PROTOCOL.md §2.7) and
/// checks every byte against the output of the independent reference implementation
/// scripts/reference/fabric_link_reference.py.
/// </summary>
public class SecureLinkVectorTests
{
    private const string ScriptRelativePath = "scripts/reference/fabric_link_reference.py";
    private const string Python = "/usr/bin/python3";

    public static TheoryData<string> Sets => new() { "no_psk", "psk" };

    // ---- inputs and identities ----

    [Fact]
    public void Scalars_AreSha256OfTheirLabels()
    {
        Assert.Equal(SecureLinkVectors.InitiatorStaticScalar, Sha256Hex("fabric vector initiator static"));
        Assert.Equal(SecureLinkVectors.ResponderStaticScalar, Sha256Hex("fabric vector responder static"));
        Assert.Equal(SecureLinkVectors.InitiatorEphemeralScalar, Sha256Hex("fabric vector initiator ephemeral"));
        Assert.Equal(SecureLinkVectors.ResponderEphemeralScalar, Sha256Hex("fabric vector responder ephemeral"));
        Assert.Equal(SecureLinkVectors.WithoutPsk.PresharedKey, Hex(new byte[32]));
        Assert.Equal(SecureLinkVectors.WithPsk.PresharedKey, Sha256Hex("fabric vector psk"));
    }

    [Fact]
    public void InitiatorIdentity_FromScalar_MatchesPublicKeyNodeIdShortFormAndKeyId()
    {
        using NodeIdentity initiator = NodeIdentity.FromPrivateScalar(Bytes(SecureLinkVectors.InitiatorStaticScalar));
        Assert.Equal(SecureLinkVectors.InitiatorStaticPublic, Hex(initiator.PublicKey));
        Assert.Equal(SecureLinkVectors.InitiatorNodeId, initiator.Id.ToString());
        Assert.Equal(SecureLinkVectors.InitiatorNodeIdShort, initiator.Id.ShortForm);
        Assert.Equal(SecureLinkVectors.InitiatorKeyId, Hex(HandshakeProtocol.KeyId(initiator.PublicKey)));
        Assert.Equal(initiator.Id, NodeId.Parse(SecureLinkVectors.InitiatorNodeId));
    }

    [Fact]
    public void ResponderIdentity_FromScalar_MatchesPublicKeyNodeIdShortFormAndKeyId()
    {
        using NodeIdentity responder = NodeIdentity.FromPrivateScalar(Bytes(SecureLinkVectors.ResponderStaticScalar));
        Assert.Equal(SecureLinkVectors.ResponderStaticPublic, Hex(responder.PublicKey));
        Assert.Equal(SecureLinkVectors.ResponderNodeId, responder.Id.ToString());
        Assert.Equal(SecureLinkVectors.ResponderNodeIdShort, responder.Id.ShortForm);
        Assert.Equal(SecureLinkVectors.ResponderKeyId, Hex(HandshakeProtocol.KeyId(responder.PublicKey)));
    }

    [Fact]
    public void EphemeralKeys_FromScalars_EncodeToVectorPoints()
    {
        using ECDiffieHellman ei = Ephemeral(SecureLinkVectors.InitiatorEphemeralScalar);
        using ECDiffieHellman er = Ephemeral(SecureLinkVectors.ResponderEphemeralScalar);
        Assert.Equal(SecureLinkVectors.InitiatorEphemeralPublic, Hex(PublicKeys.Encode(ei)));
        Assert.Equal(SecureLinkVectors.ResponderEphemeralPublic, Hex(PublicKeys.Encode(er)));
    }

    [Fact]
    public void Payloads_Encode_MatchVectorsAndDecodeBack()
    {
        Assert.Equal(SecureLinkVectors.Payload1, Hex(Payload1.Encode()));
        Assert.Equal(SecureLinkVectors.Payload2, Hex(Payload2.Encode()));
        AssertPayload1(InitPayload.Decode(Bytes(SecureLinkVectors.Payload1)));
        AssertPayload2(ResponsePayload.Decode(Bytes(SecureLinkVectors.Payload2)));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Mac1Keys_MatchVectors(string set)
    {
        VectorSet v = VectorSet.Get(set);
        byte[] psk = Bytes(v.Psk);
        Assert.Equal(v.Mac1KeyResponder, Hex(HandshakeProtocol.Mac1Key(psk, Bytes(SecureLinkVectors.ResponderStaticPublic))));
        Assert.Equal(v.Mac1KeyInitiator, Hex(HandshakeProtocol.Mac1Key(psk, Bytes(SecureLinkVectors.InitiatorStaticPublic))));
    }

    // ---- handshake ----

    [Theory]
    [MemberData(nameof(Sets))]
    public void Initiator_CreateInit_MatchesHandshakeInitVector(string set)
    {
        VectorSet v = VectorSet.Get(set);
        using NodeIdentity initiator = InitiatorIdentity();
        using var handshake = new HandshakeInitiator(initiator, Bytes(SecureLinkVectors.ResponderStaticPublic), Bytes(v.Psk),
            Ephemeral(SecureLinkVectors.InitiatorEphemeralScalar));

        Assert.Equal(v.HandshakeInit, Hex(handshake.CreateInit(Payload1)));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Responder_ReadInitVector_RecoversInitiatorStaticKeyAndPayload(string set)
    {
        VectorSet v = VectorSet.Get(set);
        byte[] init = Bytes(v.HandshakeInit);
        using NodeIdentity responder = ResponderIdentity();

        // The checks the endpoint makes before the responder's ECDH: shape, key id, mac1.
        Assert.True(HandshakeResponder.IsWellFormedInit(init));
        Assert.Equal(SecureLinkVectors.ResponderKeyId, Hex(HandshakeResponder.AddressedKeyId(init)));
        Assert.True(HandshakeProtocol.VerifyMac1(init, Bytes(v.Mac1KeyResponder)));

        using var handshake = new HandshakeResponder(responder, Bytes(v.Psk), Ephemeral(SecureLinkVectors.ResponderEphemeralScalar));
        InitPayload payload = handshake.ReadInit(init);

        Assert.Equal(SecureLinkVectors.InitiatorStaticPublic, Hex(handshake.InitiatorStaticKey));
        AssertPayload1(payload);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Responder_CreateResponse_MatchesHandshakeResponseVectorAndKeys(string set)
    {
        VectorSet v = VectorSet.Get(set);
        using NodeIdentity responder = ResponderIdentity();
        using var handshake = new HandshakeResponder(responder, Bytes(v.Psk), Ephemeral(SecureLinkVectors.ResponderEphemeralScalar));
        handshake.ReadInit(Bytes(v.HandshakeInit));

        (byte[] record, TransportKeys keys) = handshake.CreateResponse(Payload2);

        Assert.Equal(v.HandshakeResponse, Hex(record));
        Assert.Equal(v.K2, Hex(keys.SendSecret));
        Assert.Equal(v.K1, Hex(keys.ReceiveSecret));
        Assert.Equal(v.HandshakeHash, Hex(keys.HandshakeHash));
        Assert.Equal(v.LinkIdValue, keys.LinkId);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Initiator_ReadResponseVector_YieldsPayloadAndKeys(string set)
    {
        VectorSet v = VectorSet.Get(set);
        using NodeIdentity initiator = InitiatorIdentity();
        using var handshake = new HandshakeInitiator(initiator, Bytes(SecureLinkVectors.ResponderStaticPublic), Bytes(v.Psk),
            Ephemeral(SecureLinkVectors.InitiatorEphemeralScalar));
        handshake.CreateInit(Payload1);
        byte[] response = Bytes(v.HandshakeResponse);
        Assert.True(HandshakeProtocol.VerifyMac1(response, Bytes(v.Mac1KeyInitiator)));

        (ResponsePayload payload, TransportKeys keys) = handshake.ReadResponse(response);

        AssertPayload2(payload);
        Assert.Equal(v.K1, Hex(keys.SendSecret));
        Assert.Equal(v.K2, Hex(keys.ReceiveSecret));
        Assert.Equal(v.HandshakeHash, Hex(keys.HandshakeHash));
        Assert.Equal(v.LinkIdValue, keys.LinkId);
        Assert.Equal(v.LinkIdValue, HandshakeProtocol.LinkId(Bytes(v.HandshakeHash)));
    }

    [Theory]
    [InlineData(207, true)]
    [InlineData(206, false)]
    public void IsWellFormedInit_BodyLengthAtAndBelowTheDocumentedMinimum207(int bodyLength, bool wellFormed)
    {
        // PROTOCOL.md §2.2: HANDSHAKE_INIT body length 207..4096; §2.3 responder check 1 comes before any ECDH.
        byte[] record = Resized(Bytes(SecureLinkVectors.WithoutPsk.HandshakeInit), bodyLength);
        Assert.Equal(wellFormed, HandshakeResponder.IsWellFormedInit(record));
    }

    [Theory]
    [InlineData(109, 0)]
    [InlineData(110, 1)]
    public void ReadResponse_BodyBelow110OrGenerationNotZero_IsMalformed(int bodyLength, byte generation)
    {
        // PROTOCOL.md §2.2: HANDSHAKE_RESPONSE body length 110..4096, gen 0. mac1 is made valid so only the prefix is wrong.
        VectorSet v = VectorSet.Get("no_psk");
        byte[] record = Resized(Bytes(v.HandshakeResponse), bodyLength);
        record[1] = generation;
        HandshakeProtocol.WriteMac1(record, Bytes(v.Mac1KeyInitiator));
        using NodeIdentity initiator = InitiatorIdentity();
        using var handshake = new HandshakeInitiator(initiator, Bytes(SecureLinkVectors.ResponderStaticPublic), Bytes(v.Psk),
            Ephemeral(SecureLinkVectors.InitiatorEphemeralScalar));
        handshake.CreateInit(Payload1);

        var failure = Assert.Throws<SecureHandshakeException>(() => handshake.ReadResponse(record));
        Assert.Equal(HandshakeFailure.Malformed, failure.Failure);
    }

    // ---- transport records ----

    [Theory]
    [MemberData(nameof(Sets))]
    public void Seal_HelloInitiatorToResponderChaCha_MatchesVector(string set)
    {
        VectorSet v = VectorSet.Get(set);
        Assert.Equal(v.TransportI2RChaCha, Hex(SealHello(CipherSuite.ChaCha20Poly1305, v.K1, v.LinkIdValue)));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Seal_HelloResponderToInitiatorChaCha_MatchesVector(string set)
    {
        VectorSet v = VectorSet.Get(set);
        Assert.Equal(v.TransportR2IChaCha, Hex(SealHello(CipherSuite.ChaCha20Poly1305, v.K2, v.LinkIdValue)));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Seal_HelloInitiatorToResponderAesGcm_MatchesVector(string set)
    {
        VectorSet v = VectorSet.Get(set);
        Assert.Equal(v.TransportI2RAesGcm, Hex(SealHello(CipherSuite.Aes256Gcm, v.K1, v.LinkIdValue)));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void KeyUpdate_NextSecretAndFirstGenerationOneRecord_MatchVectors(string set)
    {
        VectorSet v = VectorSet.Get(set);
        Assert.Equal(v.Secret1I2R, Hex(RecordFormat.NextSecret(Bytes(v.K1))));

        using var sealer = new RecordSealer(CipherSuite.ChaCha20Poly1305, Bytes(v.K1), v.LinkIdValue, new RecordLimits(), TimeProvider.System);
        byte[] gen0 = SealHello(sealer);
        sealer.NextGeneration();
        Assert.Equal((byte)1, sealer.Generation);
        Assert.Equal(0UL, sealer.Counter);
        byte[] gen1 = SealHello(sealer);

        Assert.Equal(v.TransportI2RChaCha, Hex(gen0));
        Assert.Equal(v.TransportI2RGen1ChaCha, Hex(gen1));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Open_GenerationZeroVectors_YieldHello(string set)
    {
        VectorSet v = VectorSet.Get(set);
        Assert.Equal(SecureLinkVectors.Hello, OpenToHex(CipherSuite.ChaCha20Poly1305, v.K1, v.LinkIdValue, v.TransportI2RChaCha));
        Assert.Equal(SecureLinkVectors.Hello, OpenToHex(CipherSuite.ChaCha20Poly1305, v.K2, v.LinkIdValue, v.TransportR2IChaCha));
        Assert.Equal(SecureLinkVectors.Hello, OpenToHex(CipherSuite.Aes256Gcm, v.K1, v.LinkIdValue, v.TransportI2RAesGcm));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Open_GenerationOneVector_AfterGenerationZero_MovesToSecret1AndYieldsHello(string set)
    {
        VectorSet v = VectorSet.Get(set);
        using var opener = new RecordOpener(CipherSuite.ChaCha20Poly1305, Bytes(v.K1), v.LinkIdValue, new RecordLimits(), TimeProvider.System);

        Assert.Equal(SecureLinkVectors.Hello, Open(opener, v.TransportI2RChaCha));
        Assert.Equal(SecureLinkVectors.Hello, Open(opener, v.TransportI2RGen1ChaCha));
        Assert.Equal((byte)1, opener.Generation);
        Assert.Equal(1, opener.KeyUpdates);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void Open_GenerationOneVector_DirectlyUnderGenerationZeroKey_MovesToSecret1(string set)
    {
        // A receiver that sees gen = current + 1 derives secret_1 from k1 itself (the gen-0 record may be lost).
        VectorSet v = VectorSet.Get(set);
        using var opener = new RecordOpener(CipherSuite.ChaCha20Poly1305, Bytes(v.K1), v.LinkIdValue, new RecordLimits(), TimeProvider.System);

        Assert.Equal(SecureLinkVectors.Hello, Open(opener, v.TransportI2RGen1ChaCha));
        Assert.Equal((byte)1, opener.Generation);
    }

    // ---- the reference script still prints these constants ----

    [Fact]
    public void ReferenceScript_Output_EqualsPinnedConstants()
    {
        string script = FindScript();
        RequirePythonCryptography();

        (int exitCode, string stdout, string stderr) = Run(Python, $"\"{script}\"");
        Assert.True(exitCode == 0, $"{script} exited with {exitCode}:\n{stderr}");

        var printed = new Dictionary<string, string>();
        using (JsonDocument json = JsonDocument.Parse(stdout))
        {
            Flatten(json.RootElement, prefix: "", printed);
        }

        Assert.Equal(
            SecureLinkVectors.ByReferenceName.Keys.Order(StringComparer.Ordinal),
            printed.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, string pinned) in SecureLinkVectors.ByReferenceName)
        {
            Assert.True(pinned == printed[name], $"{name}: pinned {pinned}, the reference script prints {printed[name]}");
        }
    }

    // ---- helpers ----

    private static readonly InitPayload Payload1 = new(1, 1700000000000000000UL, 0x0102030405060708UL, 0x03, []);

    private static readonly ResponsePayload Payload2 = new(1, 0x1112131415161718UL, CipherSuite.ChaCha20Poly1305, []);

    private static void AssertPayload1(InitPayload payload)
    {
        Assert.Equal((ushort)1, payload.Version);
        Assert.Equal(1700000000000000000UL, payload.Timestamp);
        Assert.Equal(0x0102030405060708UL, payload.ProcessEpoch);
        Assert.Equal((byte)0x03, payload.OfferedSuites);
        Assert.Empty(payload.Certificate);
    }

    private static void AssertPayload2(ResponsePayload payload)
    {
        Assert.Equal((ushort)1, payload.Version);
        Assert.Equal(0x1112131415161718UL, payload.ProcessEpoch);
        Assert.Equal(CipherSuite.ChaCha20Poly1305, payload.Suite);
        Assert.Empty(payload.Certificate);
    }

    private static NodeIdentity InitiatorIdentity() => NodeIdentity.FromPrivateScalar(Bytes(SecureLinkVectors.InitiatorStaticScalar));

    private static NodeIdentity ResponderIdentity() => NodeIdentity.FromPrivateScalar(Bytes(SecureLinkVectors.ResponderStaticScalar));

    private static ECDiffieHellman Ephemeral(string scalarHex) =>
        ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = Bytes(scalarHex) });

    private static byte[] SealHello(CipherSuite suite, string keyHex, uint linkId)
    {
        using var sealer = new RecordSealer(suite, Bytes(keyHex), linkId, new RecordLimits(), TimeProvider.System);
        return SealHello(sealer);
    }

    /// <summary>Seals HELLO in place over 20 header bytes + plaintext + 16 tag bytes.</summary>
    private static byte[] SealHello(RecordSealer sealer)
    {
        byte[] hello = Bytes(SecureLinkVectors.Hello);
        var record = new byte[RecordFormat.HeaderSize + hello.Length + RecordFormat.TagSize];
        hello.CopyTo(record, RecordFormat.HeaderSize);
        sealer.Seal(record, hello.Length);
        return record;
    }

    private static string OpenToHex(CipherSuite suite, string keyHex, uint linkId, string recordHex)
    {
        using var opener = new RecordOpener(suite, Bytes(keyHex), linkId, new RecordLimits(), TimeProvider.System);
        string hello = Open(opener, recordHex);
        Assert.Equal(0, opener.KeyUpdates);
        return hello;
    }

    private static string Open(RecordOpener opener, string recordHex)
    {
        byte[] record = Bytes(recordHex);
        var plaintext = new byte[record.Length - RecordFormat.Overhead];
        RecordOpenResult result = opener.Open(record.AsSpan(0, RecordFormat.HeaderSize), record.AsSpan(RecordFormat.HeaderSize), plaintext);
        Assert.Equal(RecordOpenResult.Ok, result);
        return Hex(plaintext);
    }

    private static void Flatten(JsonElement element, string prefix, Dictionary<string, string> into)
    {
        foreach (JsonProperty property in element.EnumerateObject())
        {
            string name = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Flatten(property.Value, name + ".", into);
            }
            else
            {
                into.Add(name, property.Value.GetString()!);
            }
        }
    }

    private static void RequirePythonCryptography()
    {
        const string install = "install Debian's python3-cryptography (sudo apt-get install python3-cryptography; it brings python3): "
            + "the known-answer vectors must stay equal to the independent reference implementation " + ScriptRelativePath;
        if (!File.Exists(Python))
        {
            Assert.Fail($"{Python} is missing; {install}");
        }

        (int exitCode, _, string stderr) = Run(Python, "-c \"import cryptography.hazmat.primitives.ciphers.aead\"");
        if (exitCode != 0)
        {
            Assert.Fail($"{Python} cannot import the cryptography module ({stderr.Trim()}); {install}");
        }
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string fileName, string arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {arguments} did not finish within 60 s");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>The script, found from this source file's path or by walking up from the test binaries.</summary>
    private static string FindScript([CallerFilePath] string sourceFile = "")
    {
        var starts = new[] { Path.GetDirectoryName(sourceFile), AppContext.BaseDirectory, Directory.GetCurrentDirectory() };
        foreach (string? start in starts)
        {
            for (DirectoryInfo? dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, ScriptRelativePath);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        Assert.Fail($"{ScriptRelativePath} not found above {string.Join(", ", starts)}");
        return "";
    }

    /// <summary>A copy of a handshake record with its body cut (or zero-padded) to <paramref name="bodyLength"/> and the prefix length set to match.</summary>
    private static byte[] Resized(byte[] record, int bodyLength)
    {
        var resized = new byte[RecordPrefix.Size + bodyLength];
        record.AsSpan(0, Math.Min(record.Length, resized.Length)).CopyTo(resized);
        BinaryPrimitives.WriteUInt32BigEndian(resized.AsSpan(4), (uint)bodyLength);
        return resized;
    }

    private static string Sha256Hex(string label) => Hex(SHA256.HashData(Encoding.ASCII.GetBytes(label)));

    private static byte[] Bytes(string hex) => Convert.FromHexString(hex);

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>One of the two handshake vector sets of <see cref="SecureLinkVectors"/>.</summary>
    private sealed record VectorSet(
        string Psk, string Mac1KeyResponder, string Mac1KeyInitiator, string HandshakeInit, string HandshakeResponse,
        string HandshakeHash, string K1, string K2, string LinkId, string TransportI2RChaCha, string TransportR2IChaCha,
        string TransportI2RAesGcm, string Secret1I2R, string TransportI2RGen1ChaCha)
    {
        public uint LinkIdValue => BinaryPrimitives.ReadUInt32BigEndian(Convert.FromHexString(LinkId));

        public static VectorSet Get(string name) => name switch
        {
            "no_psk" => new(
                SecureLinkVectors.WithoutPsk.PresharedKey, SecureLinkVectors.WithoutPsk.Mac1KeyResponder, SecureLinkVectors.WithoutPsk.Mac1KeyInitiator,
                SecureLinkVectors.WithoutPsk.HandshakeInit, SecureLinkVectors.WithoutPsk.HandshakeResponse, SecureLinkVectors.WithoutPsk.HandshakeHash,
                SecureLinkVectors.WithoutPsk.K1, SecureLinkVectors.WithoutPsk.K2, SecureLinkVectors.WithoutPsk.LinkId,
                SecureLinkVectors.WithoutPsk.TransportI2RChaCha, SecureLinkVectors.WithoutPsk.TransportR2IChaCha,
                SecureLinkVectors.WithoutPsk.TransportI2RAesGcm, SecureLinkVectors.WithoutPsk.Secret1I2R,
                SecureLinkVectors.WithoutPsk.TransportI2RGen1ChaCha),
            "psk" => new(
                SecureLinkVectors.WithPsk.PresharedKey, SecureLinkVectors.WithPsk.Mac1KeyResponder, SecureLinkVectors.WithPsk.Mac1KeyInitiator,
                SecureLinkVectors.WithPsk.HandshakeInit, SecureLinkVectors.WithPsk.HandshakeResponse, SecureLinkVectors.WithPsk.HandshakeHash,
                SecureLinkVectors.WithPsk.K1, SecureLinkVectors.WithPsk.K2, SecureLinkVectors.WithPsk.LinkId,
                SecureLinkVectors.WithPsk.TransportI2RChaCha, SecureLinkVectors.WithPsk.TransportR2IChaCha,
                SecureLinkVectors.WithPsk.TransportI2RAesGcm, SecureLinkVectors.WithPsk.Secret1I2R,
                SecureLinkVectors.WithPsk.TransportI2RGen1ChaCha),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such vector set"),
        };
    }
}
