using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Tests.Fuzz;

namespace Fabric.Core.Tests.Security;

/// <summary>
/// Seeded mutation fuzz over the first message a stranger sends a node: a genuine handshake init (from a real
/// initiator), mutated, offered to a responder. The responder never throws and never answers a message it cannot
/// authenticate; it only ever completes a handshake when the genuine init arrived whole (a mutation that merely
/// appended bytes after it). Long campaign: see <see cref="RecordOpenerFuzzTests"/>.
/// </summary>
public sealed class HandshakeFuzzTests
{
    [Fact]
    public async Task AcceptAsync_MutatedGenuineInit_DroppedWithoutExceptionOrAnswer()
    {
        (int iterations, int seed) = FuzzSettings.Read(400, 1121);
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        byte[] init = await CaptureInitAsync(a, b);
        var quick = new SecureLinkOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(500) };
        int completed = 0;
        for (int i = 0; i < iterations; i++)
        {
            var rng = new Random(FuzzSettings.IterationSeed(seed, i));
            byte[] mutated = FuzzSettings.Mutate(rng, init);

            // A fresh responder each time: its replay table and per-source rate limit are tested elsewhere.
            (_, SecureLinkEndpoint responder) = SecureTestPeers.PinnedEndpoints(a, b, optionsB: quick);
            var (attacker, victim) = InMemoryLink.CreatePair();
            var tap = new TapLink(victim);
            SecureLink? link;
            try
            {
                await SecureTestPeers.SendRawAsync(attacker, mutated);
                await attacker.Output.CompleteAsync();
                link = await responder.AcceptAsync(tap, IPAddress.Loopback).WaitAsync(TestTimeouts.Short);
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed} iteration {i}: {ex.GetType().Name} for {Convert.ToHexString(mutated)}: {ex}");
            }

            if (link is null)
            {
                Assert.True(responder.Statistics.FailedTotal == 1, $"seed {seed} iteration {i}: a dropped init not counted as one failure ({responder.Statistics.FailedTotal})");
                Assert.True(tap.BytesSent == 0, $"seed {seed} iteration {i}: the responder answered a mutated init ({tap.BytesSent} bytes): {Convert.ToHexString(mutated)}");
            }
            else
            {
                Assert.True(mutated.AsSpan().StartsWith(init), $"seed {seed} iteration {i}: a changed init was accepted: {Convert.ToHexString(mutated)}");
                completed++;
                await link.DisposeAsync();
            }

            await attacker.DisposeAsync();
            await tap.DisposeAsync();
        }

        Assert.True(completed < iterations / 4, $"{completed} of {iterations} mutations were accepted: the mutator hardly changes anything");
    }

    /// <summary>The bytes a real initiator sends first (its init record), caught on an in-memory carrier.</summary>
    private static async Task<byte[]> CaptureInitAsync(NodeIdentity a, NodeIdentity b)
    {
        (SecureLinkEndpoint initiator, _) = SecureTestPeers.PinnedEndpoints(a, b);
        var (initiatorSide, wire) = InMemoryLink.CreatePair();
        using var stop = new CancellationTokenSource();
        Task<SecureLink> connect = initiator.ConnectAsync(initiatorSide, b.PublicKey, stop.Token);
        var received = new List<byte>();
        while (true)
        {
            ReadResult result = await wire.Input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Short);
            received.AddRange(result.Buffer.ToArray());
            wire.Input.AdvanceTo(result.Buffer.End);
            if (received.Count >= RecordPrefix.Size
                && received.Count >= RecordPrefix.Size + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(received.GetRange(4, 4).ToArray()))
            {
                break;
            }

            Assert.False(result.IsCompleted, "the initiator closed before its init was whole");
        }

        await stop.CancelAsync();
        try
        {
            await connect.WaitAsync(TestTimeouts.Short);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }

        await wire.DisposeAsync();
        await initiatorSide.DisposeAsync();
        return SecureTestPeers.FirstRecord([.. received]);
    }
}
