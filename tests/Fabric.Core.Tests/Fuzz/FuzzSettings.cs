using System.Globalization;

namespace Fabric.Core.Tests.Fuzz;

/// <summary>
/// Iterations and seed of the seeded mutation-fuzz tests: a short run by default, a long campaign with
/// <c>FABRIC_FUZZ_ITERATIONS</c> and <c>FABRIC_FUZZ_SEED</c>. Each iteration has its own seed, so a failure
/// names what to replay.
/// </summary>
internal static class FuzzSettings
{
    public static (int Iterations, int Seed) Read(int defaultIterations, int defaultSeed) =>
        (ReadEnv("FABRIC_FUZZ_ITERATIONS", defaultIterations), ReadEnv("FABRIC_FUZZ_SEED", defaultSeed));

    public static int IterationSeed(int seed, int iteration) => unchecked((seed * 1_000_003) + iteration);

    /// <summary>One mutation of <paramref name="input"/>: flip, overwrite, insert, delete, truncate, extend or splice.</summary>
    public static byte[] Mutate(Random rng, byte[] input)
    {
        var bytes = new List<byte>(input);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits; e++)
        {
            int at = bytes.Count == 0 ? 0 : rng.Next(bytes.Count);
            switch (rng.Next(7))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)rng.Next(256);
                    break;
                case 2:
                    bytes.Insert(at, (byte)rng.Next(256));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 5:
                    byte[] tail = new byte[rng.Next(1, 64)];
                    rng.NextBytes(tail);
                    bytes.AddRange(tail);
                    break;
                default:
                    // an interesting value where lengths and counters live
                    byte[] special = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF];
                    if (bytes.Count > 0)
                    {
                        bytes[at] = special[rng.Next(special.Length)];
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    private static int ReadEnv(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;
}
