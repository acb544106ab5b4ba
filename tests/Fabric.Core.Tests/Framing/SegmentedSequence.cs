using System.Buffers;

namespace Fabric.Core.Tests.Framing;

/// <summary>
/// Builds multi-segment <see cref="ReadOnlySequence{T}"/>s from a byte array, the way a pipe hands a reader bytes
/// that arrived in several reads. Every segment owns its own array, so a reader that runs past the end of a
/// segment cannot accidentally see the next bytes.
/// </summary>
internal static class SegmentedSequence
{
    /// <summary>Splits <paramref name="data"/> at the given offsets (sorted or not, duplicates make empty segments).</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        ArgumentNullException.ThrowIfNull(data);
        int[] sorted = [.. cuts];
        Array.Sort(sorted);
        var pieces = new List<byte[]>(sorted.Length + 1);
        int start = 0;
        foreach (int cut in sorted)
        {
            if (cut < 0 || cut > data.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(cuts), cut, "cut outside the data");
            }

            pieces.Add(data[start..cut]);
            start = cut;
        }

        pieces.Add(data[start..]);
        return FromPieces(pieces);
    }

    /// <summary>
    /// Splits <paramref name="data"/> into a random number of segments (1 up to length + 1, so single bytes and
    /// empty segments occur) at random points.
    /// </summary>
    public static ReadOnlySequence<byte> AtRandom(byte[] data, System.Random random)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(random);
        int segments = random.Next(4) switch
        {
            0 => 1,
            1 => 2,
            2 => random.Next(1, Math.Min(data.Length, 16) + 2),
            _ => random.Next(1, data.Length + 2),
        };
        var cuts = new int[segments - 1];
        for (int i = 0; i < cuts.Length; i++)
        {
            cuts[i] = random.Next(data.Length + 1);
        }

        return Split(data, cuts);
    }

    /// <summary>Convenience: random segmentation from a seed.</summary>
    public static ReadOnlySequence<byte> AtRandom(byte[] data, int seed) => AtRandom(data, new System.Random(seed));

    /// <summary>A sequence with exactly these segments, in order.</summary>
    public static ReadOnlySequence<byte> FromPieces(IReadOnlyList<byte[]> pieces)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        if (pieces.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(pieces[0], 0);
        Segment last = first;
        for (int i = 1; i < pieces.Count; i++)
        {
            last = last.Append(pieces[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>How many non-empty segments a sequence has (lets tests check the split really happened).</summary>
    public static int CountNonEmptySegments(in ReadOnlySequence<byte> sequence)
    {
        int count = 0;
        foreach (ReadOnlyMemory<byte> memory in sequence)
        {
            if (!memory.IsEmpty)
            {
                count++;
            }
        }

        return count;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
