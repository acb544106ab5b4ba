using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Fabric.Gateway.Tests.Plugins;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// One gateway process with the real HTTP driver: the gateway's own build output (<c>dotnet Fabric.Gateway.dll</c>,
/// its shipped appsettings.json) with <c>Plugins:Directory</c> pointing at the plugins the build copied beside it,
/// configured on the command line. Can be killed (SIGKILL) and started again with the same arguments.
/// </summary>
internal sealed class HttpGateway : IDisposable
{
    private readonly string _workingDirectory;
    private readonly List<string> _args;
    private ChildProcess _process;

    private HttpGateway(string name, string workingDirectory, List<string> args, int adminPort)
    {
        Name = name;
        _workingDirectory = workingDirectory;
        _args = args;
        AdminPort = adminPort;
        _process = Launch();
    }

    public string Name { get; }

    public int AdminPort { get; }

    public int Pid => _process.Pid;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => _process.Output;

    /// <summary>The gateway binary whose build output also holds plugins/http/.</summary>
    public static string Dll { get; } = LocateDll();

    /// <summary>The built plugins folder beside <see cref="Dll"/> (plugins/http, plugins/sample.vendor).</summary>
    public static string PluginsDirectory => Path.Combine(Path.GetDirectoryName(Dll)!, "plugins");

    /// <summary>
    /// Starts a gateway. <paramref name="settings"/> come after the defaults here (the command line's last value of a
    /// key wins): no admin or sample backend on the shipped fixed ports, the real plugins folder with only the http
    /// plugin enabled, the shipped http listeners and demo service blanked out (entries the shipped appsettings.json
    /// lists and a node overrides).
    /// </summary>
    public static HttpGateway Start(string name, string dataDirectory, IEnumerable<(string Key, string Value)> settings, string? pluginsDirectory = null)
    {
        int adminPort = GatewayProcess.FreePort();
        var args = new List<string>
        {
            Dll,
            $"--Fabric:NodeName={name}",
            $"--Fabric:DataDirectory={dataDirectory}",
            $"--Gateway:AdminListen=127.0.0.1:{adminPort}",
            "--Gateway:SampleBackendListen=",
            "--Gateway:SampleBackendListenH2c=",
            $"--Plugins:Directory={pluginsDirectory ?? PluginsDirectory}",
            // Only the HTTP driver: the sample vendor plugin and the gRPC driver (built into the same folder) stay out.
            "--Plugins:Disabled:0=sample.vendor",
            "--Plugins:Disabled:1=grpc",
            "--Plugins:Settings:http:Listen:0=",
            "--Plugins:Settings:http:Listen:1=",
            "--Plugins:Settings:http:Services:0:Name=",
            "--Plugins:Settings:http:Services:0:Backend=",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        return new HttpGateway(name, dataDirectory, args, adminPort);
    }

    /// <summary>Waits for the process to exit on its own, with all its output read; false on timeout.</summary>
    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>Kills the process (SIGKILL: its links and sockets just drop).</summary>
    public void Kill() => _process.Kill();

    /// <summary>Starts the gateway again with the same arguments (after <see cref="Kill"/>).</summary>
    public void Restart()
    {
        _process.Dispose();
        _process = Launch();
    }

    /// <summary>SIGTERM: a graceful stop.</summary>
    public void Terminate() => _process.Terminate();

    public void Dispose() => _process.Dispose();

    /// <summary>The process's resident set size now (VmRSS of /proc/&lt;pid&gt;/status), in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                string kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no VmRSS in /proc/{Pid}/status");
    }

    /// <summary>GET on the admin API, parsed as JSON.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{AdminPort}{path}"));
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The entry of plugin <paramref name="plugin"/> in GET /plugins, or null.</summary>
    public async Task<JsonElement?> PluginAsync(string plugin)
    {
        JsonElement list = await GetJsonAsync("/plugins");
        foreach (JsonElement p in list.EnumerateArray())
        {
            if (p.GetProperty("name").GetString() == plugin)
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>Waits until every plugin has left the Loaded state (Running or Failed); fails with the output if the process exits.</summary>
    public async Task<JsonElement> WaitPluginsSettledAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_process.HasExited, $"gateway {Name} exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{_process.Tail()}");
            try
            {
                JsonElement list = await GetJsonAsync("/plugins");
                if (list.EnumerateArray().All(p => p.GetProperty("state").GetString() is "Running" or "Failed"))
                {
                    return list;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
            {
                // not listening yet
            }

            Assert.True(clock.Elapsed < timeout, $"gateway {Name}'s plugins did not settle within {timeout.TotalSeconds} s:\n{_process.Tail()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the http plugin to run; fails with its reason (and the log) if it failed.</summary>
    public async Task WaitHttpRunningAsync(TimeSpan timeout)
    {
        JsonElement list = await WaitPluginsSettledAsync(timeout);
        JsonElement http = list.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "http");
        Assert.True(http.GetProperty("state").GetString() == "Running", $"gateway {Name}: http plugin {http}\n{_process.Tail()}");
    }

    private ChildProcess Launch()
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var environment = new Dictionary<string, string?>
        {
            ["XDG_DATA_HOME"] = _workingDirectory,

            // ASP.NET data protection (YARP's affinity cookies) keeps its key ring under $HOME: the test's own.
            ["HOME"] = _workingDirectory,
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = null,
            ["DOTNET_URLS"] = null,
        };
        return ChildProcess.Start(Name, dotnet, _args, _workingDirectory, environment);
    }

    private static string LocateDll()
    {
        string dll = GatewayWithPluginsProcess.FindGatewayDll();
        if (File.Exists(Path.Combine(Path.GetDirectoryName(dll)!, "plugins", "http", "Fabric.Plugins.Http.dll")))
        {
            return dll;
        }

        // The copy beside the tests has no plugins: the gateway's own output in the repository has.
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "gateway", "Fabric.Gateway", "bin", "Release", "net10.0", "Fabric.Gateway.dll");
            if (File.Exists(candidate) && File.Exists(Path.Combine(Path.GetDirectoryName(candidate)!, "plugins", "http", "Fabric.Plugins.Http.dll")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"no gateway build with plugins/http/Fabric.Plugins.Http.dll beside it (found {dll}); build tests/Fabric.Gateway.Tests");
    }
}
