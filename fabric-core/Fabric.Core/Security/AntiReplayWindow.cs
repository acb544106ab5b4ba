namespace Fabric.Core.Security;

/// <summary>
/// Sliding-window anti-replay filter in the manner of RFC 6479 (a ring of 64-bit words, whole words cleared as the
/// window advances), with WireGuard's counter semantics. For carriers that may reorder or duplicate records
/// (datagrams); ordered carriers use a strictly increasing counter instead. Call <see cref="TryAccept"/> only
/// after the record authenticated, so a forged counter cannot move the window.
/// </summary>
public sealed class AntiReplayWindow
{
    private const int BitsPerWord = 64;

    private readonly ulong[] _bitmap;
    private readonly int _wordMask;
    private ulong _greatest; // highest counter accepted, plus one (0 = none yet)

    /// <summary>Creates a window of <c>totalBits - 64</c> counters; <paramref name="totalBits"/> is a power of two ≥ 128.</summary>
    public AntiReplayWindow(int totalBits = 4096)
    {
        if (totalBits < 2 * BitsPerWord || (totalBits & (totalBits - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalBits), totalBits, "must be a power of two of at least 128");
        }

        _bitmap = new ulong[totalBits / BitsPerWord];
        _wordMask = _bitmap.Length - 1;
        WindowSize = totalBits - BitsPerWord;
        RejectAfter = ulong.MaxValue - (ulong)WindowSize - 1;
    }

    /// <summary>How far behind the highest accepted counter a counter may still be accepted once.</summary>
    public int WindowSize { get; }

    /// <summary>Counters at or above this are always refused.</summary>
    public ulong RejectAfter { get; }

    /// <summary>Accepts <paramref name="counter"/> once: false for a replay, for one too old for the window, or past <see cref="RejectAfter"/>.</summary>
    public bool TryAccept(ulong counter)
    {
        if (_greatest >= RejectAfter + 1 || counter >= RejectAfter)
        {
            return false;
        }

        ulong c = counter + 1;
        if ((ulong)WindowSize + c < _greatest)
        {
            return false; // too old
        }

        ulong index = c / BitsPerWord;
        if (c > _greatest)
        {
            ulong currentIndex = _greatest / BitsPerWord;
            ulong top = Math.Min(index - currentIndex, (ulong)_bitmap.Length);
            for (ulong i = 1; i <= top; i++)
            {
                _bitmap[(int)((i + currentIndex) & (ulong)_wordMask)] = 0;
            }

            _greatest = c;
        }

        int word = (int)(index & (ulong)_wordMask);
        ulong bit = 1UL << (int)(c % BitsPerWord);
        if ((_bitmap[word] & bit) != 0)
        {
            return false;
        }

        _bitmap[word] |= bit;
        return true;
    }
}
