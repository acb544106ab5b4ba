using System.Globalization;

namespace Fabric.Gateway.Tests.Http;

/// <summary>What one curl run got: its exit code, the status, the HTTP version spoken, the total time, the body and stderr (-v output).</summary>
internal sealed record CurlResult(int ExitCode, int Status, string HttpVersion, double Seconds, string Body, string Stderr)
{
    public override string ToString() => $"curl exit {ExitCode}, status {Status}, HTTP/{HttpVersion}, {Seconds:F3} s\nbody: {Body}\nstderr: {Stderr}";
}

/// <summary>The real curl (/usr/bin/curl) as a process.</summary>
internal static class Curl
{
    private const string Marker = "@@curl-write-out@@";

    /// <summary>Runs <c>curl -sS ARGS</c> and parses the status, version and time it reports after the body.</summary>
    public static async Task<CurlResult> RunAsync(params string[] args)
    {
        string[] all = ["-sS", "--noproxy", "*", "--max-time", "60", "-w", $"\n{Marker} %{{http_code}} %{{http_version}} %{{time_total}}", .. args];
        ExecResult result = await Exec.RunAsync(PeerScripts.Curl, all, TimeSpan.FromSeconds(90));
        int at = result.Stdout.LastIndexOf(Marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"curl printed no write-out line: {result}");
        string[] fields = result.Stdout[(at + Marker.Length)..].Trim().Split(' ');
        string body = result.Stdout[..at];
        if (body.EndsWith('\n'))
        {
            body = body[..^1];
        }

        return new CurlResult(
            result.ExitCode,
            int.Parse(fields[0], CultureInfo.InvariantCulture),
            fields[1],
            double.Parse(fields[2], CultureInfo.InvariantCulture),
            body,
            result.Stderr);
    }
}
