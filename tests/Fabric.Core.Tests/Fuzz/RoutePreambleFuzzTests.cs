using System.Net;
using Fabric.Core.Routing;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzz over the route preamble, the first bytes of every routed stream a peer opens
/// (docs/PROTOCOL.md §3.5): any input ends in a preamble, a <see cref="FormatException"/> or an
/// <see cref="EndOfStreamException"/>; never another exception, never a hang, never more than
/// <see cref="RoutePreamble.MaxSize"/> bytes read. Long campaign: see <see cref="RecordOpenerFuzzTests"/>.
/// </summary>
public sealed class RoutePreambleFuzzTests
{
    [Fact]
    public async Task Read_MutatedPreambles_PreambleOrFormatOrEndOfStream()
    {
        (int iterations, int seed) = FuzzSettings.Read(20_000, 4242);
        byte[][] seeds =
        [
            new RoutePreamble(0x0101, new SubprotocolVersion(1, 2), new SubprotocolVersion(1, 0), "grpc.testing.TestService", new IPEndPoint(IPAddress.IPv6Loopback, 443), "r1").Encode(),
            new RoutePreamble(0x0100, new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0), "demo", new IPEndPoint(IPAddress.Loopback, 8080), "").Encode(),
            [1, 0x01, 0x00, 1, 0, 1, 0, 4, (byte)'d', (byte)'e', (byte)'m', (byte)'o', 0, 0, 0],
        ];
        int parsed = 0, refused = 0, truncated = 0;
        for (int i = 0; i < iterations; i++)
        {
            var rng = new Random(FuzzSettings.IterationSeed(seed, i));
            byte[] input = FuzzSettings.Mutate(rng, seeds[rng.Next(seeds.Length)]);
            var stream = new MemoryStream(input);
            try
            {
                RoutePreamble preamble = await RoutePreamble.ReadAsync(stream, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                Assert.True(stream.Position <= RoutePreamble.MaxSize, $"seed {seed} iteration {i}: read {stream.Position} bytes");
                Assert.False(string.IsNullOrEmpty(preamble.Service), $"seed {seed} iteration {i}: empty service accepted");
                parsed++;
            }
            catch (FormatException)
            {
                refused++;
            }
            catch (EndOfStreamException)
            {
                truncated++;
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed} iteration {i}: {ex.GetType().Name} reading {Convert.ToHexString(input)}: {ex}");
            }
        }

        // The mutations reach every outcome (a fuzzer that only ever truncates proves little).
        Assert.True(parsed > 0 && refused > 0 && truncated > 0, $"parsed {parsed}, refused {refused}, truncated {truncated}");
    }
}
