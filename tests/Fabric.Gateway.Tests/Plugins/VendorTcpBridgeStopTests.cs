using System.Net;
using System.Net.Sockets;
using System.Text;
using Fabric.Gateway.Tests.Http;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// SIGTERM to a gateway whose plugin holds raw TCP client connections (the sample vendor plugin's listener): Kestrel
/// waits for every connection before the host goes on stopping, so a plugin that ignored Kestrel's close request
/// would hold the stop until the host's budget ran out (45 s here, and then a crash with an unhandled exception).
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class VendorTcpBridgeStopTests : HttpTopology
{
    private readonly int _listen = GatewayProcess.FreePort();
    private HttpGateway _gateway = null!;

    protected override Task StartAsync()
    {
        int fabric = GatewayProcess.FreePort();
        MakeKeys("single");
        _gateway = StartGateway("single", [
            ("Fabric:Listen", $"127.0.0.1:{fabric}"),
            ("Fabric:Peers:0:Address", $"127.0.0.1:{fabric}"),
            ("Fabric:Peers:0:PublicKey", "self"),
            ("Plugins:Disabled:0", "http"),
            ("Plugins:Disabled:1", "grpc"),
            ("Plugins:Settings:sample.vendor:Service", "upper"),
            ("Plugins:Settings:sample.vendor:Listen:0", $"127.0.0.1:{_listen}"),
        ]);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Sigterm_WithBridgedClientsOpen_ClosesThemAndExitsCleanlyAtOnce()
    {
        await _gateway.WaitPluginsSettledAsync(Startup);

        // One client mid-conversation (answered once, still connected), one that never sent a byte.
        TcpClient? talking = null;
        try
        {
            await WaitUntilAsync(
                async () =>
                {
                    talking?.Dispose();
                    talking = new TcpClient();
                    await talking.ConnectAsync(IPAddress.Loopback, _listen);
                    NetworkStream stream = talking.GetStream();
                    await stream.WriteAsync(Encoding.UTF8.GetBytes("hello\n"));
                    byte[] answer = new byte[6];
                    await stream.ReadExactlyAsync(answer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                    return Encoding.UTF8.GetString(answer) == "HELLO\n"; // not yet: "ERROR 18 ..." while the self-link comes up
                },
                "an answer through the plugin's listener",
                Startup);
            await StopAndCheckAsync(talking!.GetStream());
        }
        finally
        {
            talking?.Dispose();
        }
    }

    private async Task StopAndCheckAsync(NetworkStream talk)
    {
        using var idle = new TcpClient();
        await idle.ConnectAsync(IPAddress.Loopback, _listen);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        _gateway.Terminate();

        Assert.True(await _gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"the gateway did not exit within 60 s of SIGTERM:\n{Diagnostics}");
        TimeSpan took = clock.Elapsed;
        Assert.True(took < TimeSpan.FromSeconds(10), $"SIGTERM to exit took {took.TotalSeconds:F1} s (open client connections held the stop?):\n{Diagnostics}");
        Assert.True(_gateway.ExitCode == 0, $"exit code {_gateway.ExitCode}:\n{Diagnostics}");
        Assert.DoesNotContain("Unhandled exception", _gateway.Output, StringComparison.Ordinal);

        // Both clients see their connection end.
        Assert.Equal(0, await ReadEndAsync(talk));
        Assert.Equal(0, await ReadEndAsync(idle.GetStream()));
    }

    /// <summary>0 when the connection ended (FIN or reset); fails if it stays open.</summary>
    private static async Task<int> ReadEndAsync(NetworkStream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (IOException)
        {
            return 0; // reset
        }
    }
}
