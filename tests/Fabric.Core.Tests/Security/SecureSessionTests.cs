using System.Buffers.Binary;
using System.Security.Cryptography;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Security;

/// <summary>
/// A fabric session over secure links with a man in the middle (docs/PROTOCOL.md §2.4): forged, replayed and
/// stale records are refused and counted while the session goes on, until the link has refused too many; framing
/// errors end the link; key updates do not disturb the data.
/// </summary>
public class SecureSessionTests
{
    public SecureSessionTests() => UnobservedExceptions.Watch();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Session_BulkEcho_DataIntactNothingRejected(bool overTcp)
    {
        await SecureSessionRig.RunAsync(overTcp, async rig =>
        {
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(2_000_000));
            Assert.True(rig.LinkA.Statistics.BytesSealed >= 2_000_000);
            Assert.True(rig.LinkB.Statistics.BytesOpened >= 2_000_000);
            Assert.True(rig.LinkA.Statistics.RecordsSealed < 2_000_000 / 1000, "frames of one flush travel in one record");
            Assert.Equal(0, rig.LinkA.Statistics.RejectedTotal);
            Assert.Equal(0, rig.LinkB.Statistics.RejectedTotal);
            Assert.Equal(FabricSessionState.Open, rig.B.State);
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Session_ForgedRecordsBetweenValidOnes_RejectedCountedSessionContinues(bool overTcp)
    {
        await SecureSessionRig.RunAsync(overTcp, async rig =>
        {
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(50_000));
            IReadOnlyList<byte[]> seen = rig.Relay.TransportRecords;

            byte[] tampered = seen[^1].ToArray();
            BinaryPrimitives.WriteUInt64BigEndian(tampered.AsSpan(12), BinaryPrimitives.ReadUInt64BigEndian(tampered.AsSpan(12)) + 1000);
            byte[] flipped = seen[^1].ToArray();
            BinaryPrimitives.WriteUInt64BigEndian(flipped.AsSpan(12), BinaryPrimitives.ReadUInt64BigEndian(flipped.AsSpan(12)) + 2000);
            flipped[RecordFormat.HeaderSize] ^= 0x80;
            byte[] replayed = seen[0].ToArray();
            byte[] staleLink = seen[^1].ToArray();
            staleLink[8] ^= 0xFF;
            byte[] staleGeneration = seen[^1].ToArray();
            staleGeneration[1] += 2;
            byte[] reserved = seen[^1].ToArray();
            reserved[2] = 1;

            await rig.Relay.InjectAsync(tampered);
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(10_000));
            await rig.Relay.InjectAsync(SecureTestPeers.Concat(flipped, replayed, staleLink, staleGeneration, reserved));
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(50_000));

            SecureLinkStatistics stats = rig.LinkB.Statistics;
            Assert.Equal(2, stats.Rejected(RecordOpenResult.AuthenticationFailed));
            Assert.Equal(1, stats.Rejected(RecordOpenResult.Replayed));
            Assert.Equal(1, stats.Rejected(RecordOpenResult.StaleLink));
            Assert.Equal(1, stats.Rejected(RecordOpenResult.StaleGeneration));
            Assert.Equal(1, stats.Rejected(RecordOpenResult.Malformed));
            Assert.Equal(6, stats.RejectedTotal);
            Assert.Equal(0, rig.LinkA.Statistics.RejectedTotal);
            Assert.Equal(FabricSessionState.Open, rig.A.State);
            Assert.Equal(FabricSessionState.Open, rig.B.State);
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Session_MoreThanMaxRejectedRecords_LinkTornDownLinkLost(bool overTcp)
    {
        await SecureSessionRig.RunAsync(overTcp, async rig =>
        {
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(1000));
            byte[] replay = rig.Relay.TransportRecords[0];

            // MaxRejectedRecords (8) refused records are tolerated...
            await rig.Relay.InjectAsync(SecureTestPeers.Concat(Enumerable.Repeat(replay, 8).ToArray()));
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(1000));
            Assert.Equal(8, rig.LinkB.Statistics.Rejected(RecordOpenResult.Replayed));
            Assert.Equal(FabricSessionState.Open, rig.B.State);

            // ...one more ends the link.
            await rig.Relay.InjectAsync(replay);
            await rig.B.Completion.WaitAsync(TestTimeouts.Short);
            Assert.Equal(FabricErrorCode.LinkLost, rig.B.CloseError?.Code);
            Assert.Equal(9, rig.LinkB.Statistics.RejectedTotal);
            await rig.A.Completion.WaitAsync(TestTimeouts.Short);
            Assert.NotNull(rig.A.CloseError);
            UnobservedExceptions.AssertNoneFromFabricCore();
        });
    }

    [Theory]
    [InlineData(false, "oversized-length")]
    [InlineData(false, "length-ffffffff")]
    [InlineData(false, "length-below-minimum")]
    [InlineData(false, "handshake-type")]
    [InlineData(false, "unknown-type")]
    [InlineData(true, "oversized-length")]
    [InlineData(true, "length-ffffffff")]
    public async Task Session_UnframeableRecordInStream_LinkTornDownLinkLost(bool overTcp, string shape)
    {
        await SecureSessionRig.RunAsync(overTcp, async rig =>
        {
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(1000));
            byte[] prefix = rig.Relay.TransportRecords[^1].AsSpan(0, RecordPrefix.Size).ToArray();
            switch (shape)
            {
                case "oversized-length":
                    BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(4), RecordFormat.MaxTransportBody + 1);
                    break;
                case "length-ffffffff":
                    BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(4), 0xFFFFFFFF);
                    break;
                case "length-below-minimum":
                    BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(4), 12 + 16 - 1);
                    break;
                case "handshake-type":
                    prefix[0] = (byte)SecureRecordType.HandshakeInit;
                    break;
                default:
                    prefix[0] = 0x42;
                    break;
            }

            await rig.Relay.InjectAsync(SecureTestPeers.Concat(prefix, new byte[64]));
            await rig.B.Completion.WaitAsync(TestTimeouts.Short);
            Assert.Equal(FabricErrorCode.LinkLost, rig.B.CloseError?.Code);
            Assert.Equal(0, rig.LinkB.Statistics.RejectedTotal); // framing errors end the link at once, nothing is opened
            await rig.A.Completion.WaitAsync(TestTimeouts.Short);
            UnobservedExceptions.AssertNoneFromFabricCore();
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpdateSendKey_MidStream_DataFlowsAndKeyUpdatesAdvanceBothSides(bool overTcp)
    {
        await SecureSessionRig.RunAsync(overTcp, async rig =>
        {
            byte[] payload = RandomNumberGenerator.GetBytes(4_000_000);
            Task transfer = rig.AssertEchoAsync(payload);
            for (int i = 1; i <= 3; i++)
            {
                rig.LinkA.UpdateSendKey();
                rig.LinkB.UpdateSendKey();
                int expected = i;
                await Eventually.TrueAsync(() => rig.LinkA.KeyUpdates.Sent >= expected && rig.LinkB.KeyUpdates.Sent >= expected, $"key update {i} sent");
            }

            await transfer.WaitAsync(TestTimeouts.Long);
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(10_000)); // and after the updates
            Assert.True(rig.LinkA.KeyUpdates.Sent >= 3);
            Assert.True(rig.LinkB.KeyUpdates.Sent >= 3);
            await Eventually.TrueAsync(() => rig.LinkB.KeyUpdates.Received == rig.LinkA.KeyUpdates.Sent, "B follows A's key updates");
            await Eventually.TrueAsync(() => rig.LinkA.KeyUpdates.Received == rig.LinkB.KeyUpdates.Sent, "A follows B's key updates");
            Assert.Equal(0, rig.LinkA.Statistics.RejectedTotal);
            Assert.Equal(0, rig.LinkB.Statistics.RejectedTotal);
            Assert.Contains(rig.Relay.TransportRecords, r => r[1] >= 3);
        });
    }

    [Fact]
    public async Task Session_RecordsUnderReplacedKeyInjected_StaleGenerationSessionContinues()
    {
        await SecureSessionRig.RunAsync(overTcp: false, async rig =>
        {
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(1000));
            byte[] oldKeyRecord = rig.Relay.TransportRecords[^1];
            rig.LinkA.UpdateSendKey();
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(1000));
            await Eventually.TrueAsync(() => rig.LinkB.KeyUpdates.Received == 1, "B moved to generation 1");

            byte[] future = oldKeyRecord.ToArray();
            BinaryPrimitives.WriteUInt64BigEndian(future.AsSpan(12), 1UL << 40); // a fresh counter does not help an old key
            await rig.Relay.InjectAsync(SecureTestPeers.Concat(oldKeyRecord, future));
            await rig.AssertEchoAsync(RandomNumberGenerator.GetBytes(1000));
            Assert.Equal(2, rig.LinkB.Statistics.Rejected(RecordOpenResult.StaleGeneration));
            Assert.Equal(FabricSessionState.Open, rig.B.State);
        });
    }
}
