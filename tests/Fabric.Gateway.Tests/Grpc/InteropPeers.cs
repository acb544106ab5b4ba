using System.Text.Json;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// The real gRPC peers: Debian's grpcio driving tests/interop/grpc/interop_server.py and interop_client.py with
/// /usr/bin/python3 (never a python first on PATH), their proto modules generated at test time by interop_protos.py.
/// </summary>
internal static class InteropPeers
{
    public const string Python = "/usr/bin/python3";

    /// <summary>
    /// The interop cases of the official spec the client implements, and headers_before_messages (initial metadata
    /// sent before any message reach the client while the call is open), which the spec leaves out.
    /// </summary>
    public static readonly string[] Cases =
    [
        "empty_unary",
        "large_unary",
        "client_streaming",
        "server_streaming",
        "ping_pong",
        "empty_stream",
        "custom_metadata",
        "status_code_and_message",
        "special_status_message",
        "unimplemented_method",
        "unimplemented_service",
        "timeout_on_sleeping_server",
        "cancel_after_begin",
        "cancel_after_first_response",
        "headers_before_messages",
    ];

    private static readonly Lazy<string> ScriptDirectoryValue = new(FindScripts);

    /// <summary>tests/interop/grpc in the repository.</summary>
    public static string ScriptDirectory => ScriptDirectoryValue.Value;

    public static string ServerScript => Path.Combine(ScriptDirectory, "interop_server.py");

    public static string ClientScript => Path.Combine(ScriptDirectory, "interop_client.py");

    public static TheoryData<string> CaseData() => [.. Cases];

    /// <summary>Fails with what to install when Debian's grpcio, protobuf, grpc-proto or protoc are missing.</summary>
    public static void RequireInstalled()
    {
        string[] needed =
        [
            Python,
            "/usr/lib/python3/dist-packages/grpc/__init__.py",
            "/usr/lib/python3/dist-packages/google/protobuf/__init__.py",
            "/usr/share/grpc-proto/grpc/testing/test.proto",
            "/usr/share/grpc-proto/grpc/health/v1/health.proto",
            "/usr/bin/protoc",
            "/usr/bin/grpc_python_plugin",
        ];
        string[] missing = [.. needed.Where(p => !File.Exists(p))];
        Assert.True(missing.Length == 0, $"gRPC interop peers missing ({string.Join(", ", missing)}): run scripts/install-peers.sh");
    }

    /// <summary>Generates the interop proto modules into <paramref name="directory"/> (protoc + grpc_python_plugin).</summary>
    public static async Task GenerateAsync(string directory)
    {
        RequireInstalled();
        using ChildProcess gen = ChildProcess.Start(
            "interop_protos",
            Python,
            ["-B", Path.Combine(ScriptDirectory, "interop_protos.py"), "--out", directory],
            ScriptDirectory,
            PythonEnvironment);
        Assert.True(await gen.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"proto generation did not finish:\n{gen.Output}");
        Assert.True(gen.ExitCode == 0, $"proto generation failed with {gen.ExitCode}:\n{gen.Output}");
    }

    /// <summary>Environment of every Python peer: no user site, no bytecode in the repository, unbuffered.</summary>
    public static Dictionary<string, string?> PythonEnvironment => new()
    {
        ["PYTHONPATH"] = null,
        ["PYTHONHOME"] = null,
        ["PYTHONNOUSERSITE"] = "1",
        ["PYTHONDONTWRITEBYTECODE"] = "1",
        ["PYTHONUNBUFFERED"] = "1",
        ["GRPC_VERBOSITY"] = "ERROR",
    };

    /// <summary>Starts the interop client against <paramref name="target"/> (host:port) without waiting for it.</summary>
    public static ChildProcess StartClient(string genDirectory, string target, params string[] args)
    {
        RequireInstalled();
        return ChildProcess.Start(
            "client",
            Python,
            ["-B", ClientScript, "--gen-dir", genDirectory, "--target", target, .. args],
            ScriptDirectory,
            PythonEnvironment);
    }

    /// <summary>Runs the interop client to its end (killed after <paramref name="timeout"/>).</summary>
    public static async Task<ClientResult> RunClientAsync(string genDirectory, string target, TimeSpan timeout, params string[] args)
    {
        using ChildProcess client = StartClient(genDirectory, target, args);
        bool exited = await client.WaitForExitAsync(timeout);
        if (!exited)
        {
            client.Kill();
            Assert.Fail($"interop client {string.Join(' ', args)} against {target} did not finish within {timeout.TotalSeconds} s:\n{client.Output}");
        }

        return new ClientResult(client.ExitCode, client.StdoutLines, client.Output);
    }

    /// <summary>Runs a JSON mode of the client (split, concurrent, oversize, health, load, slow) and parses its last line.</summary>
    public static async Task<JsonElement> RunJsonAsync(string genDirectory, string target, TimeSpan timeout, params string[] args)
    {
        ClientResult result = await RunClientAsync(genDirectory, target, timeout, args);
        Assert.True(result.ExitCode == 0, $"interop client {string.Join(' ', args)} exited with {result.ExitCode}:\n{result.Output}");
        return result.Json;
    }

    private static string FindScripts()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "interop", "grpc");
            if (File.Exists(Path.Combine(candidate, "interop_server.py")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/interop/grpc not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>What an interop client run printed.</summary>
internal sealed record ClientResult(int ExitCode, string[] Stdout, string Output)
{
    /// <summary>The last stdout line that is a JSON object.</summary>
    public JsonElement Json
    {
        get
        {
            string? line = Stdout.LastOrDefault(l => l.StartsWith('{'));
            Assert.True(line is not null, $"the interop client printed no JSON:\n{Output}");
            return JsonDocument.Parse(line).RootElement.Clone();
        }
    }
}
