using System.Diagnostics;
using System.Text.Json;
using Fabric.Gateway.Tests.Plugins;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// One gateway process (the gateway's own build output, <c>dotnet Fabric.Gateway.dll</c>) whose plugin directory holds
/// only a copy of the built gRPC driver, configured entirely on the command line, everything on 127.0.0.1. Disposing
/// kills it; <see cref="ChildProcess.Terminate"/> (through <see cref="Terminate"/>) stops it gracefully.
/// </summary>
internal sealed class GrpcGatewayNode : IDisposable
{
    private readonly ChildProcess _process;

    private GrpcGatewayNode(string name, ChildProcess process, int adminPort)
    {
        Name = name;
        _process = process;
        AdminPort = adminPort;
    }

    public string Name { get; }

    public int AdminPort { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => _process.Output;

    /// <summary>The gateway's build output (with its plugins/ folder) the nodes run from.</summary>
    public static string GatewayDll => GatewayWithPluginsProcess.FindGatewayDll();

    /// <summary>The built gRPC driver plugin folder (plugins/grpc beside the gateway).</summary>
    public static string GrpcPluginFolder => Path.Combine(Path.GetDirectoryName(GatewayDll)!, "plugins", "grpc");

    /// <summary>Copies the built gRPC driver into <paramref name="pluginsDirectory"/>/grpc; fails when it has not been built.</summary>
    public static void CopyGrpcPlugin(string pluginsDirectory)
    {
        string source = GrpcPluginFolder;
        Assert.True(
            File.Exists(Path.Combine(source, "plugin.json")) && File.Exists(Path.Combine(source, "Fabric.Plugins.Grpc.dll")),
            $"the gRPC driver plugin is not built: no plugin.json and Fabric.Plugins.Grpc.dll in {source}");
        string target = Path.Combine(pluginsDirectory, "grpc");
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to, overwrite: true);
        }
    }

    /// <summary>Starts a node; <see cref="WaitReadyAsync"/> waits for its admin API and its gRPC plugin.</summary>
    public static GrpcGatewayNode Start(string name, int fabricPort, string dataDirectory, string pluginsDirectory, IEnumerable<KeyValuePair<string, string>> settings)
    {
        int adminPort = GatewayProcess.FreePort();
        var args = new List<string>
        {
            GatewayDll,
            $"--Fabric:NodeName={name}",
            $"--Fabric:Listen=127.0.0.1:{fabricPort}",
            $"--Fabric:DataDirectory={dataDirectory}",
            $"--Gateway:AdminListen=127.0.0.1:{adminPort}",
            "--Gateway:SampleBackendListen=",
            "--Gateway:SampleBackendListenH2c=",
            $"--Plugins:Directory={pluginsDirectory}",
        };
        args.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        ChildProcess process = ChildProcess.Start(name, dotnet, args, dataDirectory, new Dictionary<string, string?>
        {
            ["XDG_DATA_HOME"] = dataDirectory,
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = null,
            ["DOTNET_URLS"] = null,
        });
        return new GrpcGatewayNode(name, process, adminPort);
    }

    /// <summary>Waits until the admin API answers and GET /plugins shows the grpc plugin running (fails with the output if it failed).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_process.HasExited, $"gateway {Name} exited with {(_process.HasExited ? _process.ExitCode : 0)} before it was ready:\n{Output}");
            try
            {
                string body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{AdminPort}/plugins"));
                JsonElement grpc = JsonDocument.Parse(body).RootElement.EnumerateArray()
                    .FirstOrDefault(p => p.GetProperty("name").GetString() == "grpc");
                string? state = grpc.ValueKind == JsonValueKind.Object ? grpc.GetProperty("state").GetString() : null;
                Assert.True(state != "Failed", $"gateway {Name}: the grpc plugin failed: {body}\n{Output}");
                if (state == "Running")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
            }

            Assert.True(clock.Elapsed < timeout, $"gateway {Name}'s grpc plugin was not running within {timeout.TotalSeconds} s:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>SIGTERM: the host's graceful shutdown.</summary>
    public void Terminate() => _process.Terminate();

    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public void Dispose() => _process.Dispose();
}
