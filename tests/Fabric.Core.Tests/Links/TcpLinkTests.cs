using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Fabric.Core.Links;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Links;

/// <summary>Sessions over real loopback TCP: TcpLinkListener on 127.0.0.1 port 0 and TcpLink.ConnectAsync.</summary>
public class TcpLinkTests
{
    public TcpLinkTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task SessionPair_OverLoopbackTcp_EchoesBothWays()
    {
        await using var tcp = await TcpSessionPair.StartAsync();
        var (a, b) = await tcp.Client.OpenPairAsync(tcp.Server);
        byte[] payload = RandomNumberGenerator.GetBytes(2_000_000);

        Task echo = Task.Run(async () =>
        {
            await b.CopyToAsync(b).WaitAsync(TestTimeouts.Long);
            b.CompleteWrites();
        });
        Task send = Task.Run(async () =>
        {
            await a.WriteAsync(payload).WaitAsync(TestTimeouts.Long);
            a.CompleteWrites();
        });
        Assert.Equal(payload, await a.ReadToEndAsync());
        await Task.WhenAll(echo, send).WaitAsync(TestTimeouts.Short);
        await Eventually.TrueAsync(() => tcp.Client.ActiveStreamCount == 0 && tcp.Server.ActiveStreamCount == 0, "stream closed on both sides");
    }

    [Fact]
    public async Task ManyStreams_OverLoopbackTcp_AllEchoIntactAcrossClasses()
    {
        await using var tcp = await TcpSessionPair.StartAsync();
        var streams = new List<(FabricStream A, FabricStream B, byte[] Payload)>();
        for (int i = 0; i < 16; i++)
        {
            var (a, b) = await tcp.Client.OpenPairAsync(tcp.Server, (TrafficClass)(i % 4));
            streams.Add((a, b, RandomNumberGenerator.GetBytes(20_000 + (i * 37_000))));
        }

        await Task.WhenAll(streams.Select(s => Task.Run(async () =>
        {
            Task echo = Task.Run(async () =>
            {
                await s.B.CopyToAsync(s.B).WaitAsync(TestTimeouts.Long);
                s.B.CompleteWrites();
            });
            Task<byte[]> back = s.A.ReadToEndAsync();
            await s.A.WriteAsync(s.Payload).WaitAsync(TestTimeouts.Long);
            s.A.CompleteWrites();
            Assert.Equal(s.Payload, await back.WaitAsync(TestTimeouts.Long));
            await echo.WaitAsync(TestTimeouts.Short);
        }))).WaitAsync(TestTimeouts.Long);

        await Eventually.TrueAsync(() => tcp.Client.ActiveStreamCount == 0 && tcp.Server.ActiveStreamCount == 0, "all streams closed");
        Assert.Equal(0, tcp.Client.Statistics.ProtocolErrors + tcp.Server.Statistics.ProtocolErrors);
    }

    [Fact]
    public async Task GetNotSentLowWatermark_DefaultOptions_16KiBOnLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // TCP_NOTSENT_LOWAT is Linux-only
        }

        await using var tcp = await TcpSessionPair.StartAsync();
        Assert.Equal(16384, tcp.ClientLink.GetNotSentLowWatermark());
        Assert.Equal(16384, tcp.ServerLink.GetNotSentLowWatermark());
    }

    [Fact]
    public async Task Abort_OneLink_PeerSessionEndsWithLinkLost()
    {
        await using var tcp = await TcpSessionPair.StartAsync();
        var (_, b) = await tcp.Client.OpenPairAsync(tcp.Server);
        Task<int> pendingRead = b.ReadAsync(new byte[16]).AsTask();

        tcp.ClientLink.Abort(); // RST

        await tcp.Server.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.LinkLost, tcp.Server.CloseError?.Code);
        FabricSessionException readError = await Assert.ThrowsAsync<FabricSessionException>(() => pendingRead.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.LinkLost, readError.Code);
        await tcp.Client.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.LinkLost, tcp.Client.CloseError?.Code);
        UnobservedExceptions.AssertNoneFromFabricCore();
    }

    [Fact]
    public async Task DisposeAsync_Session_BothSidesCloseTheirSendingDirectionAndFinishQuickly()
    {
        await using var tcp = await TcpSessionPair.StartAsync();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await tcp.Client.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await tcp.Server.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Null(tcp.Server.CloseError);

        // Each side shuts down its sending direction once its GOAWAY is out, so neither waits for the other's
        // close grace period (2 s) to tear the connection down.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"graceful close over TCP took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task GoAwayAsync_OverTcp_BothSidesCloseCleanlyAndQuickly()
    {
        await using var tcp = await TcpSessionPair.StartAsync();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await tcp.Server.GoAwayAsync().WaitAsync(TestTimeouts.Short);
        await tcp.Client.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Null(tcp.Server.CloseError);
        Assert.Null(tcp.Client.CloseError);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"drain over TCP took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Listener_Disposed_PendingAcceptFailsAndPortRefusesConnections()
    {
        TcpLinkListener listener = TcpLinkListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        IPEndPoint endPoint = listener.LocalEndPoint;
        Assert.NotEqual(0, endPoint.Port);
        Task<TcpLink> accept = listener.AcceptAsync().AsTask();

        await listener.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);

        Exception acceptError = await Assert.ThrowsAnyAsync<Exception>(() => accept.WaitAsync(TestTimeouts.Short));
        Assert.True(acceptError is SocketException or ObjectDisposedException or OperationCanceledException, acceptError.ToString());
        SocketException connectError = await Assert.ThrowsAsync<SocketException>(() => TcpLink.ConnectAsync(endPoint).WaitAsync(TestTimeouts.Short));
        Assert.Equal(SocketError.ConnectionRefused, connectError.SocketErrorCode);
    }

    [Fact]
    public async Task ConnectAsync_ClosedLocalPort_SocketExceptionConnectionRefused()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // a port nothing listens on
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        SocketException error = await Assert.ThrowsAsync<SocketException>(
            () => TcpLink.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), new TcpLinkOptions { ConnectTimeout = TimeSpan.FromSeconds(2) }).WaitAsync(TestTimeouts.Short));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
