using Fabric.Core.Security;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Core.Tests.Security;

/// <summary>
/// The replay window against WireGuard's own counter self-test, ported case by case from the Linux kernel's
/// drivers/net/wireguard/selftest/counter.c (wg_packet_counter_selftest, Jason A. Donenfeld) with
/// T_LIM = COUNTER_WINDOW_SIZE + 1 = <see cref="AntiReplayWindow.WindowSize"/> + 1 and
/// REJECT_AFTER_MESSAGES = <see cref="AntiReplayWindow.RejectAfter"/>; then a property test against a naive model.
/// </summary>
public class AntiReplayWindowTests
{
    private const int TotalBits = 4096;
    private const ulong WindowSize = TotalBits - 64;              // COUNTER_WINDOW_SIZE
    private const ulong TLim = WindowSize + 1;                     // T_LIM
    private const ulong RejectAfter = ulong.MaxValue - WindowSize - 1; // REJECT_AFTER_MESSAGES

    [Fact]
    public void Constructor_4096Bits_WindowAndLimitAsWireGuard()
    {
        var window = new AntiReplayWindow(totalBits: TotalBits);
        Assert.Equal(4032, window.WindowSize);
        Assert.Equal(ulong.MaxValue - 4032 - 1, window.RejectAfter);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(4095)]
    public void Constructor_NotPowerOfTwoOrTooSmall_Throws(int totalBits)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AntiReplayWindow(totalBits));
    }

    /// <summary>counter.c cases 1..34, in order, on one window.</summary>
    [Fact]
    public void TryAccept_WireGuardSelftestSequence_MatchesEveryCase()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        (ulong Counter, bool Expected)[] cases =
        [
            /*  1 */ (0, true),
            /*  2 */ (1, true),
            /*  3 */ (1, false),
            /*  4 */ (9, true),
            /*  5 */ (8, true),
            /*  6 */ (7, true),
            /*  7 */ (7, false),
            /*  8 */ (TLim, true),
            /*  9 */ (TLim - 1, true),
            /* 10 */ (TLim - 1, false),
            /* 11 */ (TLim - 2, true),
            /* 12 */ (2, true),
            /* 13 */ (2, false),
            /* 14 */ (TLim + 16, true),
            /* 15 */ (3, false),
            /* 16 */ (TLim + 16, false),
            /* 17 */ (TLim * 4, true),
            /* 18 */ ((TLim * 4) - (TLim - 1), true),
            /* 19 */ (10, false),
            /* 20 */ ((TLim * 4) - TLim, false),
            /* 21 */ ((TLim * 4) - (TLim + 1), false),
            /* 22 */ ((TLim * 4) - (TLim - 2), true),
            /* 23 */ ((TLim * 4) + 1 - TLim, false),
            /* 24 */ (0, false),
            /* 25 */ (RejectAfter, false),
            /* 26 */ (RejectAfter - 1, true),
            /* 27 */ (RejectAfter, false),
            /* 28 */ (RejectAfter - 1, false),
            /* 29 */ (RejectAfter - 2, true),
            /* 30 */ (RejectAfter + 1, false),
            /* 31 */ (RejectAfter + 2, false),
            /* 32 */ (RejectAfter - 2, false),
            /* 33 */ (RejectAfter - 3, true),
            /* 34 */ (0, false),
        ];

        for (int i = 0; i < cases.Length; i++)
        {
            Assert.True(w.TryAccept(cases[i].Counter) == cases[i].Expected, $"counter.c case {i + 1}: TryAccept({cases[i].Counter}) should be {cases[i].Expected}");
        }
    }

    /// <summary>for (i = 1; i &lt;= COUNTER_WINDOW_SIZE; ++i) T(i, true); T(0, true); T(0, false);</summary>
    [Fact]
    public void TryAccept_FullWindowThenZero_ZeroAcceptedOnce()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        for (ulong i = 1; i <= WindowSize; i++)
        {
            Assert.True(w.TryAccept(i), $"counter {i}");
        }

        Assert.True(w.TryAccept(0));
        Assert.False(w.TryAccept(0));
    }

    /// <summary>for (i = 2; i &lt;= COUNTER_WINDOW_SIZE + 1; ++i) T(i, true); T(1, true); T(0, false);</summary>
    [Fact]
    public void TryAccept_WindowFromTwo_OneInsideZeroOutside()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        for (ulong i = 2; i <= WindowSize + 1; i++)
        {
            Assert.True(w.TryAccept(i), $"counter {i}");
        }

        Assert.True(w.TryAccept(1));
        Assert.False(w.TryAccept(0));
    }

    /// <summary>for (i = COUNTER_WINDOW_SIZE + 1; i-- &gt; 0;) T(i, true);</summary>
    [Fact]
    public void TryAccept_DescendingFromWindowSizeToZero_AllAccepted()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        for (ulong i = WindowSize + 1; i-- > 0;)
        {
            Assert.True(w.TryAccept(i), $"counter {i}");
        }
    }

    /// <summary>for (i = COUNTER_WINDOW_SIZE + 2; i-- &gt; 1;) T(i, true); T(0, false);</summary>
    [Fact]
    public void TryAccept_DescendingFromWindowSizePlusOne_ZeroTooOld()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        for (ulong i = WindowSize + 2; i-- > 1;)
        {
            Assert.True(w.TryAccept(i), $"counter {i}");
        }

        Assert.False(w.TryAccept(0));
    }

    /// <summary>for (i = COUNTER_WINDOW_SIZE + 1; i-- &gt; 1;) T(i, true); T(COUNTER_WINDOW_SIZE + 1, true); T(0, false);</summary>
    [Fact]
    public void TryAccept_DescendingThenAdvanceByOne_ZeroTooOld()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        for (ulong i = WindowSize + 1; i-- > 1;)
        {
            Assert.True(w.TryAccept(i), $"counter {i}");
        }

        Assert.True(w.TryAccept(WindowSize + 1));
        Assert.False(w.TryAccept(0));
    }

    /// <summary>for (i = COUNTER_WINDOW_SIZE + 1; i-- &gt; 1;) T(i, true); T(0, true); T(COUNTER_WINDOW_SIZE + 1, true);</summary>
    [Fact]
    public void TryAccept_DescendingThenZeroThenAdvance_AllAccepted()
    {
        var w = new AntiReplayWindow(totalBits: TotalBits);
        for (ulong i = WindowSize + 1; i-- > 1;)
        {
            Assert.True(w.TryAccept(i), $"counter {i}");
        }

        Assert.True(w.TryAccept(0));
        Assert.True(w.TryAccept(WindowSize + 1));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(4096)]
    public void TryAccept_RandomSequences_MatchesNaiveModel(int totalBits)
    {
        ulong window = (ulong)totalBits - 64;
        ulong rejectAfter = ulong.MaxValue - window - 1;

        // One step: how to pick the next counter relative to the highest accepted so far.
        Gen<(int Kind, ulong Amount)> step = Gen.Frequency(
            (6, Gen.Choose(0, 70).Select(d => (0, (ulong)d))),                                   // a little ahead
            (6, Gen.Choose(0, (int)window + 70).Select(d => (1, (ulong)d))),                     // behind: in, at and past the edge
            (2, Gen.Choose((int)window - 2, (3 * (int)window) + 200).Select(d => (0, (ulong)d))), // a jump of about a window
            (3, Gen.Choose(0, 1000).Select(d => (2, (ulong)d))),                                 // repeat an earlier counter
            (1, Gen.Choose(-3, 3).Select(d => (3, (ulong)(long)d))));                          // next to RejectAfter
        Gen<(int Kind, ulong Amount)[]> steps = Gen.Choose(1, 400).SelectMany(n => Gen.ArrayOf(step, n));

        Property property = Prop.ForAll(Arb.From(steps), sequence =>
        {
            var w = new AntiReplayWindow(totalBits);
            var seen = new HashSet<ulong>();
            var tried = new List<ulong>();
            ulong? greatest = null;
            foreach ((int kind, ulong amount) in sequence)
            {
                ulong top = greatest ?? 0;
                ulong counter = kind switch
                {
                    0 => top + amount,
                    1 => top >= amount ? top - amount : amount - top,
                    2 => tried.Count > 0 ? tried[(int)(amount % (ulong)tried.Count)] : amount,
                    _ => rejectAfter + amount, // wraps for negative offsets
                };
                tried.Add(counter);

                bool expected = counter < rejectAfter && !seen.Contains(counter) && (greatest is null || counter + window >= greatest.Value);
                bool actual = w.TryAccept(counter);
                if (actual != expected)
                {
                    return false;
                }

                if (actual)
                {
                    seen.Add(counter);
                    greatest = greatest is null ? counter : Math.Max(greatest.Value, counter);
                }
            }

            return true;
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }
}
