using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Fabric.Gateway.Tests.Processes;

/// <summary>
/// One gateway binary running as its own process (<c>dotnet Fabric.Gateway.dll</c> from the test's build output),
/// configured entirely on the command line, its admin API on a free loopback port. Disposing kills the whole process
/// tree. Output is kept for failure messages.
/// </summary>
internal sealed class GatewayProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private GatewayProcess(string name, Process process, int adminPort, int fabricPort)
    {
        Name = name;
        _process = process;
        AdminPort = adminPort;
        FabricPort = fabricPort;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int AdminPort { get; }

    public int FabricPort { get; }

    public string FabricAddress => $"127.0.0.1:{FabricPort}";

    public bool HasExited => _process.HasExited;

    /// <summary>What the process printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The gateway binary the test project's build put beside the tests (the project references the gateway).</summary>
    public static string GatewayDll
    {
        get
        {
            string beside = Path.Combine(AppContext.BaseDirectory, "Fabric.Gateway.dll");
            if (File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, "Fabric.Gateway.runtimeconfig.json")))
            {
                return beside;
            }

            // Else the gateway's own build output in the repository (any configuration).
            for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string bin = Path.Combine(dir.FullName, "gateway", "Fabric.Gateway", "bin");
                if (Directory.Exists(bin))
                {
                    string? found = Directory.EnumerateFiles(bin, "Fabric.Gateway.dll", SearchOption.AllDirectories)
                        .Where(f => File.Exists(Path.ChangeExtension(f, ".runtimeconfig.json")))
                        .OrderByDescending(File.GetLastWriteTimeUtc)
                        .FirstOrDefault();
                    if (found is not null)
                    {
                        return found;
                    }
                }
            }

            throw new FileNotFoundException($"Fabric.Gateway.dll with its runtimeconfig.json is neither in {AppContext.BaseDirectory} nor in the repository's gateway/Fabric.Gateway/bin");
        }
    }

    /// <summary>
    /// A loopback port free at the time of asking, never the same twice in this test run. Ports come from below the
    /// kernel's ephemeral range (32768+), so no outgoing connection takes one between the asking and the binding,
    /// and the cursor starts at a random place so two test processes rarely walk the same ports.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            int port = FirstPort + (int)((uint)Interlocked.Increment(ref _portCursor) % (uint)(LastPort - FirstPort));
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // taken: the next one
            }
        }
    }

    private const int FirstPort = 20_000;
    private const int LastPort = 32_000;
    private static int _portCursor = Random.Shared.Next(LastPort - FirstPort);

    /// <summary>Runs <c>keygen --out</c>; returns the printed base64 public key.</summary>
    public static async Task<string> KeygenAsync(string keyFile, string dataDirectory)
    {
        using Process process = Start(["keygen", "--out", keyFile], dataDirectory);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Kill(process);
        }

        string output = await stdout.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(process.ExitCode == 0, $"keygen exited with {process.ExitCode}: {output}{await stderr.WaitAsync(TimeSpan.FromSeconds(5))}");
        string? line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("public key:", StringComparison.Ordinal));
        Assert.True(line is not null, $"keygen printed no public key: {output}");
        return line["public key:".Length..].Trim();
    }

    /// <summary>
    /// Starts a gateway with <paramref name="settings"/> as <c>--Key=Value</c> arguments; <see cref="WaitReadyAsync"/>
    /// then waits until its admin API answers.
    /// </summary>
    public static GatewayProcess Start(string name, int fabricPort, string dataDirectory, IEnumerable<KeyValuePair<string, string>> settings)
    {
        int adminPort = FreePort();
        var args = new List<string>
        {
            $"--Fabric:NodeName={name}",
            $"--Fabric:Listen=127.0.0.1:{fabricPort}",
            $"--Fabric:DataDirectory={dataDirectory}",
            $"--Gateway:AdminListen=127.0.0.1:{adminPort}",
            "--Gateway:SampleBackendListen=",
            "--Gateway:SampleBackendListenH2c=",

            // No plugins (the HTTP driver would listen on the shipped fixed ports): they are not what is tested here.
            $"--Plugins:Directory={Path.Combine(dataDirectory, "no-plugins")}",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        return new GatewayProcess(name, Start(args, dataDirectory), adminPort, fabricPort);
    }

    /// <summary>GET on the admin API, parsed as JSON.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{AdminPort}{path}")).WaitAsync(TimeSpan.FromSeconds(10));
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Kills the process tree at once (SIGKILL: the kernel closes its sockets, nothing is said on the fabric).</summary>
    public void Kill() => Kill(_process);

    public void Dispose()
    {
        Kill(_process);
        _process.Dispose();
    }

    /// <summary>Waits until the admin API answers /healthz; fails with the process output if it exits or times out.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"gateway {Name} exited with {_process.ExitCode} before its admin API answered:\n{Output}");
            }

            try
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{AdminPort}/healthz")).WaitAsync(TimeSpan.FromSeconds(5));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException)
            {
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"gateway {Name}'s admin API did not answer within {timeout.TotalSeconds} s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(Name).Append(": ").AppendLine(line);
        }
    }

    private static Process Start(IEnumerable<string> args, string dataDirectory)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        info.ArgumentList.Add(GatewayDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["XDG_DATA_HOME"] = dataDirectory;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("DOTNET_URLS");
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the gateway process");
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
    }
}
