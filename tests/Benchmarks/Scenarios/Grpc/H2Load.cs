using System.Globalization;
using System.Text.RegularExpressions;
using Benchmarks.Scenarios.Http;

namespace Benchmarks.Scenarios.Grpc;

/// <summary>What one h2load run reported, and the latency percentiles computed from its per-request log.</summary>
/// <param name="Seconds">The measured duration (h2load's "finished in").</param>
/// <param name="Done">Requests that completed (any status).</param>
/// <param name="Succeeded">h2load's "succeeded": completed with an HTTP status below 400 (it never looks at grpc-status).</param>
/// <param name="Failed">h2load's "failed" (it includes "errored" and "timeout").</param>
/// <param name="Errored">h2load's "errored": streams reset or connections lost.</param>
/// <param name="Timeout">h2load's "timeout".</param>
/// <param name="Status2xx">Responses with a 2xx status.</param>
/// <param name="NonOk">Responses with a status of 300 or more.</param>
/// <param name="MeanMs">h2load's mean "time for request".</param>
/// <param name="MaxMs">h2load's max "time for request".</param>
/// <param name="Logged">Requests in the per-request log with status 200 (the ones the percentiles are over).</param>
/// <param name="P50Ms">Median from the log.</param>
/// <param name="P99Ms">99th percentile from the log.</param>
/// <param name="P999Ms">99.9th percentile from the log.</param>
/// <param name="CpuSeconds">User + system CPU time h2load itself used.</param>
/// <param name="PerSecond">Calls completed in each whole second of the run (from the log; the partial first and last seconds left out): a path that stalls or a machine busy with other work shows here.</param>
internal sealed record H2LoadResult(double Seconds, long Done, long Succeeded, long Failed, long Errored, long Timeout, long Status2xx, long NonOk,
    double MeanMs, double MaxMs, long Logged, double P50Ms, double P99Ms, double P999Ms, double CpuSeconds, IReadOnlyList<long> PerSecond)
{
    /// <summary>Calls answered with HTTP 200 per second (grpc-status is checked separately, see <see cref="GrpcCheck"/>).</summary>
    public double CallsPerSecond => Seconds > 0 ? Status2xx / Seconds : 0;
}

/// <summary>
/// Runs <c>h2load -t1 -c&lt;C&gt; -m&lt;M&gt; -D&lt;S&gt;</c> posting <see cref="EchoMessages.RequestFrame"/> from a file with
/// <c>content-type: application/grpc</c> and <c>te: trailers</c>, and parses its report. h2load prints no
/// percentiles, so the measured run writes <c>--log-file</c> (one line per request: start µs, status, duration µs)
/// and p50/p99/p99.9 are computed from it.
/// </summary>
internal static partial class H2Load
{
    public static async Task<(H2LoadResult Result, string Output)> RunAsync(int port, string bodyFile, int connections, int streams, int seconds, string? logFile)
    {
        var args = new List<string>
        {
            "-t1", $"-c{connections}", $"-m{streams}", $"-D{seconds}", "-d", bodyFile,
            "-H", "content-type: application/grpc", "-H", "te: trailers",
        };
        if (logFile is not null)
        {
            args.Add("--log-file=" + logFile);
        }

        args.Add($"http://127.0.0.1:{port}{EchoMessages.Path}");

        // Through sh, whose `times` prints the CPU time its children used: h2load shares the 2 cores with the path.
        (int exitCode, string output) = await Lab.RunAsync("/bin/sh", ["-c", "h2load \"$@\"; rc=$?; echo h2load-times; times; exit $rc", "h2load", .. args], TimeSpan.FromSeconds(seconds + 60));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"h2load {string.Join(' ', args)} exited with {exitCode}:\n{output}");
        }

        try
        {
            return (Parse(output, logFile), output);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"{ex.Message}; h2load printed:\n{output}", ex);
        }
    }

    /// <summary>Parses h2load 1.5x output (and the log file, when given).</summary>
    public static H2LoadResult Parse(string output, string? logFile)
    {
        Match finished = FinishedLine().Match(output);
        Match requests = RequestsLine().Match(output);
        Match codes = StatusLine().Match(output);
        Match time = RequestTimeLine().Match(output);
        if (!finished.Success || !requests.Success || !codes.Success)
        {
            throw new FormatException("h2load's output has no 'finished in', 'requests:' or 'status codes:' line");
        }

        long R(int group) => long.Parse(requests.Groups[group].Value, CultureInfo.InvariantCulture);
        long C(int group) => long.Parse(codes.Groups[group].Value, CultureInfo.InvariantCulture);
        (long logged, double p50, double p99, double p999, long[] perSecond) = logFile is null ? (0, 0, 0, 0, []) : FromLog(logFile);
        return new H2LoadResult(
            ToMilliseconds(finished.Groups[1].Value, finished.Groups[2].Value) / 1000,
            Done: R(3), Succeeded: R(4), Failed: R(5), Errored: R(6), Timeout: R(7),
            Status2xx: C(1), NonOk: C(2) + C(3) + C(4),
            MeanMs: time.Success ? ToMilliseconds(time.Groups[5].Value, time.Groups[6].Value) : 0,
            MaxMs: time.Success ? ToMilliseconds(time.Groups[3].Value, time.Groups[4].Value) : 0,
            logged, p50, p99, p999,
            ChildCpuSeconds(output),
            perSecond);
    }

    /// <summary>Percentiles of the durations of the requests answered 200, and calls completed per second, from h2load's per-request log.</summary>
    private static (long Count, double P50Ms, double P99Ms, double P999Ms, long[] PerSecond) FromLog(string logFile)
    {
        var durations = new List<long>();
        var ends = new List<long>();
        foreach (string line in File.ReadLines(logFile))
        {
            string[] columns = line.Split('\t');
            if (columns.Length >= 3 && columns[1] == "200"
                && long.TryParse(columns[0], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
                && long.TryParse(columns[2], NumberStyles.None, CultureInfo.InvariantCulture, out long micros))
            {
                durations.Add(micros);
                ends.Add(start + micros);
            }
        }

        if (durations.Count == 0)
        {
            return (0, 0, 0, 0, []);
        }

        durations.Sort();
        double At(double q) => durations[Math.Min(durations.Count - 1, (int)Math.Ceiling(q * durations.Count) - 1)] / 1000.0;
        long first = ends.Min();
        long[] buckets = new long[(int)((ends.Max() - first) / 1_000_000) + 1];
        foreach (long end in ends)
        {
            buckets[(end - first) / 1_000_000]++;
        }

        return (durations.Count, At(0.50), At(0.99), At(0.999), buckets.Length > 2 ? buckets[1..^1] : []);
    }

    /// <summary>The children's user and system times from sh's <c>times</c> (second line after the marker), in seconds.</summary>
    private static double ChildCpuSeconds(string output)
    {
        int marker = output.LastIndexOf("h2load-times", StringComparison.Ordinal);
        if (marker < 0)
        {
            return 0;
        }

        string[] lines = output[marker..].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 3)
        {
            return 0;
        }

        double total = 0;
        foreach (Match m in TimesValue().Matches(lines[2]))
        {
            total += double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 60 + double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }

        return total;
    }

    private static double ToMilliseconds(string value, string unit)
    {
        double number = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => number / 1000,
            "ms" => number,
            "s" => number * 1000,
            _ => throw new FormatException($"unknown h2load time unit '{unit}'"),
        };
    }

    [GeneratedRegex(@"^finished in ([0-9.]+)(us|ms|s),", RegexOptions.Multiline)]
    private static partial Regex FinishedLine();

    [GeneratedRegex(@"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", RegexOptions.Multiline)]
    private static partial Regex StatusLine();

    // "time for request:   min   max   mean   sd   +/- sd"
    [GeneratedRegex(@"^time for request:\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)\s+([0-9.]+)(us|ms|s)", RegexOptions.Multiline)]
    private static partial Regex RequestTimeLine();

    [GeneratedRegex(@"(\d+)m([0-9.]+)s")]
    private static partial Regex TimesValue();
}
