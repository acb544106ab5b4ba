using System.Globalization;

namespace Fabric.Plugins.Grpc;

/// <summary>The <c>grpc-timeout</c> header: 1 to 8 digits and a unit (H, M, S, m, u, n).</summary>
public static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    /// <summary>Parses a grpc-timeout value; false when it is malformed.</summary>
    public static bool TryParse(string? text, out TimeSpan timeout)
    {
        timeout = default;
        if (text is null || text.Length is < 2 or > 9)
        {
            return false;
        }

        ReadOnlySpan<char> digits = text.AsSpan(0, text.Length - 1);
        foreach (char c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        long value = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long ticks = text[^1] switch
        {
            'H' => value * TimeSpan.TicksPerHour,
            'M' => value * TimeSpan.TicksPerMinute,
            'S' => value * TimeSpan.TicksPerSecond,
            'm' => value * TimeSpan.TicksPerMillisecond,
            'u' => value * TimeSpan.TicksPerMicrosecond,
            'n' => value / 100,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>
    /// Formats a timeout in the finest unit that fits in 8 digits, rounding down, so the value sent is never longer
    /// than <paramref name="timeout"/> (a deadline passed on must not grow).
    /// </summary>
    public static string Format(TimeSpan timeout)
    {
        long ticks = Math.Max(0, timeout.Ticks);
        (long PerUnit, char Unit)[] units =
        [
            (1, 'n'), // 100 ns per tick: handled below
            (TimeSpan.TicksPerMicrosecond, 'u'),
            (TimeSpan.TicksPerMillisecond, 'm'),
            (TimeSpan.TicksPerSecond, 'S'),
            (TimeSpan.TicksPerMinute, 'M'),
            (TimeSpan.TicksPerHour, 'H'),
        ];
        if (ticks * 100 <= MaxValue)
        {
            return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        }

        for (int i = 1; i < units.Length; i++)
        {
            long value = ticks / units[i].PerUnit;
            if (value <= MaxValue)
            {
                return value.ToString(CultureInfo.InvariantCulture) + units[i].Unit;
            }
        }

        return MaxValue.ToString(CultureInfo.InvariantCulture) + "H";
    }
}
