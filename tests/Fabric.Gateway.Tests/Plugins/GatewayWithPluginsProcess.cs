using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// The real gateway binary (<c>dotnet Fabric.Gateway.dll</c> from the gateway's build output) started once for a test
/// class, its plugin directory a temporary folder holding copies of a plugin that fails at start
/// (throws-at-start) and of the good plugin, everything else on free loopback ports. Disposing kills the process.
/// </summary>
public sealed class GatewayWithPluginsProcess : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly StringBuilder _output = new();
    private Process? _process;

    public int AdminPort { get; } = FreePort();

    /// <summary>The good plugin appends "start"/"stop" here.</summary>
    public string CounterFile => _temp.File("good-counter.txt");

    public bool HasExited => _process?.HasExited ?? true;

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

    /// <summary>
    /// The gateway's own build output, wherever the build put it: beside the test output in an artifacts layout
    /// (&lt;artifacts&gt;/bin/Fabric.Gateway.Tests/&lt;config&gt; → &lt;artifacts&gt;/bin/Fabric.Gateway/&lt;config&gt;), or in the
    /// repository (gateway/Fabric.Gateway/bin/&lt;Config&gt;/&lt;tfm&gt;); else the copy the project reference put beside the tests.
    /// </summary>
    public static string FindGatewayDll()
    {
        var tests = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var candidates = new List<string>();
        if (tests.Parent is { Name: "Fabric.Gateway.Tests" } testsBin && testsBin.Parent is { } artifactsBin)
        {
            candidates.Add(Path.Combine(artifactsBin.FullName, "Fabric.Gateway", tests.Name, "Fabric.Gateway.dll"));
        }

        if (tests.Parent is { } configuration && configuration.Parent is { Name: "bin" })
        {
            for (DirectoryInfo? dir = tests; dir is not null; dir = dir.Parent)
            {
                candidates.Add(Path.Combine(dir.FullName, "gateway", "Fabric.Gateway", "bin", configuration.Name, tests.Name, "Fabric.Gateway.dll"));
            }
        }

        candidates.Add(Path.Combine(tests.FullName, "Fabric.Gateway.dll"));
        return candidates.FirstOrDefault(c => File.Exists(c) && File.Exists(Path.ChangeExtension(c, ".runtimeconfig.json")) && File.Exists(Path.ChangeExtension(c, ".deps.json")))
            ?? throw new FileNotFoundException("no built Fabric.Gateway.dll (with its runtimeconfig.json and deps.json) in:\n" + string.Join("\n", candidates));
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task InitializeAsync()
    {
        string plugins = Path.Combine(_temp.Path, "plugins");
        Directory.CreateDirectory(plugins);
        TestPluginFolders.CopyTo(plugins, "throws-at-start");
        TestPluginFolders.CopyTo(plugins, "good");
        int fabricPort = FreePort();
        string[] args =
        [
            "--Fabric:NodeName=plugins-test",
            $"--Fabric:Listen=127.0.0.1:{fabricPort}",
            $"--Fabric:Peers:0:Address=127.0.0.1:{fabricPort}",
            "--Fabric:Peers:0:PublicKey=self",
            $"--Fabric:DataDirectory={_temp.Path}",
            $"--Gateway:AdminListen=127.0.0.1:{AdminPort}",
            "--Gateway:SampleBackendListen=",
            "--Gateway:SampleBackendListenH2c=",
            $"--Plugins:Directory={plugins}",
            $"--Plugins:Settings:http:Listen:0=127.0.0.1:{FreePort()}",
            $"--Plugins:Settings:http:Listen:1=h2c://127.0.0.1:{FreePort()}",
            $"--Plugins:Settings:good:CounterFile={CounterFile}",
        ];

        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _temp.Path,
        };
        info.ArgumentList.Add(FindGatewayDll());
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["XDG_DATA_HOME"] = _temp.Path;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("DOTNET_URLS");
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start the gateway");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Ready when /plugins shows every plugin past its start (the admin API may answer before the plugins started).
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(HasExited, $"the gateway exited with {(_process.HasExited ? _process.ExitCode : 0)} before it was ready:\n{Output}");
            try
            {
                JsonElement list = await GetJsonAsync("/plugins");
                if (list.GetArrayLength() == 2 && list.EnumerateArray().All(p => p.GetProperty("state").GetString() is "Running" or "Failed"))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or JsonException)
            {
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the gateway's plugins did not settle within 60 s:\n{Output}");
            await Task.Delay(200);
        }
    }

    public async Task<HttpResponseMessage> GetAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await http.GetAsync(new Uri($"http://127.0.0.1:{AdminPort}{path}")).WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await GetAsync(path);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (_process is { } process)
        {
            _process = null;
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
            }

            process.Dispose();
        }

        try
        {
            _temp.Dispose();
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
