using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fabric.Samples.Backend;
using Xunit.Abstractions;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// The HTTP driver end to end across two gateway processes (<see cref="TwoGatewayFixture"/>), with real clients:
/// curl, python3-websockets, raw TCP; backends: the gateway's sample backend (HTTP/1.1 and h2c), nginx, python.
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class TwoGatewayHttpTests(TwoGatewayFixture fabric, ITestOutputHelper output) : IClassFixture<TwoGatewayFixture>
{
    private const long TransferBytes = 100L * 1024 * 1024;

    /// <summary>
    /// Peak RSS growth allowed during a 100 MiB transfer: under the body's size, so the body is not buffered. What
    /// legitimately grows is the stream's flow-control window (auto-tuned up to 16 MiB), the pipes' and YARP's pooled
    /// buffers, and the server GC's heap budget, which it sizes to the allocation rate; 35–65 MiB has been seen, the
    /// high end on a loaded machine. A driver that held the body would grow by 100 MiB or more.
    /// </summary>
    private const long MemoryBound = 80L * 1024 * 1024;

    [Fact]
    public async Task Curl_Http11ClientToHttp11Backend_ServedByTheEgressSampleBackend()
    {
        CurlResult hello = await Curl.RunAsync(fabric.Url("/"));
        Assert.True(hello.Status == 200, hello.ToString());
        Assert.Equal("1.1", hello.HttpVersion);
        Assert.Equal("Hello from the Fabric Gateway sample backend (egress). You reached it through the fabric.\n", hello.Body);

        CurlResult headers = await Curl.RunAsync(fabric.Url("/headers"));
        (string protocol, Dictionary<string, string> received) = ParseHeaders(headers);
        Assert.Equal("HTTP/1.1", protocol);
        Assert.Equal("web", received["Host"]); // the destination's host: the service name
    }

    [Fact]
    public async Task Curl_H2cClientToHttp11Backend_Http2AtTheClientHttp11AtTheBackend()
    {
        CurlResult result = await Curl.RunAsync("--http2-prior-knowledge", fabric.H2cUrl("/headers"));

        Assert.True(result.Status == 200, result.ToString());
        Assert.Equal("2", result.HttpVersion);
        (string protocol, Dictionary<string, string> received) = ParseHeaders(result);
        Assert.Equal("HTTP/1.1", protocol);
        Assert.StartsWith("curl/", received["User-Agent"], StringComparison.Ordinal);
        Assert.Equal("web", received["Host"]);
    }

    [Fact]
    public async Task Curl_Http11ClientToH2cBackend_Http11AtTheClientHttp2AtTheBackend()
    {
        CurlResult result = await Curl.RunAsync(fabric.Url("/h2/headers"));

        Assert.True(result.Status == 200, result.ToString());
        Assert.Equal("1.1", result.HttpVersion);
        (string protocol, _) = ParseHeaders(result);
        Assert.Equal("HTTP/2", protocol);
    }

    [Fact]
    public async Task Trailers_H2cClientToH2cBackend_ReachTheClient()
    {
        // curl: the trailer shows in the verbose output as a response header line after the body.
        CurlResult curl = await Curl.RunAsync("-v", "--http2-prior-knowledge", fabric.H2cUrl("/h2/trailers"));
        Assert.True(curl.Status == 200, curl.ToString());
        Assert.Equal("body with a trailer\n", curl.Body);
        Assert.Contains("< x-checksum: fabric-42", curl.Stderr, StringComparison.Ordinal);

        // .NET's HTTP/2 client reads it as a trailing header.
        using HttpClient http = HttpTopology.NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fabric.H2cUrl("/h2/trailers")))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using HttpResponseMessage response = await http.SendAsync(request);
        Assert.Equal("body with a trailer\n", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.True(response.TrailingHeaders.TryGetValues("x-checksum", out IEnumerable<string>? values), $"trailers: {response.TrailingHeaders}");
        Assert.Equal(["fabric-42"], values);

        // An HTTP/1.1 client cannot be given trailers by the ingress (Kestrel sends none on HTTP/1.1); the body is intact.
        CurlResult http11 = await Curl.RunAsync(fabric.Url("/h2/trailers"));
        Assert.True(http11.Status == 200, http11.ToString());
        Assert.Equal("body with a trailer\n", http11.Body);
    }

    [Fact]
    public async Task Upload_100MiB_BackendHashMatchesWhatWasSent_MemoryFlat()
    {
        using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        async Task Feed(Stream stdin)
        {
            byte[] buffer = new byte[256 * 1024];
            ulong state = 0x9E3779B97F4A7C15;
            for (long done = 0; done < TransferBytes; done += buffer.Length)
            {
                Fill(buffer, ref state);
                sent.AppendData(buffer);
                await stdin.WriteAsync(buffer);
            }
        }

        // curl streams stdin as a chunked POST (it cannot know the length).
        (ExecResult result, long[] growth) = await MeasureMemoryAsync(() => Exec.RunAsync(
            PeerScripts.Curl,
            ["-sS", "--fail", "--noproxy", "*", "-X", "POST", "-T", "-", fabric.Url("/upload")],
            TimeSpan.FromSeconds(180),
            stdin: Feed));

        Assert.True(result.ExitCode == 0, result.ToString());
        string expected = $"{Convert.ToHexStringLower(sent.GetHashAndReset())} {TransferBytes}";
        Assert.Equal(expected, result.Stdout.Trim());
        output.WriteLine($"upload 100 MiB in {result.Elapsed.TotalMilliseconds:F0} ms; RSS growth ingress {growth[0] / 1048576.0:F1} MiB, egress {growth[1] / 1048576.0:F1} MiB");
        AssertFlat(growth);
    }

    [Fact]
    public async Task Download_100MiB_HashMatchesTheBackendsPattern_MemoryFlat()
    {
        using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long count = 0;
        async Task Consume(Stream stdout)
        {
            byte[] buffer = new byte[256 * 1024];
            int n;
            while ((n = await stdout.ReadAsync(buffer)) > 0)
            {
                received.AppendData(buffer, 0, n);
                count += n;
            }
        }

        (ExecResult result, long[] growth) = await MeasureMemoryAsync(() => Exec.RunAsync(
            PeerScripts.Curl,
            ["-sS", "--fail", "--noproxy", "*", fabric.Url($"/download?bytes={TransferBytes}")],
            TimeSpan.FromSeconds(180),
            stdout: Consume));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(TransferBytes, count);
        Assert.Equal(ExpectedDownloadHash(TransferBytes), Convert.ToHexStringLower(received.GetHashAndReset()));
        output.WriteLine($"download 100 MiB in {result.Elapsed.TotalMilliseconds:F0} ms; RSS growth ingress {growth[0] / 1048576.0:F1} MiB, egress {growth[1] / 1048576.0:F1} MiB");
        AssertFlat(growth);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerSentEvents_EachEventArrivesWithin100ms(bool h2c)
    {
        const int Events = 20;
        string script = fabric.Temp.File("sse_client.py");
        await File.WriteAllTextAsync(script, PeerScripts.SseClient);
        string url = h2c ? fabric.H2cUrl($"/sse?count={Events}&intervalMs=100") : fabric.Url($"/sse?count={Events}&intervalMs=100");

        // curl reads the stream; the script beside it takes the time each event arrives. The sample backend puts the
        // time it wrote each event in its data line: the gap is the event's latency through ingress, fabric and
        // egress (one clock: same machine).
        ExecResult result = await Exec.RunAsync(PeerScripts.Python, [script, .. h2c ? new[] { "--http2-prior-knowledge" } : [], url], TimeSpan.FromSeconds(90));
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] ids = [.. lines.Where(l => l.StartsWith("id ", StringComparison.Ordinal)).Select(l => l[3..])];
        long[] latencies = [.. lines.Where(l => l.StartsWith("latency ", StringComparison.Ordinal)).Select(l => long.Parse(l[8..], CultureInfo.InvariantCulture))];

        Assert.Equal(Enumerable.Range(0, Events).Select(i => i.ToString(CultureInfo.InvariantCulture)), ids);
        Assert.Equal(Events, latencies.Length);
        long[] sorted = [.. latencies.Order()];
        long median = sorted[Events / 2];
        output.WriteLine($"SSE over {(h2c ? "h2c" : "HTTP/1.1")}: median latency {median} ms, max {sorted[^1]} ms, all: {string.Join(' ', latencies)}");

        // The median, not every event: one event delayed by a busy two-core machine is not the proxy buffering.
        // A proxy that buffered would deliver the events together at the end (seconds late).
        Assert.True(median < 100, $"median SSE latency {median} ms; all: {string.Join(' ', latencies)}");
    }

    [Fact]
    public async Task WebSocket_1000MessagesEchoedInOrder_Python3Websockets()
    {
        string script = fabric.Temp.File("ws_client.py");
        await File.WriteAllTextAsync(script, PeerScripts.WebSocketClient);

        ExecResult result = await Exec.RunAsync(PeerScripts.Python, [script, $"ws://127.0.0.1:{fabric.ProxyPort}/ws", "1000"], TimeSpan.FromSeconds(120));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("ECHOED 1000 IN ORDER", result.Stdout.Trim());
        output.WriteLine($"1000 WebSocket messages echoed in {result.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ForwardedHeaders_ClientsCopiesReplacedByTheIngresssOwn(bool h2c)
    {
        int port = h2c ? fabric.H2cPort : fabric.ProxyPort;
        CurlResult result = await Curl.RunAsync([
            .. h2c ? new[] { "--http2-prior-knowledge" } : [],
            "-H", "X-Forwarded-For: 203.0.113.66",
            "-H", "X-Forwarded-Proto: https",
            "-H", "X-Forwarded-Host: evil.example",
            "-H", "X-Forwarded-Prefix: /evil",
            "-H", "Forwarded: for=203.0.113.66;proto=https;host=evil.example",
            h2c ? fabric.H2cUrl("/headers") : fabric.Url("/headers"),
        ]);

        (_, Dictionary<string, string> received) = ParseHeaders(result);
        Assert.Equal("127.0.0.1", received["X-Forwarded-For"]);
        Assert.Equal("http", received["X-Forwarded-Proto"]);
        Assert.Equal($"127.0.0.1:{port}", received["X-Forwarded-Host"]);
        Assert.False(received.ContainsKey("X-Forwarded-Prefix"), result.Body);
        Assert.False(received.ContainsKey("Forwarded"), result.Body);
        Assert.DoesNotContain("203.0.113.66", result.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HopByHopRequestHeaders_NotForwarded_EndToEndHeadersAre()
    {
        CurlResult result = await Curl.RunAsync(
            "-H", "Connection: keep-alive",
            "-H", "Keep-Alive: timeout=5",
            "-H", "Proxy-Connection: keep-alive",
            "-H", "Upgrade: websocket", // not an upgrade request: Connection does not name upgrade
            "-H", "TE: gzip",
            "-H", "X-End-To-End: kept",
            fabric.Url("/headers"));

        (_, Dictionary<string, string> received) = ParseHeaders(result);
        foreach (string hop in new[] { "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade", "TE" })
        {
            Assert.False(received.ContainsKey(hop), $"{hop} reached the backend: {result.Body}");
        }

        Assert.Equal("kept", received["X-End-To-End"]);
    }

    [Fact]
    public async Task HeadersTheRequestsConnectionHeaderNames_NotForwarded()
    {
        // Connection names two fields hop-by-hop. (Not "keep-alive, X-Hop": Kestrel passes only the keep-alive, close
        // or upgrade token of such a value to the application, so the proxy cannot see the other names.)
        CurlResult result = await Curl.RunAsync(
            "-H", "Connection: X-Secret-Hop, X-Other-Hop",
            "-H", "X-Secret-Hop: for the first hop only",
            "-H", "X-Other-Hop: this one too",
            "-H", "X-End-To-End: kept",
            fabric.Url("/headers"));

        (_, Dictionary<string, string> received) = ParseHeaders(result);
        Assert.False(received.ContainsKey("X-Secret-Hop"), result.Body);
        Assert.False(received.ContainsKey("X-Other-Hop"), result.Body);
        Assert.Equal("kept", received["X-End-To-End"]);
    }

    [Fact]
    public async Task HopByHopResponseHeaders_NotForwarded_EndToEndHeadersAre()
    {
        // The python backend answers with Connection: keep-alive, X-Backend-Hop; X-Backend-Hop; Keep-Alive; Proxy-Connection.
        CurlResult result = await Curl.RunAsync("-D", "-", "-o", "/dev/null", fabric.Url("/py/hop"));
        Assert.True(result.Status == 200, result.ToString());
        string[] headers = result.Body.Split("\r\n");

        Assert.Contains("X-End-To-End: kept", headers);
        foreach (string hop in new[] { "X-Backend-Hop", "Keep-Alive", "Proxy-Connection" })
        {
            Assert.DoesNotContain(headers, h => h.StartsWith(hop + ":", StringComparison.OrdinalIgnoreCase));
        }

        Assert.DoesNotContain(headers, h => h.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase) && h.Contains("X-Backend-Hop", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task TeTrailers_KeptOnHttp2_FromH2cClientToH2cBackend()
    {
        CurlResult result = await Curl.RunAsync("--http2-prior-knowledge", "-H", "TE: trailers", fabric.H2cUrl("/h2/headers"));

        (string protocol, Dictionary<string, string> received) = ParseHeaders(result);
        Assert.Equal("HTTP/2", protocol);
        Assert.Equal("trailers", received["TE"]);
    }

    [Fact]
    public async Task ConflictingMessageLength_Answered400_ConnectionClosed_NothingForwarded()
    {
        string tag = Guid.NewGuid().ToString("N");

        // Content-Length with Transfer-Encoding, a second request smuggled after the chunked body's end.
        string clWithTe = $"POST /rec/cl-te-{tag} HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            + $"GET /rec/smuggled-{tag} HTTP/1.1\r\nHost: x\r\n\r\n";

        // Two different Content-Length headers, and one with two values.
        string twoLengths = $"POST /rec/cl-cl-{tag} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
        string listLength = $"POST /rec/cl-list-{tag} HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!";

        foreach (string attack in new[] { clWithTe, twoLengths, listLength })
        {
            string answer = await RawExchangeAsync(fabric.ProxyPort, attack);
            Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
            Assert.True(answer.EndsWith("<closed>", StringComparison.Ordinal), $"the connection stayed open after the 400:\n{answer}");
            Assert.Single(answer.Split("HTTP/1.1 ").Skip(1)); // one response: the smuggled GET was never read as a request
        }

        // A well-formed request on the same route reaches nginx (the log works) ...
        CurlResult control = await Curl.RunAsync(fabric.Url($"/rec/control-{tag}"));
        Assert.True(control.Status == 200, control.ToString());
        await fabric.WaitUntilAsync(async () => (await File.ReadAllTextAsync(fabric.RecorderLog)).Contains($"control-{tag}", StringComparison.Ordinal), "nginx to log the control request", TimeSpan.FromSeconds(10));

        // ... and none of the refused ones did.
        string log = await File.ReadAllTextAsync(fabric.RecorderLog);
        string[] reached = [.. log.Split('\n').Where(l => l.Contains(tag, StringComparison.Ordinal))];
        Assert.Equal([$"GET /control-{tag} HTTP/1.1"], reached);
    }

    [Fact]
    public async Task SlowBackend_ShorterRouteTimeout_504WithABody()
    {
        // Control: the same route answers when the backend is faster than the 1 s activity timeout.
        CurlResult quick = await Curl.RunAsync(fabric.Url("/timeout/slow?ms=50"));
        Assert.True(quick.Status == 200, quick.ToString());
        Assert.Equal("slow answer\n", quick.Body);

        CurlResult slow = await Curl.RunAsync(fabric.Url("/timeout/slow?ms=15000"));
        output.WriteLine($"504 after {slow.Seconds * 1000:F0} ms");
        Assert.True(slow.Status == 504, slow.ToString());
        Assert.StartsWith("504 Gateway Timeout: the replica of cluster 'slow' did not answer in time", slow.Body, StringComparison.Ordinal);
        Assert.InRange(slow.Seconds, 0.9, 10); // the 1 s timeout, not the backend's 15 s
    }

    [Fact]
    public async Task DeadBackendPort_502Quickly_WithAClearBody()
    {
        CurlResult result = await Curl.RunAsync(fabric.Url("/dead/anything"));

        output.WriteLine($"502 after {result.Seconds * 1000:F0} ms: {result.Body}");
        Assert.True(result.Status == 502, result.ToString());
        Assert.StartsWith("502 Bad Gateway: no replica of cluster 'dead' could be reached", result.Body, StringComparison.Ordinal);
        Assert.True(result.Seconds < 2, $"502 took {result.Seconds:F3} s");
        Assert.False(fabric.Egress.HasExited, fabric.Diagnostics);
    }

    private async Task<(T Result, long[] Growth)> MeasureMemoryAsync<T>(Func<Task<T>> transfer)
    {
        HttpGateway[] gateways = [fabric.Ingress, fabric.Egress];
        long[] before = [.. gateways.Select(g => g.ResidentBytes())];
        long[] peak = [.. before];
        using var stop = new CancellationTokenSource();
        Task sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (int i = 0; i < gateways.Length; i++)
                {
                    peak[i] = Math.Max(peak[i], gateways[i].ResidentBytes());
                }

                try
                {
                    await Task.Delay(20, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        T result;
        try
        {
            result = await transfer();
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
        }

        return (result, [.. peak.Zip(before, (p, b) => p - b)]);
    }

    private static void AssertFlat(long[] growth)
    {
        Assert.True(growth[0] < MemoryBound, $"the ingress's RSS grew by {growth[0] / 1048576.0:F1} MiB during the transfer");
        Assert.True(growth[1] < MemoryBound, $"the egress's RSS grew by {growth[1] / 1048576.0:F1} MiB during the transfer");
    }

    /// <summary>xorshift64: incompressible, reproducible bytes, fast enough to feed curl at link speed.</summary>
    private static void Fill(byte[] buffer, ref ulong state)
    {
        Span<ulong> words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
        for (int i = 0; i < words.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            words[i] = state;
        }
    }

    /// <summary>SHA-256 of the sample backend's /download body (<see cref="SampleBackend.PatternByte"/> at each position).</summary>
    private static string ExpectedDownloadHash(long length)
    {
        const int Block = 1 << 20;
        const int Period = 251;
        byte[] cycle = new byte[Block + Period];
        for (int i = 0; i < cycle.Length; i++)
        {
            cycle[i] = SampleBackend.PatternByte(i);
        }

        Assert.Equal(SampleBackend.PatternByte(Period), SampleBackend.PatternByte(0)); // the pattern's period
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long position = 0; position < length; position += Block)
        {
            int count = (int)Math.Min(Block, length - position);
            hash.AppendData(cycle.AsSpan((int)(position % Period), count));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The sample backend's /headers answer: the protocol it was spoken to with and the headers it received.</summary>
    private static (string Protocol, Dictionary<string, string> Headers) ParseHeaders(CurlResult result)
    {
        Assert.True(result.Status == 200, result.ToString());
        using JsonDocument json = JsonDocument.Parse(result.Body);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (JsonProperty header in json.RootElement.GetProperty("headers").EnumerateObject())
        {
            headers[header.Name] = header.Value.GetString()!;
        }

        return (json.RootElement.GetProperty("protocol").GetString()!, headers);
    }

    /// <summary>Sends raw bytes, reads until the server closes (then appends "&lt;closed&gt;") or 10 s pass.</summary>
    private static async Task<string> RawExchangeAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var received = new StringBuilder();
        byte[] buffer = new byte[16 * 1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, deadline.Token)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            received.Append("<closed>");
        }
        catch (OperationCanceledException)
        {
            received.Append("<still open after 10 s>");
        }
        catch (IOException)
        {
            received.Append("<closed>"); // reset after the answer
        }

        return received.ToString();
    }
}
