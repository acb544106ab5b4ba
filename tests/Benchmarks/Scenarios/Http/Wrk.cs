using System.Globalization;
using System.Text.RegularExpressions;

namespace Benchmarks.Scenarios.Http;

/// <summary>What one wrk run reported.</summary>
/// <param name="RequestsPerSecond">wrk's Requests/sec: every completed response, whatever its status.</param>
/// <param name="P99Ms">The 99th percentile latency from <c>--latency</c>, in milliseconds.</param>
/// <param name="Requests">Completed responses.</param>
/// <param name="Seconds">The run's measured duration.</param>
/// <param name="BytesRead">Bytes read (wrk prints them rounded to 2 decimals of their unit).</param>
/// <param name="Non2xx">Responses with a status of 400 or more (wrk's "Non-2xx or 3xx responses").</param>
/// <param name="SocketErrors">connect + read + write + timeout errors.</param>
/// <param name="SocketErrorText">wrk's socket error line, or empty.</param>
internal sealed record WrkResult(double RequestsPerSecond, double P99Ms, long Requests, double Seconds, double BytesRead, long Non2xx, long SocketErrors, string SocketErrorText)
{
    /// <summary>Errors of any kind: a path with errors is not counted as fast.</summary>
    public long Errors => Non2xx + SocketErrors;

    /// <summary>Successful (non-error) responses per second.</summary>
    public double GoodRps => Requests == 0 ? 0 : RequestsPerSecond * (Requests - Non2xx) / Requests;

    /// <summary>Average bytes per response, headers included.</summary>
    public double BytesPerResponse => Requests == 0 ? 0 : BytesRead / Requests;
}

/// <summary>Runs <c>wrk -t2 -c64 -d&lt;D&gt;s --latency</c> and parses its report.</summary>
internal static partial class Wrk
{
    public const int Threads = 2;
    public const int Connections = 64;

    public static async Task<(WrkResult Result, string Output)> RunAsync(int port, int seconds)
    {
        string[] args = ["-t" + Threads, "-c" + Connections, $"-d{seconds}s", "--latency", $"http://127.0.0.1:{port}/"];
        (int exitCode, string output) = await Lab.RunAsync("wrk", args, TimeSpan.FromSeconds(seconds + 60));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"wrk {string.Join(' ', args)} exited with {exitCode}:\n{output}");
        }

        try
        {
            return (Parse(output), output);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"{ex.Message}; wrk printed:\n{output}", ex);
        }
    }

    /// <summary>Parses wrk 4.x output (with <c>--latency</c>).</summary>
    public static WrkResult Parse(string output)
    {
        Match rps = RequestsPerSecondLine().Match(output);
        Match p99 = P99Line().Match(output);
        Match total = TotalLine().Match(output);
        if (!rps.Success || !p99.Success || !total.Success)
        {
            throw new FormatException("wrk's output has no Requests/sec, 99% latency or 'N requests in' line");
        }

        long non2xx = 0, socket = 0;
        string socketText = "";
        if (Non2xxLine().Match(output) is { Success: true } bad)
        {
            non2xx = long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (SocketErrorsLine().Match(output) is { Success: true } errors)
        {
            socketText = errors.Groups[0].Value.Trim();
            for (int i = 1; i <= 4; i++)
            {
                socket += long.Parse(errors.Groups[i].Value, CultureInfo.InvariantCulture);
            }
        }

        return new WrkResult(
            Number(rps.Groups[1].Value),
            ToMilliseconds(Number(p99.Groups[1].Value), p99.Groups[2].Value),
            long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture),
            ToMilliseconds(Number(total.Groups[2].Value), total.Groups[3].Value) / 1000,
            Number(total.Groups[4].Value) * BinaryUnit(total.Groups[5].Value),
            non2xx,
            socket,
            socketText);
    }

    private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>wrk's time units (format_time): us, ms, s, m, h.</summary>
    private static double ToMilliseconds(double value, string unit) => unit switch
    {
        "us" => value / 1000,
        "ms" => value,
        "s" => value * 1000,
        "m" => value * 60_000,
        "h" => value * 3_600_000,
        _ => throw new FormatException($"unknown wrk time unit '{unit}'"),
    };

    /// <summary>wrk's byte units (format_binary, base 1024): B, KB, MB, GB, TB, PB.</summary>
    private static double BinaryUnit(string unit) => unit switch
    {
        "B" => 1,
        "KB" => 1024,
        "MB" => 1024d * 1024,
        "GB" => 1024d * 1024 * 1024,
        "TB" => 1024d * 1024 * 1024 * 1024,
        "PB" => 1024d * 1024 * 1024 * 1024 * 1024,
        _ => throw new FormatException($"unknown wrk size unit '{unit}'"),
    };

    [GeneratedRegex(@"^Requests/sec:\s+([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex RequestsPerSecondLine();

    [GeneratedRegex(@"^\s+99(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$", RegexOptions.Multiline)]
    private static partial Regex P99Line();

    [GeneratedRegex(@"^\s+(\d+) requests in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+)([KMGTP]?B) read", RegexOptions.Multiline)]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"^\s+Non-2xx or 3xx responses:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", RegexOptions.Multiline)]
    private static partial Regex SocketErrorsLine();
}
