using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Core.Tests.Discovery;

/// <summary>Generators of Unicode text measured in UTF-8 bytes (1-, 2-, 3- and 4-byte characters all frequent).</summary>
internal static class Utf8Gen
{
    /// <summary>A Unicode scalar value, weighted so every UTF-8 length occurs often; never a surrogate.</summary>
    public static readonly Gen<int> CodePoint = Gen.Frequency(
        (3, Gen.Choose(0x20, 0x7E)),
        (1, Gen.Choose(0x00, 0x7F)),
        (2, Gen.Choose(0x80, 0x7FF)),
        (2, Gen.Choose(0x800, 0xFFFF - 0x800).Select(c => c >= 0xD800 ? c + 0x800 : c)),
        (2, Gen.Choose(0x10000, 0x10FFFF)));

    /// <summary>Text of <paramref name="minBytes"/>..<paramref name="maxBytes"/> UTF-8 bytes, often at the upper bound.</summary>
    public static Gen<string> Text(int minBytes, int maxBytes) => Gen.Frequency(
        (3, from budget in Gen.Choose(minBytes, maxBytes)
            from cps in Gen.ArrayOf(CodePoint, budget)
            select Pad(Take(FromCodePoints(cps), budget), minBytes)),
        (1, from cp in CodePoint.Where(c => c >= 0x80) // a multi-byte character ending exactly at the limit
            let s = char.ConvertFromUtf32(cp)
            select Pad(Take(new string('x', Math.Max(0, maxBytes - Encoding.UTF8.GetByteCount(s))) + s, maxBytes), minBytes)),
        (1, Gen.Constant(new string('m', maxBytes))));

    public static string FromCodePoints(int[] codePoints)
    {
        var sb = new StringBuilder(codePoints.Length * 2);
        foreach (int cp in codePoints)
        {
            sb.Append(char.ConvertFromUtf32(cp));
        }

        return sb.ToString();
    }

    /// <summary>The longest prefix of whole characters that fits in <paramref name="maxBytes"/> UTF-8 bytes.</summary>
    public static string Take(string s, int maxBytes)
    {
        int bytes = 0, chars = 0;
        foreach (Rune rune in s.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > maxBytes)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            chars += rune.Utf16SequenceLength;
        }

        return s[..chars];
    }

    private static string Pad(string s, int minBytes)
    {
        int missing = minBytes - Encoding.UTF8.GetByteCount(s);
        return missing > 0 ? s + new string('p', missing) : s;
    }
}
