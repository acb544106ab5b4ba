using System.Security.Cryptography;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzz over what a secure link's peer (or anyone on the path) sends: sealed records, mutated, fed
/// to <see cref="RecordOpener"/>. A mutated record never opens, never throws, never writes plaintext, and never moves
/// the opener's state: the genuine records that follow still open, each exactly once. Long campaign:
/// <c>FABRIC_FUZZ_ITERATIONS=2000000 FABRIC_FUZZ_SEED=$RANDOM dotnet test tests/Fabric.Core.Tests -c Release --filter "FullyQualifiedName~Fabric.Core.Tests.Fuzz"</c>.
/// </summary>
public sealed class RecordOpenerFuzzTests
{
    private const uint LinkId = 0x0BADF00D;

    [Theory]
    [InlineData(CipherSuite.ChaCha20Poly1305)]
    [InlineData(CipherSuite.Aes256Gcm)]
    public void Open_MutatedRecords_RefusedWithoutExceptionOrStateChange(CipherSuite suite)
    {
        (int iterations, int seed) = FuzzSettings.Read(4000, 20261121);
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        using var sealer = new RecordSealer(suite, secret.ToArray(), LinkId, new RecordLimits(), TimeProvider.System);
        using var opener = new RecordOpener(suite, secret.ToArray(), LinkId, new RecordLimits(), TimeProvider.System);
        byte[] destination = new byte[RecordFormat.MaxPlaintext + 1024];
        for (int i = 0; i < iterations; i++)
        {
            var rng = new Random(FuzzSettings.IterationSeed(seed, i));
            byte[] plaintext = new byte[rng.Next(1, 2048)];
            rng.NextBytes(plaintext);
            byte[] record = new byte[RecordFormat.Overhead + plaintext.Length];
            plaintext.CopyTo(record.AsSpan(RecordFormat.HeaderSize));
            sealer.Seal(record, plaintext.Length);

            byte[] mutated = FuzzSettings.Mutate(rng, record);
            if (!mutated.AsSpan().SequenceEqual(record))
            {
                Array.Fill(destination, (byte)0xAA);
                RecordOpenResult result;
                try
                {
                    result = OpenWhole(opener, mutated, destination);
                }
                catch (Exception ex)
                {
                    throw new Xunit.Sdk.XunitException($"seed {seed} iteration {i}: {ex.GetType().Name} opening {Convert.ToHexString(mutated)}: {ex}");
                }

                Assert.True(result != RecordOpenResult.Ok, $"seed {seed} iteration {i}: a mutated record opened: {Convert.ToHexString(mutated)}");
                Assert.True(destination.AsSpan(0, plaintext.Length).IndexOfAnyExcept((byte)0xAA, (byte)0) < 0, $"seed {seed} iteration {i}: plaintext written for a refused record");
            }

            // The genuine record opens, once: the forgery moved nothing.
            Assert.Equal(RecordOpenResult.Ok, OpenWhole(opener, record, destination));
            Assert.True(destination.AsSpan(0, plaintext.Length).SequenceEqual(plaintext), $"seed {seed} iteration {i}: wrong plaintext");
            Assert.Equal(RecordOpenResult.Replayed, OpenWhole(opener, record, destination));
        }
    }

    /// <summary>Opens a record as the link reader frames it: the fixed header, then whatever body follows.</summary>
    private static RecordOpenResult OpenWhole(RecordOpener opener, byte[] record, byte[] destination)
    {
        if (record.Length < RecordFormat.HeaderSize)
        {
            return RecordOpenResult.Malformed; // the reader waits for more bytes; nothing to open
        }

        return opener.Open(record.AsSpan(0, RecordFormat.HeaderSize), record.AsSpan(RecordFormat.HeaderSize), destination);
    }
}
