using System.Text.Json;
using System.Text.Json.Nodes;

namespace Benchmarks.Scenarios.Http;

/// <summary>
/// The gateway as operators run it: <c>dotnet Fabric.Gateway.dll --Gateway:ConfigFile=&lt;node.json&gt;</c> from its
/// build output (the HTTP driver loads from plugins/http/ beside it), keys from <c>keygen --out</c>, one JSON file
/// per node as samples/multi-node/setup.sh writes them.
/// </summary>
internal sealed class GatewayBinary
{
    private const string DllName = "Fabric.Gateway.dll";

    private GatewayBinary(string dll) => Dll = dll;

    public string Dll { get; }

    /// <summary>
    /// <c>--gateway &lt;dll&gt;</c>, else FABRIC_GATEWAY_DLL, else the gateway built beside this benchmark: the sibling
    /// project folder of an <c>--artifacts-path</c> build (bin/Fabric.Gateway/&lt;config&gt;/), else the repository's
    /// gateway/Fabric.Gateway/bin/&lt;config&gt;/net10.0/ (Release preferred).
    /// </summary>
    public static GatewayBinary Locate(string? explicitPath)
    {
        explicitPath ??= Environment.GetEnvironmentVariable("FABRIC_GATEWAY_DLL");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            string full = Path.GetFullPath(explicitPath);
            return IsUsable(full) ? new GatewayBinary(full) : throw new InvalidOperationException($"{full} is not a built gateway (needs Fabric.Gateway.runtimeconfig.json and plugins/http/ beside it)");
        }

        var candidates = new List<string>();
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Name; // "release" in an artifacts layout
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, "Fabric.Gateway", configuration, DllName));
            candidates.Add(Path.Combine(dir.FullName, "Fabric.Gateway", "release", DllName));
        }

        foreach (string root in new[] { RepositoryRoot(), Environment.CurrentDirectory }.OfType<string>())
        {
            candidates.Add(Path.Combine(root, "gateway", "Fabric.Gateway", "bin", "Release", "net10.0", DllName));
        }

        string? found = candidates.FirstOrDefault(IsUsable);
        return found is not null
            ? new GatewayBinary(found)
            : throw new InvalidOperationException(
                "no built gateway found; build it with the same artifacts path as the benchmark, e.g.\n" +
                "  dotnet build gateway/Fabric.Gateway -c Release --artifacts-path /tmp/art-http\n" +
                "or pass --gateway <path to Fabric.Gateway.dll>. Looked in:\n  " + string.Join("\n  ", candidates.Distinct()));
    }

    /// <summary>The newest source file of the gateway, its plugins and the core when it is newer than the build, else null.</summary>
    public string? NewerSource()
    {
        string? root = RepositoryRoot();
        if (root is null)
        {
            return null;
        }

        string plugins = Path.Combine(Path.GetDirectoryName(Dll)!, "plugins");
        DateTime built = new[] { Dll, Path.Combine(plugins, "http", "Fabric.Plugins.Http.dll"), Path.Combine(plugins, "grpc", "Fabric.Plugins.Grpc.dll") }
            .Where(File.Exists).Select(File.GetLastWriteTimeUtc).Min();
        string sep = Path.DirectorySeparatorChar.ToString();
        return new[] { "gateway", "plugins", "fabric-core" }
            .Select(d => Path.Combine(root, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs*", SearchOption.AllDirectories))
            .Where(f => !f.Contains(sep + "bin" + sep, StringComparison.Ordinal) && !f.Contains(sep + "obj" + sep, StringComparison.Ordinal))
            .Select(f => (File: f, Time: File.GetLastWriteTimeUtc(f)))
            .Where(f => f.Time > built)
            .OrderByDescending(f => f.Time)
            .Select(f => Path.GetRelativePath(root, f.File))
            .FirstOrDefault();
    }

    /// <summary>True when the build carries the plugin folder <paramref name="folder"/> (plugins/&lt;folder&gt;/ beside the gateway).</summary>
    public bool HasPlugin(string folder) => Directory.Exists(Path.Combine(Path.GetDirectoryName(Dll)!, "plugins", folder));

    /// <summary>Runs <c>keygen --out</c>; returns the printed public key.</summary>
    public async Task<string> KeygenAsync(Lab lab, string name)
    {
        string keyFile = lab.PathOf(name + ".key");
        (int exitCode, string output) = await Lab.RunAsync("dotnet", [Dll, "keygen", "--out", keyFile], TimeSpan.FromSeconds(60), GatewayEnvironment(lab), lab.Directory);
        string? line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("public key:", StringComparison.Ordinal));
        return exitCode == 0 && line is not null
            ? line["public key:".Length..].Trim()
            : throw new InvalidOperationException($"gateway keygen exited with {exitCode}:\n{output}");
    }

    /// <summary>Writes <c>&lt;name&gt;.json</c>, starts the gateway on it and waits for its admin API and its proxy listener (if any).</summary>
    public async Task<ChildProcess> StartAsync(Lab lab, string name, JsonObject config, int adminPort, int? proxyPort)
    {
        string file = lab.PathOf(name + ".json");
        await File.WriteAllTextAsync(file, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        ChildProcess process = lab.Start(name, "dotnet", [Dll, $"--Gateway:ConfigFile={file}"], GatewayEnvironment(lab));
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"gateway {name} exited before it was ready:\n{process.Tail()}");
            }

            try
            {
                using HttpResponseMessage health = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"));
                if (health.IsSuccessStatusCode && (proxyPort is null || await Lab.CanConnectAsync(proxyPort.Value)))
                {
                    return process;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gateway {name} was not ready within 60 s:\n{process.Tail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A node's configuration file, in the shape of samples/multi-node/setup.sh (whole, replacing appsettings.json);
    /// <paramref name="grpc"/>, when given, is the gRPC driver's section (Plugins:Settings:grpc).
    /// </summary>
    public static JsonObject NodeConfig(Lab lab, string name, int adminPort, string fabricListen, JsonArray peers, JsonArray pinnedKeys, JsonObject http, JsonObject reverseProxy, JsonObject? grpc = null) => new()
    {
        ["Logging"] = new JsonObject
        {
            ["LogLevel"] = new JsonObject { ["Default"] = "Information", ["Microsoft.AspNetCore"] = "Warning", ["Yarp"] = "Warning" },
        },
        ["Gateway"] = new JsonObject { ["AdminListen"] = $"127.0.0.1:{adminPort}", ["SampleBackendListen"] = "", ["SampleBackendListenH2c"] = "" },
        ["Fabric"] = new JsonObject
        {
            ["NodeName"] = name,
            ["Listen"] = fabricListen,
            ["DataDirectory"] = lab.Directory,
            ["Identity"] = new JsonObject { ["KeyFile"] = lab.PathOf(name + ".key") },
            ["Peers"] = peers,
            ["Trust"] = new JsonObject { ["PinnedKeys"] = pinnedKeys },
        },
        ["Plugins"] = new JsonObject
        {
            ["Disabled"] = new JsonArray("sample.vendor"),
            ["Settings"] = grpc is null ? new JsonObject { ["http"] = http } : new JsonObject { ["http"] = http, ["grpc"] = grpc },
        },
        ["ReverseProxy"] = reverseProxy,
    };

    /// <summary>A ReverseProxy section sending every path to one destination.</summary>
    public static JsonObject ProxyTo(string address) => new()
    {
        ["Routes"] = new JsonObject
        {
            ["bench"] = new JsonObject { ["ClusterId"] = "bench", ["Match"] = new JsonObject { ["Path"] = "{**catch-all}" } },
        },
        ["Clusters"] = new JsonObject
        {
            ["bench"] = new JsonObject { ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = address } } },
        },
    };

    private static Dictionary<string, string?> GatewayEnvironment(Lab lab) => new()
    {
        ["XDG_DATA_HOME"] = lab.Directory,
        ["DOTNET_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = null,
        ["DOTNET_URLS"] = null,
    };

    private static bool IsUsable(string dll) =>
        File.Exists(dll)
        && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json"))
        && File.Exists(Path.Combine(Path.GetDirectoryName(dll)!, "plugins", "http", "Fabric.Plugins.Http.dll"));

    private static string? RepositoryRoot()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }
}
