using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Telemetry;

/// <summary>
/// Prometheus's own tools, the peers of the <c>/metrics</c> endpoint: <c>promtool check metrics</c> (the exposition
/// format linter) and the Prometheus server. scripts/install-peers.sh unpacks Debian's <c>prometheus</c> package into
/// <c>$FABRIC_PEERS_DIR/prometheus</c> (default <c>~/.cache/fabric-gateway/peers</c>) without installing it, so no
/// system service starts.
/// </summary>
internal static class PrometheusPeers
{
    public static string Root => Path.Combine(
        Environment.GetEnvironmentVariable("FABRIC_PEERS_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fabric-gateway", "peers"),
        "prometheus",
        "usr",
        "bin");

    public static string Promtool => Existing(Path.Combine(Root, "promtool"));

    public static string Server => Existing(Path.Combine(Root, "prometheus"));

    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="exposition"/>: exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Existing(string path) => File.Exists(path)
        ? path
        : throw new FileNotFoundException($"{path} is missing: run scripts/install-peers.sh (it unpacks Debian's prometheus package there)", path);
}
