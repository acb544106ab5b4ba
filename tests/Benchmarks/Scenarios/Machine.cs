using System.Globalization;

namespace Benchmarks.Scenarios;

/// <summary>What else the machine is doing: results on a shared box depend on it.</summary>
internal static class Machine
{
    /// <summary>The 1-minute load average (Linux), or -1 where it cannot be read.</summary>
    public static double LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }
    }
}
