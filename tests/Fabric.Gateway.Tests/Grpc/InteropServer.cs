using System.Text.Json;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// One interop_server.py on 127.0.0.1 (grpc.aio TestService + Health), identified by its replica id (x-served-by).
/// Health is flipped through its control file; it can be killed and restarted on the same port.
/// </summary>
internal sealed class InteropServer : IDisposable
{
    private readonly string _genDirectory;
    private readonly string _directory;
    private ChildProcess? _process;
    private string _earlierOutput = "";

    private InteropServer(string replica, string genDirectory, string directory)
    {
        Replica = replica;
        _genDirectory = genDirectory;
        _directory = directory;
        ControlFile = Path.Combine(directory, $"{replica}.health");
        TimeoutLog = Path.Combine(directory, $"{replica}.timeouts");
    }

    public string Replica { get; }

    public int Port { get; private set; }

    public string Address => $"127.0.0.1:{Port}";

    public string ControlFile { get; }

    public string TimeoutLog { get; }

    public bool IsRunning => _process is { HasExited: false };

    public string Output => _earlierOutput + (_process?.Output ?? "");

    /// <summary>Certificate and key when it serves over TLS (its backend URL is then https://), else null (h2c).</summary>
    public (string Cert, string Key)? Tls { get; private init; }

    /// <summary>The backend URL a gateway's egress uses for it.</summary>
    public string BackendUrl => $"{(Tls is null ? "http" : "https")}://{Address}";

    /// <summary>Starts a server on a port of its own choosing and waits for its READY line.</summary>
    public static async Task<InteropServer> StartAsync(string replica, string genDirectory, string directory, (string Cert, string Key)? tls = null)
    {
        var server = new InteropServer(replica, genDirectory, directory) { Tls = tls };
        try
        {
            await server.StartProcessAsync(0);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: its connections are reset, nothing is said to anyone.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            process.Kill();
            _earlierOutput += process.Output;
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Starts it again on the same port (healthy: the control file is reset).</summary>
    public async Task RestartAsync()
    {
        Kill();
        await StartProcessAsync(Port);
    }

    /// <summary>Sets every known service of this server to <paramref name="status"/> (SERVING or NOT_SERVING) and waits until it says so.</summary>
    public async Task SetHealthAsync(string status)
    {
        string temp = ControlFile + ".tmp";
        await File.WriteAllTextAsync(temp, status + "\n");
        File.Move(temp, ControlFile, overwrite: true);
        if (_process is not { } process)
        {
            return;
        }

        // The server prints a HEALTH line on every change (none while it is as it started: SERVING).
        bool Taken()
        {
            string? last = process.StdoutLines.LastOrDefault(l => l.StartsWith("HEALTH ", StringComparison.Ordinal));
            return last is null ? status == "SERVING" : last.Contains($"\"-\": \"{status}\"", StringComparison.Ordinal);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Taken())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{Replica} did not take health {status}:\n{Output}");
            await Task.Delay(20);
        }
    }

    public void Dispose() => Kill();

    private async Task StartProcessAsync(int port)
    {
        await File.WriteAllTextAsync(ControlFile, "SERVING\n");
        _process = ChildProcess.Start(
            Replica,
            InteropPeers.Python,
            [
                "-B", InteropPeers.ServerScript,
                "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--replica-id", Replica,
                "--gen-dir", _genDirectory,
                "--control-file", ControlFile,
                "--timeout-log", TimeoutLog,
                .. Tls is { } tls ? new[] { "--cert", tls.Cert, "--key", tls.Key } : [],
            ],
            _directory,
            InteropPeers.PythonEnvironment);
        string ready = await _process.WaitForLineAsync(l => l.StartsWith("READY ", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "its READY line");
        Port = JsonDocument.Parse(ready["READY ".Length..]).RootElement.GetProperty("port").GetInt32();
    }
}
