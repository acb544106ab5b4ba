using System.Text.Json;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// One interop_server.py with its proto modules generated into a temporary directory: the pair the gateway tests rely
/// on, proved without a gateway.
/// </summary>
public sealed class InteropDirectFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private InteropServer? _server;

    internal string GenDirectory => _temp.File("gen");

    internal InteropServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        try
        {
            await InteropPeers.GenerateAsync(GenDirectory);
            _server = await InteropServer.StartAsync("direct-1", GenDirectory, _temp.Path);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        _server = null;
        _temp.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The interop client against the interop server directly (no gateway): every case and every extra mode.</summary>
public sealed class GrpcInteropDirectTests(InteropDirectFixture fixture) : IClassFixture<InteropDirectFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    private string Target => fixture.Server.Address;

    public static TheoryData<string> Cases => InteropPeers.CaseData();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task InteropCase_ClientAgainstServerDirectly_Passes(string testCase)
    {
        ClientResult result = await InteropPeers.RunClientAsync(fixture.GenDirectory, Target, ClientTimeout, testCase);

        Assert.True(result.ExitCode == 0, $"{testCase} failed directly:\n{result.Output}\n{fixture.Server.Output}");
        Assert.Contains($"PASS {testCase}", result.Stdout);
    }

    [Fact]
    public async Task Split_DirectToOneServer_AllCallsServedByIt()
    {
        JsonElement split = await InteropPeers.RunJsonAsync(fixture.GenDirectory, Target, ClientTimeout, "split", "200");

        Assert.Equal(200, split.GetProperty("ok").GetInt32());
        Assert.Equal(200, split.GetProperty("served_by").GetProperty(fixture.Server.Replica).GetInt32());
        Assert.Empty(split.GetProperty("errors").EnumerateObject());
    }

    [Fact]
    public async Task Concurrent_1000StreamsDirect_AllHeldOpenAtOnceAndSucceed()
    {
        JsonElement result = await InteropPeers.RunJsonAsync(fixture.GenDirectory, Target, ClientTimeout, "--timeout", "40", "concurrent", "1000");

        Assert.True(result.GetProperty("ok").GetInt32() == 1000, result.ToString());
        Assert.Equal(1000, result.GetProperty("held_open").GetInt32());
    }

    [Fact]
    public async Task Oversize_FiveMegabytesDirect_ServerAcceptsIt()
    {
        // The server takes up to 64 MiB: a RESOURCE_EXHAUSTED through the gateway is the gateway's limit.
        JsonElement result = await InteropPeers.RunJsonAsync(fixture.GenDirectory, Target, ClientTimeout, "oversize", "5000000");

        Assert.Equal("OK", result.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Health_CheckAndControlFile_ReportsPerServiceAndFlips()
    {
        async Task<string> Check(string service)
        {
            JsonElement r = await InteropPeers.RunJsonAsync(fixture.GenDirectory, Target, ClientTimeout, "health", service);
            return r.GetProperty("code").GetString() == "OK" ? r.GetProperty("status").GetString()! : r.GetProperty("code").GetString()!;
        }

        Assert.Equal("SERVING", await Check(""));
        Assert.Equal("SERVING", await Check("grpc.testing.TestService"));
        Assert.Equal("NOT_FOUND", await Check("no.such.Service"));
        try
        {
            await fixture.Server.SetHealthAsync("NOT_SERVING");
            Assert.Equal("NOT_SERVING", await Check(""));
            Assert.Equal("NOT_SERVING", await Check("grpc.testing.TestService"));
        }
        finally
        {
            await fixture.Server.SetHealthAsync("SERVING");
        }

        Assert.Equal("SERVING", await Check(""));
    }

    [Fact]
    public async Task Load_ShortRunDirect_OnlyOkAndEveryCallRecorded()
    {
        ClientResult result = await InteropPeers.RunClientAsync(fixture.GenDirectory, Target, ClientTimeout, "load", "1", "--workers", "4", "--call-ms", "50");

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("STARTED", result.Stdout[0]);
        JsonElement load = result.Json;
        int calls = load.GetProperty("calls").GetArrayLength();
        Assert.True(calls > 10, load.GetProperty("counts").ToString());
        Assert.Equal(calls, load.GetProperty("counts").GetProperty("OK").GetInt32());
    }

    [Fact]
    public async Task TrailersOnly_ErrorStatusFromServer_IsOneHeadersFrame()
    {
        // The raw checker the gateway test uses, proved on the server itself: an error with nothing sent before it is
        // a Trailers-Only response.
        using HttpClient http = RawGrpcClient.H2c();
        RawGrpcResponse response = await RawGrpcClient.CallAsync(
            http,
            $"http://{Target}",
            "/grpc.testing.TestService/UnaryCall",
            GrpcTestWire.Frame(GrpcTestWire.SimpleRequest(0, statusCode: 2, statusMessage: "test status message")),
            "application/grpc");

        Assert.True(response.IsTrailersOnly, response.ToString());
        Assert.Equal("2", response.Headers["grpc-status"]);
        Assert.Equal("test status message", Uri.UnescapeDataString(response.Headers["grpc-message"]));
    }

    [Fact]
    public async Task TimeoutOnSleepingServer_Direct_ServerLogsTheDeadlineItSaw()
    {
        ClientResult result = await InteropPeers.RunClientAsync(fixture.GenDirectory, Target, ClientTimeout, "--sleeping-timeout-ms", "800", "timeout_on_sleeping_server");

        Assert.True(result.ExitCode == 0, result.Output);
        string[] log = await File.ReadAllLinesAsync(fixture.Server.TimeoutLog);
        int[] seen = [.. log.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("grpc_timeout_ms").GetInt32())];
        Assert.Contains(seen, ms => ms is > 0 and <= 818);
    }
}
