using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Fabric.Core.Links;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security;

/// <summary>
/// Handshakes through <see cref="SecureLinkEndpoint"/> over in-memory pairs and loopback TCP (docs/PROTOCOL.md §2.3):
/// what succeeds, and that everything the responder refuses gets no byte back.
/// </summary>
public class SecureLinkEndpointTests
{
    private static readonly IPAddress FloodSource = IPAddress.Parse("10.0.0.66");
    private static readonly IPAddress OtherSource = IPAddress.Parse("10.0.0.7");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectAsync_PinnedBothWays_LinkUpWithMatchingIdentitiesAndEpochs(bool overTcp)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(a, b, new SecureLinkOptions { ProcessEpoch = 0x1111 }, new SecureLinkOptions { ProcessEpoch = 0x2222 });
        var (ca, cb) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var (la, lb) = await SecureTestPeers.HandshakeAsync(ea, eb, ca, cb);
        try
        {
            Assert.Equal(b.Id, la.PeerId);
            Assert.Equal(a.Id, lb.PeerId);
            Assert.Equal(b.PublicKey, la.PeerPublicKey);
            Assert.Equal(a.PublicKey, lb.PeerPublicKey);
            Assert.Equal(la.LinkId, lb.LinkId);
            Assert.Equal(0x2222ul, la.PeerProcessEpoch);
            Assert.Equal(0x1111ul, lb.PeerProcessEpoch);
            Assert.Equal(CipherSuite.ChaCha20Poly1305, la.Suite);
            Assert.Equal(CipherSuite.ChaCha20Poly1305, lb.Suite);
            Assert.Null(la.PeerName);
            Assert.Empty(la.PeerRoles);
            Assert.Equal(1, ea.Statistics.Completed);
            Assert.Equal(1, eb.Statistics.Completed);
            Assert.Equal(0, eb.Statistics.FailedTotal);

            await SecureTestPeers.AssertCarriesAsync(la, lb, RandomNumberGenerator.GetBytes(100_000));
            await SecureTestPeers.AssertCarriesAsync(lb, la, RandomNumberGenerator.GetBytes(70_000));
            Assert.Equal(0, la.Statistics.RejectedTotal);
            Assert.Equal(0, lb.Statistics.RejectedTotal);
        }
        finally
        {
            await SecureTestPeers.DisposeAllAsync(la, lb);
        }
    }

    [Fact]
    public async Task ConnectAsync_TwoHandshakesSamePeers_DistinctLinkIds()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(a, b);
        var (c1a, c1b) = InMemoryLink.CreatePair();
        var (c2a, c2b) = InMemoryLink.CreatePair();
        var (l1a, l1b) = await SecureTestPeers.HandshakeAsync(ea, eb, c1a, c1b);
        var (l2a, l2b) = await SecureTestPeers.HandshakeAsync(ea, eb, c2a, c2b);
        Assert.Equal(l1a.LinkId, l1b.LinkId);
        Assert.Equal(l2a.LinkId, l2b.LinkId);
        Assert.NotEqual(l1a.LinkId, l2a.LinkId); // fresh ephemeral keys: a new handshake hash
        await l1a.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await l1b.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await l2a.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await l2b.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
    }

    [Theory]
    [InlineData(new[] { CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm }, new[] { CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm }, CipherSuite.ChaCha20Poly1305)]
    [InlineData(new[] { CipherSuite.Aes256Gcm }, new[] { CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm }, CipherSuite.Aes256Gcm)]
    [InlineData(new[] { CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm }, new[] { CipherSuite.Aes256Gcm }, CipherSuite.Aes256Gcm)]
    [InlineData(new[] { CipherSuite.Aes256Gcm, CipherSuite.ChaCha20Poly1305 }, new[] { CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm }, CipherSuite.ChaCha20Poly1305)]
    [InlineData(new[] { CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm }, new[] { CipherSuite.Aes256Gcm, CipherSuite.ChaCha20Poly1305 }, CipherSuite.Aes256Gcm)]
    [InlineData(new[] { CipherSuite.Aes256Gcm }, new[] { CipherSuite.Aes256Gcm }, CipherSuite.Aes256Gcm)]
    public async Task ConnectAsync_SuitePreferences_ResponderFirstChoiceOfOffered(CipherSuite[] initiatorSuites, CipherSuite[] responderSuites, CipherSuite expected)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(a, b, new SecureLinkOptions { CipherSuites = initiatorSuites }, new SecureLinkOptions { CipherSuites = responderSuites });
        var (ca, cb) = InMemoryLink.CreatePair();
        var (la, lb) = await SecureTestPeers.HandshakeAsync(ea, eb, ca, cb);
        try
        {
            Assert.Equal(expected, la.Suite);
            Assert.Equal(expected, lb.Suite);
            await SecureTestPeers.AssertCarriesAsync(la, lb, RandomNumberGenerator.GetBytes(5000));
            await SecureTestPeers.AssertCarriesAsync(lb, la, RandomNumberGenerator.GetBytes(5000));
        }
        finally
        {
            await SecureTestPeers.DisposeAllAsync(la, lb);
        }
    }

    [Fact]
    public async Task ConnectAsync_NoCommonSuite_ResponderDropsSilentlyInitiatorTimesOut()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(
            a, b, SecureTestPeers.QuickTimeout with { CipherSuites = [CipherSuite.ChaCha20Poly1305] }, new SecureLinkOptions { CipherSuites = [CipherSuite.Aes256Gcm] });
        HandshakeFailure failure = await SecureTestPeers.DroppedHandshakeAsync(ea, eb, b.PublicKey);
        Assert.Equal(HandshakeFailure.Timeout, failure);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.NoCommonCipher));
        Assert.Equal(0, eb.Statistics.Completed);
        Assert.Equal(1, ea.Statistics.Failed(HandshakeFailure.Timeout));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectAsync_WrongPsk_ResponderSendsNothingAndCountsBadMac(bool overTcp)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(
            a, b, SecureTestPeers.QuickTimeout with { PreSharedKey = RandomNumberGenerator.GetBytes(32) }, new SecureLinkOptions { PreSharedKey = RandomNumberGenerator.GetBytes(32) });
        HandshakeFailure failure = await SecureTestPeers.DroppedHandshakeAsync(ea, eb, b.PublicKey, overTcp);
        Assert.Equal(HandshakeFailure.Timeout, failure);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.BadMac));
        Assert.Equal(1, eb.Statistics.FailedTotal);
        Assert.Equal(0, eb.Statistics.Completed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ConnectAsync_PskOnOneSideOnly_ResponderSendsNothingAndCountsBadMac(bool initiatorHasPsk)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        byte[] psk = RandomNumberGenerator.GetBytes(32);
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(
            a, b, SecureTestPeers.QuickTimeout with { PreSharedKey = initiatorHasPsk ? psk : null }, new SecureLinkOptions { PreSharedKey = initiatorHasPsk ? null : psk });
        HandshakeFailure failure = await SecureTestPeers.DroppedHandshakeAsync(ea, eb, b.PublicKey);
        Assert.Equal(HandshakeFailure.Timeout, failure);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.BadMac));
        Assert.Equal(0, eb.Statistics.Completed);
    }

    [Fact]
    public async Task ConnectAsync_SamePskBothSides_Succeeds()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        byte[] psk = RandomNumberGenerator.GetBytes(32);
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(a, b, new SecureLinkOptions { PreSharedKey = psk }, new SecureLinkOptions { PreSharedKey = psk.ToArray() });
        var (ca, cb) = InMemoryLink.CreatePair();
        var (la, lb) = await SecureTestPeers.HandshakeAsync(ea, eb, ca, cb);
        try
        {
            await SecureTestPeers.AssertCarriesAsync(la, lb, [1, 2, 3]);
        }
        finally
        {
            await SecureTestPeers.DisposeAllAsync(la, lb);
        }
    }

    [Fact]
    public async Task ConnectAsync_UnknownResponderKey_DroppedSilently()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        using NodeIdentity stranger = NodeIdentity.Generate();
        var ea = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [stranger.PublicKey]), SecureTestPeers.QuickTimeout);
        var eb = new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [a.PublicKey]));
        HandshakeFailure failure = await SecureTestPeers.DroppedHandshakeAsync(ea, eb, stranger.PublicKey);
        Assert.Equal(HandshakeFailure.Timeout, failure);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.UnknownResponderKey));
        Assert.Equal(1, eb.Statistics.FailedTotal);
    }

    [Fact]
    public async Task AcceptAsync_InitiatorNotPinnedNoCertificate_DroppedUntrusted()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        using NodeIdentity someoneElse = NodeIdentity.Generate();
        var ea = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [b.PublicKey]), SecureTestPeers.QuickTimeout);
        var eb = new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [someoneElse.PublicKey]));
        HandshakeFailure failure = await SecureTestPeers.DroppedHandshakeAsync(ea, eb, b.PublicKey);
        Assert.Equal(HandshakeFailure.Timeout, failure);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.Untrusted));
        Assert.Equal(0, eb.Statistics.Completed);
    }

    [Fact]
    public async Task ConnectAsync_ResponderNotTrusted_FailsUntrusted()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var ea = new SecureLinkEndpoint(a, new FabricTrust());
        var eb = new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [a.PublicKey]));
        var (ca, cb) = InMemoryLink.CreatePair();
        Task<SecureLink?> accept = eb.AcceptAsync(cb, IPAddress.Loopback);
        var ex = await Assert.ThrowsAsync<SecureHandshakeException>(() => ea.ConnectAsync(ca, b.PublicKey).WaitAsync(TestTimeouts.Short));
        Assert.Equal(HandshakeFailure.Untrusted, ex.Failure);
        Assert.Equal(1, ea.Statistics.Failed(HandshakeFailure.Untrusted));
        Assert.Equal(0, ea.Statistics.Completed);
        SecureLink? responderSide = await accept.WaitAsync(TestTimeouts.Short);
        if (responderSide is not null)
        {
            await responderSide.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }

        await ca.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AcceptAsync_ReplayedInit_DroppedAsReplayNothingSent(bool overTcp)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var (ea, eb) = SecureTestPeers.PinnedEndpoints(a, b);
        var (ca, cb) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var tapA = new TapLink(ca);
        var (la, lb) = await SecureTestPeers.HandshakeAsync(ea, eb, tapA, cb);
        byte[] init = SecureTestPeers.FirstRecord(tapA.Sent);
        Assert.Equal((byte)SecureRecordType.HandshakeInit, init[0]);

        var (attacker, victim) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var victimTap = new TapLink(victim);
        await SecureTestPeers.SendRawAsync(attacker, init);
        SecureLink? replayed = await eb.AcceptAsync(victimTap, IPAddress.Loopback).WaitAsync(TestTimeouts.Short);

        Assert.Null(replayed);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.Replay));
        Assert.Equal(1, eb.Statistics.Completed);
        Assert.Equal(0, victimTap.BytesSent);
        Assert.Equal(0, await SecureTestPeers.PendingInputBytesAsync(attacker.Input));

        // The genuine link is unaffected.
        await SecureTestPeers.AssertCarriesAsync(la, lb, [4, 5, 6]);
        await attacker.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await victim.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await la.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await lb.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
    }

    [Fact]
    public async Task AcceptAsync_HandshakeFloodFromOneSource_DroppedWhileOtherSourceConnects()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        using NodeIdentity c = NodeIdentity.Generate();
        var frozen = new ManualTimeProvider(); // no token refills unless the test moves the clock
        var ea = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [b.PublicKey]));
        var ec = new SecureLinkEndpoint(c, new FabricTrust(pinnedPublicKeys: [b.PublicKey]));
        var eb = new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [a.PublicKey, c.PublicKey]), new SecureLinkOptions { TimeProvider = frozen });

        // A real handshake from elsewhere gives the attacker a valid-looking HANDSHAKE_INIT to replay.
        var (ca, cb) = InMemoryLink.CreatePair();
        var tap = new TapLink(ca);
        var (la, lb) = await SecureTestPeers.HandshakeAsync(ea, eb, tap, cb, IPAddress.Parse("10.0.0.1"));
        byte[] init = SecureTestPeers.FirstRecord(tap.Sent);

        const int Replays = 100;
        const int Garbage = 100;
        var carriers = new List<TapLink>();
        var floods = new List<Task<SecureLink?>>();
        for (int i = 0; i < Replays + Garbage; i++)
        {
            byte[] bytes = i % 2 == 0 ? init : GarbageInit(b.PublicKey, validMac: false);
            var (attacker, victim) = InMemoryLink.CreatePair();
            var victimTap = new TapLink(victim);
            carriers.Add(victimTap);
            await SecureTestPeers.SendRawAsync(attacker, bytes);
            floods.Add(Task.Run(() => eb.AcceptAsync(victimTap, FloodSource)));
        }

        SecureLink?[] results = await Task.WhenAll(floods).WaitAsync(TestTimeouts.Long);
        Assert.All(results, Assert.Null);
        Assert.All(carriers, t => Assert.Equal(0, t.BytesSent));
        Assert.Equal(Garbage, eb.Statistics.Failed(HandshakeFailure.BadMac));           // cheap MAC first: no tokens spent
        Assert.Equal(40, eb.Statistics.Failed(HandshakeFailure.Replay));                // the burst got to the Noise step
        Assert.Equal(Replays - 40, eb.Statistics.Failed(HandshakeFailure.RateLimited)); // the rest never did

        // A legitimate peer behind the flooding address is limited too; one at another address is not.
        var (cc1, cb1) = InMemoryLink.CreatePair();
        Task<SecureLink?> limited = eb.AcceptAsync(cb1, FloodSource);
        Task<SecureLink> limitedConnect = ec.ConnectAsync(cc1, b.PublicKey, new CancellationTokenSource(TimeSpan.FromMilliseconds(500)).Token);
        Assert.Null(await limited.WaitAsync(TestTimeouts.Short));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => limitedConnect.WaitAsync(TestTimeouts.Short));
        Assert.Equal(Replays - 40 + 1, eb.Statistics.Failed(HandshakeFailure.RateLimited));

        var (cc2, cb2) = InMemoryLink.CreatePair();
        var (lc, lbc) = await SecureTestPeers.HandshakeAsync(ec, eb, cc2, cb2, OtherSource);
        await SecureTestPeers.AssertCarriesAsync(lc, lbc, [1, 2, 3]);

        // Tokens come back with time (20 per second by default).
        frozen.Advance(TimeSpan.FromSeconds(1));
        var (cc3, cb3) = InMemoryLink.CreatePair();
        var (lc3, lb3) = await SecureTestPeers.HandshakeAsync(ec, eb, cc3, cb3, FloodSource);
        Assert.Equal(c.Id, lb3.PeerId);

        foreach (IFabricLink l in new IFabricLink[] { la, lb, lc, lbc, lc3, lb3, cc1, cb1 })
        {
            await l.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
    }

    [Theory]
    [InlineData("transport-type")]
    [InlineData("unknown-type")]
    [InlineData("response-type")]
    [InlineData("lying-length")]
    [InlineData("zero-length")]
    [InlineData("body-too-short")]
    [InlineData("nonzero-generation")]
    [InlineData("nonzero-reserved")]
    [InlineData("truncated-then-closed")]
    [InlineData("prefix-only-then-closed")]
    [InlineData("nothing-then-closed")]
    [InlineData("valid-mac-bad-ephemeral")]
    [InlineData("valid-mac-bad-static")]
    [InlineData("valid-mac-huge-payload")]
    public async Task AcceptAsync_MalformedInit_DroppedWithoutExceptionNothingSent(string shape)
    {
        using NodeIdentity b = NodeIdentity.Generate();
        var eb = new SecureLinkEndpoint(b, new FabricTrust(), new SecureLinkOptions { HandshakeTimeout = TimeSpan.FromSeconds(2) });
        byte[] bytes = MalformedInit(shape, b.PublicKey, out bool close, out HandshakeFailure expected);
        var (attacker, victim) = InMemoryLink.CreatePair();
        var tap = new TapLink(victim);
        await SecureTestPeers.SendRawAsync(attacker, bytes);
        if (close)
        {
            await attacker.Output.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }

        SecureLink? link = await eb.AcceptAsync(tap, IPAddress.Loopback).WaitAsync(TestTimeouts.Short);
        Assert.Null(link);
        Assert.Equal(1, eb.Statistics.Failed(expected));
        Assert.Equal(1, eb.Statistics.FailedTotal);
        Assert.Equal(0, tap.BytesSent);
    }

    [Fact]
    public async Task AcceptAsync_TruncatedInitLinkLeftOpen_DroppedAtTimeout()
    {
        using NodeIdentity b = NodeIdentity.Generate();
        var eb = new SecureLinkEndpoint(b, new FabricTrust(), new SecureLinkOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        var (attacker, victim) = InMemoryLink.CreatePair();
        byte[] init = GarbageInit(b.PublicKey, validMac: true);
        await SecureTestPeers.SendRawAsync(attacker, init.AsMemory(0, init.Length - 10));
        SecureLink? link = await eb.AcceptAsync(victim, IPAddress.Loopback).WaitAsync(TestTimeouts.Short);
        Assert.Null(link);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.Timeout));
        Assert.Equal(0, await SecureTestPeers.PendingInputBytesAsync(attacker.Input));
    }

    [Theory]
    [InlineData("fin-mid-record")]
    [InlineData("reset-mid-record")]
    [InlineData("reset-before-anything")]
    public async Task AcceptAsync_TcpPeerGoesAwayMidRecord_DroppedMalformedNoException(string how)
    {
        using NodeIdentity b = NodeIdentity.Generate();
        var eb = new SecureLinkEndpoint(b, new FabricTrust(), new SecureLinkOptions { HandshakeTimeout = TimeSpan.FromSeconds(3) });
        var (attacker, victim) = await SecureTestPeers.CarrierPairAsync(overTcp: true);
        var tap = new TapLink(victim);
        Task<SecureLink?> accept = eb.AcceptAsync(tap, IPAddress.Loopback);
        if (how != "reset-before-anything")
        {
            byte[] init = GarbageInit(b.PublicKey, validMac: true);
            await SecureTestPeers.SendRawAsync(attacker, init.AsMemory(0, 100));
            await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        }

        if (how == "fin-mid-record")
        {
            await attacker.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
        else
        {
            attacker.Abort();
        }

        SecureLink? link = await accept.WaitAsync(TestTimeouts.Short);
        Assert.Null(link);
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.Malformed));
        Assert.Equal(0, tap.BytesSent);
        await tap.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
    }

    [Theory]
    [InlineData("version-2", HandshakeFailure.VersionMismatch)]
    [InlineData("no-suite-offered", HandshakeFailure.NoCommonCipher)]
    [InlineData("unknown-suite-only", HandshakeFailure.NoCommonCipher)]
    public async Task AcceptAsync_InitPayloadUnacceptable_DroppedSilently(string shape, HandshakeFailure expected)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var eb = new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [a.PublicKey]));
        using var initiator = new HandshakeInitiator(a, b.PublicKey, []);
        var payload = new InitPayload(
            shape == "version-2" ? (ushort)2 : HandshakeProtocol.Version,
            SecureLinkEndpoint.NextTimestamp(TimeProvider.System),
            1,
            shape switch { "no-suite-offered" => 0, "unknown-suite-only" => 0x80, _ => 0x03 },
            []);
        var (attacker, victim) = InMemoryLink.CreatePair();
        var tap = new TapLink(victim);
        await SecureTestPeers.SendRawAsync(attacker, initiator.CreateInit(payload));
        SecureLink? link = await eb.AcceptAsync(tap, IPAddress.Loopback).WaitAsync(TestTimeouts.Short);
        Assert.Null(link);
        Assert.Equal(1, eb.Statistics.Failed(expected));
        Assert.Equal(1, eb.Statistics.FailedTotal);
        Assert.Equal(0, tap.BytesSent);
    }

    [Theory]
    [InlineData("version-2", HandshakeFailure.VersionMismatch)]
    [InlineData("suite-not-offered", HandshakeFailure.NoCommonCipher)]
    [InlineData("unknown-suite", HandshakeFailure.NoCommonCipher)]
    public async Task ConnectAsync_ResponsePayloadUnacceptable_Fails(string shape, HandshakeFailure expected)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var ea = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [b.PublicKey]), new SecureLinkOptions { CipherSuites = [CipherSuite.ChaCha20Poly1305] });
        var (ca, fake) = InMemoryLink.CreatePair();
        Task<SecureLink> connect = ea.ConnectAsync(ca, b.PublicKey);

        // A responder that knows the keys but answers with something the initiator must refuse.
        ReadResult read = await fake.Input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Short);
        byte[] init = read.Buffer.ToArray();
        fake.Input.AdvanceTo(read.Buffer.End);
        using var responder = new HandshakeResponder(b, []);
        InitPayload hello = responder.ReadInit(init);
        Assert.Equal(1, hello.OfferedSuites);
        var payload = new ResponsePayload(
            shape == "version-2" ? (ushort)2 : HandshakeProtocol.Version,
            7,
            shape switch { "suite-not-offered" => CipherSuite.Aes256Gcm, "unknown-suite" => (CipherSuite)3, _ => CipherSuite.ChaCha20Poly1305 },
            []);
        (byte[] response, _) = responder.CreateResponse(payload);
        await SecureTestPeers.SendRawAsync(fake, response);

        SecureHandshakeException ex = await Assert.ThrowsAsync<SecureHandshakeException>(() => connect.WaitAsync(TestTimeouts.Short));
        Assert.Equal(expected, ex.Failure);
        Assert.Equal(1, ea.Statistics.Failed(expected));
    }

    [Theory]
    [InlineData("transport-type", HandshakeFailure.Malformed)]
    [InlineData("init-type", HandshakeFailure.Malformed)]
    [InlineData("lying-length", HandshakeFailure.Malformed)]
    [InlineData("too-short", HandshakeFailure.Malformed)]
    [InlineData("bad-mac", HandshakeFailure.BadMac)]
    [InlineData("valid-mac-bad-ephemeral", HandshakeFailure.Malformed)]
    [InlineData("valid-mac-garbage", HandshakeFailure.DecryptFailed)]
    [InlineData("truncated-then-closed", HandshakeFailure.Timeout)]
    public async Task ConnectAsync_MalformedResponse_FailsWithHandshakeException(string shape, HandshakeFailure expected)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var ea = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [b.PublicKey]));
        var (ca, fake) = InMemoryLink.CreatePair();
        Task<SecureLink> connect = ea.ConnectAsync(ca, b.PublicKey);

        // The fake responder reads the HANDSHAKE_INIT, then answers with junk.
        ReadResult read = await fake.Input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Short);
        fake.Input.AdvanceTo(read.Buffer.End);
        byte[] response = MalformedResponse(shape, a.PublicKey);
        await SecureTestPeers.SendRawAsync(fake, response);
        if (shape == "truncated-then-closed")
        {
            await fake.Output.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }

        SecureHandshakeException ex = await Assert.ThrowsAsync<SecureHandshakeException>(() => connect.WaitAsync(TestTimeouts.Short));
        Assert.Equal(expected, ex.Failure);
        Assert.Equal(1, ea.Statistics.Failed(expected));
        Assert.Equal(0, ea.Statistics.Completed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AcceptAsync_KeyRotation_AnswersOldAndNewKey(bool overTcp)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity oldKey = NodeIdentity.Generate();
        using NodeIdentity newKey = NodeIdentity.Generate();
        var ea = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [oldKey.PublicKey, newKey.PublicKey]));
        var eb = new SecureLinkEndpoint(newKey, new FabricTrust(pinnedPublicKeys: [a.PublicKey]), previousIdentities: [oldKey]);

        var (c1a, c1b) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var (viaOldA, viaOldB) = await SecureTestPeers.HandshakeAsync(ea, eb, c1a, c1b, responderKey: oldKey.PublicKey);
        var (c2a, c2b) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var (viaNewA, viaNewB) = await SecureTestPeers.HandshakeAsync(ea, eb, c2a, c2b, responderKey: newKey.PublicKey);

        Assert.Equal(oldKey.Id, viaOldA.PeerId);
        Assert.Equal(newKey.Id, viaNewA.PeerId);
        Assert.Equal(a.Id, viaOldB.PeerId);
        Assert.Equal(a.Id, viaNewB.PeerId);
        Assert.Equal(2, eb.Statistics.Completed);
        await SecureTestPeers.AssertCarriesAsync(viaOldA, viaOldB, [1]);
        await SecureTestPeers.AssertCarriesAsync(viaNewB, viaNewA, [2]);

        // Once the rotation is over the old key is no longer answered.
        var done = new SecureLinkEndpoint(newKey, new FabricTrust(pinnedPublicKeys: [a.PublicKey]));
        var quickA = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [oldKey.PublicKey]), SecureTestPeers.QuickTimeout);
        Assert.Equal(HandshakeFailure.Timeout, await SecureTestPeers.DroppedHandshakeAsync(quickA, done, oldKey.PublicKey, overTcp));
        Assert.Equal(1, done.Statistics.Failed(HandshakeFailure.UnknownResponderKey));

        foreach (SecureLink l in new[] { viaOldA, viaOldB, viaNewA, viaNewB })
        {
            await l.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
    }

    [Fact]
    public void TryAcquire_BurstThenRefill_PerSourceTokenBucket()
    {
        var clock = new ManualTimeProvider();
        var limiter = new HandshakeRateLimiter(20, 40, clock);
        for (int i = 0; i < 40; i++)
        {
            Assert.True(limiter.TryAcquire(FloodSource), $"handshake {i} of the burst");
        }

        Assert.False(limiter.TryAcquire(FloodSource));
        Assert.True(limiter.TryAcquire(OtherSource));
        clock.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(limiter.TryAcquire(FloodSource)); // 0.98 of a token
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.TryAcquire(FloodSource));   // 20 per second: one every 50 ms
        Assert.False(limiter.TryAcquire(FloodSource));
        clock.Advance(TimeSpan.FromHours(1));
        for (int i = 0; i < 40; i++)
        {
            Assert.True(limiter.TryAcquire(FloodSource));
        }

        Assert.False(limiter.TryAcquire(FloodSource)); // refills stop at the burst
    }

    [Fact]
    public void TryAcquire_ManySourcesForcePrune_DrainedBucketKept()
    {
        var clock = new ManualTimeProvider();
        var limiter = new HandshakeRateLimiter(20, 40, clock);
        while (limiter.TryAcquire(FloodSource))
        {
        }

        // Enough other sources to make the table prune: a drained bucket must survive it, or a flooder gets a new burst.
        for (int i = 0; i < 10_050; i++)
        {
            Assert.True(limiter.TryAcquire(new IPAddress(0x0A000000u + (uint)i + 1000)));
        }

        Assert.False(limiter.TryAcquire(FloodSource));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("192.0.2.1"))); // prunes the refilled buckets
        Assert.True(limiter.TryAcquire(FloodSource));
    }

    [Fact]
    public void TryAdvance_ExactRepeatOrOlderThanWindow_RefusedUnseenWithinWindow_Taken()
    {
        var table = new HandshakeReplayTable();
        NodeId a = NodeId.FromPublicKey(new byte[] { 1 });
        NodeId b = NodeId.FromPublicKey(new byte[] { 2 });
        ulong window = (ulong)HandshakeReplayTable.Window.Ticks * 100;
        ulong t = 1_700_000_000_000_000_000;
        Assert.True(table.TryAdvance(a, t));
        Assert.False(table.TryAdvance(a, t));          // exact replay
        Assert.True(table.TryAdvance(a, t - 1));       // a concurrent handshake whose INIT arrived second
        Assert.False(table.TryAdvance(a, t - 1));      // ...replayed
        Assert.True(table.TryAdvance(b, 50));          // per node
        Assert.True(table.TryAdvance(a, t + window));
        Assert.False(table.TryAdvance(a, t));          // now a full window older than the newest
        Assert.True(table.TryAdvance(a, t + 2));       // just inside the window and unseen
    }

    [Fact]
    public void TryAdvance_AtCapacity_NewestEntryKept()
    {
        var table = new HandshakeReplayTable(capacity: 3);
        NodeId[] ids = [.. Enumerable.Range(0, 10).Select(i => NodeId.FromPublicKey([(byte)i]))];
        foreach (NodeId id in ids)
        {
            Assert.True(table.TryAdvance(id, 10));
        }

        Assert.False(table.TryAdvance(ids[^1], 10)); // the newest entry is kept
        Assert.True(table.TryAdvance(ids[^1], 11));
    }

    [Theory]
    [InlineData("psk-16-bytes")]
    [InlineData("no-suites")]
    [InlineData("negative-max-rejected")]
    [InlineData("rekey-after-reject")]
    [InlineData("certificate-too-large")]
    public void Constructor_InvalidOptions_ThrowsArgumentException(string what)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        SecureLinkOptions options = what switch
        {
            "psk-16-bytes" => new SecureLinkOptions { PreSharedKey = new byte[16] },
            "no-suites" => new SecureLinkOptions { CipherSuites = [] },
            "negative-max-rejected" => new SecureLinkOptions { MaxRejectedRecords = -1 },
            "rekey-after-reject" => new SecureLinkOptions { Limits = new RecordLimits { RekeyAfterRecords = 10, RejectAfterRecords = 10 } },
            _ => new SecureLinkOptions { Certificate = new byte[NodeCertificate.MaxSize + 1] },
        };
        Assert.ThrowsAny<ArgumentException>(() => new SecureLinkEndpoint(a, new FabricTrust(), options));
    }

    /// <summary>A HANDSHAKE_INIT-shaped record for <paramref name="responderKey"/> with a random body; mac1 right or wrong.</summary>
    private static byte[] GarbageInit(byte[] responderKey, bool validMac, int payloadLength = 21, bool validEphemeral = false)
    {
        int bodyLength = HandshakeProtocol.InitFixedSize + payloadLength + SymmetricState.TagLength + HandshakeProtocol.MacSize;
        byte[] record = HandshakeProtocol.NewRecord(SecureRecordType.HandshakeInit, bodyLength);
        RandomNumberGenerator.Fill(record.AsSpan(RecordPrefix.Size));
        HandshakeProtocol.KeyId(responderKey).CopyTo(record, RecordPrefix.Size);
        byte[] ephemeral = validEphemeral ? FreshPoint() : [0x04, .. RandomNumberGenerator.GetBytes(64)];
        ephemeral.CopyTo(record, RecordPrefix.Size + HandshakeProtocol.KeyIdSize);
        if (validMac)
        {
            HandshakeProtocol.WriteMac1(record, HandshakeProtocol.Mac1Key(new byte[32], responderKey));
        }

        return record;
    }

    private static byte[] FreshPoint()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        return PublicKeys.Encode(key);
    }

    private static byte[] Prefix(byte type, byte gen, ushort reserved, uint length)
    {
        byte[] prefix = new byte[RecordPrefix.Size];
        prefix[0] = type;
        prefix[1] = gen;
        BinaryPrimitives.WriteUInt16BigEndian(prefix.AsSpan(2), reserved);
        BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(4), length);
        return prefix;
    }

    private static byte[] MalformedInit(string shape, byte[] responderKey, out bool close, out HandshakeFailure expected)
    {
        close = false;
        expected = HandshakeFailure.Malformed;
        byte[] good = GarbageInit(responderKey, validMac: true);
        switch (shape)
        {
            case "transport-type":
                return SecureTestPeers.Concat(Prefix(0x03, 0, 0, 300), new byte[300]);
            case "unknown-type":
                return SecureTestPeers.Concat(Prefix(0x7F, 0, 0, 300), new byte[300]);
            case "response-type":
                byte[] response = good.ToArray();
                response[0] = (byte)SecureRecordType.HandshakeResponse;
                return response;
            case "lying-length":
                return SecureTestPeers.Concat(Prefix(0x01, 0, 0, 0xFFFFFFFF), good.AsSpan(RecordPrefix.Size).ToArray());
            case "zero-length":
                return Prefix(0x01, 0, 0, 0);
            case "body-too-short":
                return SecureTestPeers.Concat(Prefix(0x01, 0, 0, 100), good.AsSpan(RecordPrefix.Size, 100).ToArray());
            case "nonzero-generation":
                byte[] gen = good.ToArray();
                gen[1] = 1;
                return gen;
            case "nonzero-reserved":
                byte[] reserved = good.ToArray();
                reserved[2] = 0x80;
                return reserved;
            case "truncated-then-closed":
                close = true;
                return good.AsSpan(0, good.Length - 1).ToArray();
            case "prefix-only-then-closed":
                close = true;
                return good.AsSpan(0, RecordPrefix.Size).ToArray();
            case "nothing-then-closed":
                close = true;
                return [];
            case "valid-mac-bad-ephemeral":
                return good;
            case "valid-mac-bad-static":
                expected = HandshakeFailure.DecryptFailed;
                return GarbageInit(responderKey, validMac: true, validEphemeral: true);
            case "valid-mac-huge-payload":
                expected = HandshakeFailure.DecryptFailed;
                return GarbageInit(responderKey, validMac: true, payloadLength: HandshakeProtocol.MaxBody - HandshakeProtocol.InitFixedSize - 32, validEphemeral: true);
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }
    }

    private static byte[] MalformedResponse(string shape, byte[] initiatorKey)
    {
        const int BodyLength = PublicKeys.Size + 13 + SymmetricState.TagLength + HandshakeProtocol.MacSize;
        byte[] shaped = HandshakeProtocol.NewRecord(SecureRecordType.HandshakeResponse, BodyLength);
        RandomNumberGenerator.Fill(shaped.AsSpan(RecordPrefix.Size));
        switch (shape)
        {
            case "transport-type":
                shaped[0] = (byte)SecureRecordType.Transport;
                return shaped;
            case "init-type":
                shaped[0] = (byte)SecureRecordType.HandshakeInit;
                return shaped;
            case "lying-length":
                return SecureTestPeers.Concat(Prefix(0x02, 0, 0, 0xFFFFFFFF), new byte[200]);
            case "too-short":
                return SecureTestPeers.Concat(Prefix(0x02, 0, 0, 20), new byte[20]);
            case "bad-mac":
                return shaped;
            case "valid-mac-bad-ephemeral":
                shaped[RecordPrefix.Size] = 0x04;
                HandshakeProtocol.WriteMac1(shaped, HandshakeProtocol.Mac1Key(new byte[32], initiatorKey));
                return shaped;
            case "valid-mac-garbage":
                FreshPoint().CopyTo(shaped, RecordPrefix.Size);
                HandshakeProtocol.WriteMac1(shaped, HandshakeProtocol.Mac1Key(new byte[32], initiatorKey));
                return shaped;
            case "truncated-then-closed":
                return shaped.AsSpan(0, shaped.Length - 5).ToArray();
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }
    }
}
