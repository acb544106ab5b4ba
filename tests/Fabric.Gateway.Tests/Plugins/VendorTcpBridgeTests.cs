using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Fabric.Gateway.Tests.Http;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// The shipped sample vendor plugin (plugins/sample.vendor, subprotocol 0x2201) end to end in two gateway processes,
/// loaded like any stranger's plugin: TCP clients on the front node's plugin listener are carried over the encrypted
/// fabric to the replica the other node hosts, which answers each line in upper case. The shape of an MQTT or SMTP
/// driver: a raw TCP listener in a plugin, one fabric stream per client connection.
/// </summary>
public sealed class VendorTcpBridgeTests(VendorTcpBridgeTests.Topology topology) : IClassFixture<VendorTcpBridgeTests.Topology>
{
    [Fact]
    public async Task Lines_CrossTheFabric_AnsweredInUpperCase_HalfCloseEndsTheExchange()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, topology.FrontPort);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes("hello\nfabric gateway\nπ\n"));
        client.Client.Shutdown(SocketShutdown.Send);

        Assert.Equal("HELLO\nFABRIC GATEWAY\nΠ\n", await ReadToEndAsync(stream));
    }

    [Fact]
    public async Task ManyClientsAtOnce_EachGetsItsOwnAnswers()
    {
        string[] answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, topology.FrontPort);
            NetworkStream stream = client.GetStream();
            for (int line = 0; line < 20; line++)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes($"client {i} line {line}\n"));
            }

            client.Client.Shutdown(SocketShutdown.Send);
            return await ReadToEndAsync(stream);
        }));

        for (int i = 0; i < answers.Length; i++)
        {
            Assert.Equal(string.Concat(Enumerable.Range(0, 20).Select(line => $"CLIENT {i} LINE {line}\n")), answers[i]);
        }
    }

    [Fact]
    public async Task ALineOverTheReplicasLimit_TheReplicaResetsTheStream_TheClientConnectionCloses()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, topology.FrontPort);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes("short\n"));
        await stream.WriteAsync(new byte[8192].Select(_ => (byte)'x').ToArray()); // no newline within 4 KiB

        // The answer to the first line, then the end (the client is not left hanging).
        string received = await ReadToEndAsync(stream, allowReset: true);
        Assert.StartsWith("SHORT\n", received, StringComparison.Ordinal);
        Assert.DoesNotContain("XXXX", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATargetNoNodeHosts_TheClientIsToldInOneLine()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, topology.NowherePort);
        string received = await ReadToEndAsync(client.GetStream());

        Assert.StartsWith("ERROR 18 ", received, StringComparison.Ordinal); // 0x12 NO_ROUTE
        Assert.Contains("nowhere", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIdleClient_IsClosedAfterTheIdleTimeout_AClientThatKeepsTalkingIsNot()
    {
        using var idle = new TcpClient();
        await idle.ConnectAsync(IPAddress.Loopback, topology.FrontPort);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Meanwhile a client sends a line every 0.8 s for longer than the timeout: activity keeps it open.
        using var talking = new TcpClient();
        await talking.ConnectAsync(IPAddress.Loopback, topology.FrontPort);
        NetworkStream talk = talking.GetStream();
        Task<string> talked = Task.Run(async () =>
        {
            for (int i = 0; i < 7; i++)
            {
                await talk.WriteAsync(Encoding.UTF8.GetBytes($"line {i}\n"));
                await Task.Delay(800);
            }

            talking.Client.Shutdown(SocketShutdown.Send);
            return await ReadToEndAsync(talk);
        });

        string idleGot = await ReadToEndAsync(idle.GetStream(), allowReset: true);
        TimeSpan closedAfter = clock.Elapsed;
        Assert.Equal("", idleGot);
        Assert.True(closedAfter >= Topology.IdleTimeout - TimeSpan.FromMilliseconds(100), $"closed after {closedAfter.TotalSeconds:F1} s, before the {Topology.IdleTimeout.TotalSeconds} s idle timeout");
        Assert.True(closedAfter < Topology.IdleTimeout + TimeSpan.FromSeconds(10), $"closed only after {closedAfter.TotalSeconds:F1} s");

        Assert.Equal(string.Concat(Enumerable.Range(0, 7).Select(i => $"LINE {i}\n")), await talked);
    }

    [Fact]
    public async Task BothNodes_ListThePluginRunning_AndTheBackNodesReplica()
    {
        foreach (HttpGateway gateway in new[] { topology.Front, topology.Back })
        {
            JsonElement plugins = await gateway.GetJsonAsync("/plugins");
            JsonElement vendor = plugins.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "sample.vendor");
            Assert.Equal("Running", vendor.GetProperty("state").GetString());
        }

        JsonElement services = await topology.Front.GetJsonAsync("/services");
        Assert.Contains(services.EnumerateArray(), s => s.GetProperty("service").GetString() == "upper");
    }

    private static async Task<string> ReadToEndAsync(NetworkStream stream, bool allowReset = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        byte[] buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (IOException) when (allowReset)
        {
            // closed with a reset: what arrived before counts
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }

    /// <summary>
    /// Gateways with only the sample vendor plugin: <c>back</c> hosts the service <c>upper</c>; <c>front</c> links to
    /// it and bridges its plugin listener to <c>upper</c>; <c>nowhere</c>, on its own, bridges its listener to a
    /// service no node hosts.
    /// </summary>
    public sealed class Topology : HttpTopology
    {
        /// <summary>The front node's IdleTimeoutSeconds.</summary>
        public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(3);

        public int FrontPort { get; } = GatewayProcess.FreePort();

        public int NowherePort { get; } = GatewayProcess.FreePort();

        internal HttpGateway Front { get; private set; } = null!;

        internal HttpGateway Back { get; private set; } = null!;

        protected override async Task StartAsync()
        {
            int frontFabric = GatewayProcess.FreePort(), backFabric = GatewayProcess.FreePort(), nowhereFabric = GatewayProcess.FreePort();
            MakeKeys("front", "back", "nowhere");
            (string, string)[] onlyVendor = [("Plugins:Disabled:0", "http"), ("Plugins:Disabled:1", "grpc")];

            Back = StartGateway("back", [
                .. FabricSettings("back", backFabric, ("front", frontFabric)),
                .. onlyVendor,
                ("Plugins:Settings:sample.vendor:Service", "upper"),
            ]);
            Front = StartGateway("front", [
                .. FabricSettings("front", frontFabric, ("back", backFabric)),
                .. onlyVendor,
                ("Plugins:Settings:sample.vendor:Listen:0", $"127.0.0.1:{FrontPort}"),
                ("Plugins:Settings:sample.vendor:Target", "upper"),
                ("Plugins:Settings:sample.vendor:IdleTimeoutSeconds", $"{IdleTimeout.TotalSeconds}"),
            ]);
            HttpGateway nowhere = StartGateway("nowhere", [
                .. FabricSettings("nowhere", nowhereFabric),
                .. onlyVendor,
                ("Plugins:Settings:sample.vendor:Listen:0", $"127.0.0.1:{NowherePort}"),
                ("Plugins:Settings:sample.vendor:Target", "nowhere"),
            ]);

            foreach (HttpGateway gateway in new[] { Back, Front, nowhere })
            {
                await gateway.WaitPluginsSettledAsync(Startup);
            }

            // The front node has learned the back node's replica.
            await WaitUntilAsync(
                async () => (await Front.GetJsonAsync("/services")).EnumerateArray().Any(s => s.GetProperty("service").GetString() == "upper"),
                "the front node's directory to list 'upper'",
                Startup);
        }
    }
}
