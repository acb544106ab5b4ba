using System.Net;
using System.Text;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// HttpClient with a SocketsHttpHandler whose ConnectCallback opens a FabricStream, against a tiny HTTP/1.1
/// responder on the accepting session: several requests reuse one kept-alive connection (one stream).
/// </summary>
public class HttpClientOverFabricStreamTests
{
    [Theory]
    [InlineData(TrafficClass.Interactive)]
    [InlineData(TrafficClass.Reliable)]
    public async Task HttpClient_KeepAlive_SeveralRequestsOnOneStream(TrafficClass trafficClass)
    {
        await using var pair = await SessionPair.StartAsync();
        using var serverStop = new CancellationTokenSource();
        Task server = ServeAsync(pair.B, serverStop.Token);

        int connects = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                Interlocked.Increment(ref connects);
                return await pair.A.OpenStreamAsync(0x0200, "http", trafficClass, cancellationToken).WaitAsync(TestTimeouts.Short);
            },
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        using var client = new HttpClient(handler) { BaseAddress = new Uri("http://fabric.test/"), Timeout = TestTimeouts.Short };

        for (int i = 0; i < 5; i++)
        {
            string body = await client.GetStringAsync($"/items/{i}").WaitAsync(TestTimeouts.Short);
            Assert.Equal($"GET /items/{i} 0", body);
        }

        using (HttpResponseMessage post = await client.PostAsync("/upload", new ByteArrayContent(new byte[100_000])).WaitAsync(TestTimeouts.Short))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
            Assert.Equal("POST /upload 100000", await post.Content.ReadAsStringAsync().WaitAsync(TestTimeouts.Short));
        }

        string large = await client.GetStringAsync("/large").WaitAsync(TestTimeouts.Short);
        Assert.Equal(300_000 + "GET /large 0".Length, large.Length);

        Assert.Equal(1, connects);
        Assert.Equal(1, pair.B.Statistics.StreamsOpenedByPeer);

        client.Dispose(); // closes the connection: the stream ends, the responder sees end of stream
        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "HTTP connection stream closed");
        await serverStop.CancelAsync().WaitAsync(TestTimeouts.Short);
        await server.WaitAsync(TestTimeouts.Short);
    }

    private static async Task ServeAsync(FabricSession session, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (await session.AcceptStreamAsync(cancellationToken).WaitAsync(TestTimeouts.Long) is { } stream)
            {
                connections.Add(Task.Run(() => ServeConnectionAsync(stream), CancellationToken.None));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(connections).WaitAsync(TestTimeouts.Short, CancellationToken.None);
    }

    /// <summary>A minimal HTTP/1.1 responder: Content-Length bodies only, keep-alive until the client closes.</summary>
    private static async Task ServeConnectionAsync(FabricStream stream)
    {
        await using (stream)
        {
            var pending = new List<byte>();
            byte[] buffer = new byte[16 * 1024];
            while (true)
            {
                int headerEnd;
                while ((headerEnd = IndexOfHeaderEnd(pending)) < 0)
                {
                    int n = await stream.ReadAsync(buffer).WaitAsync(TestTimeouts.Short);
                    if (n == 0)
                    {
                        return; // client closed the connection
                    }

                    pending.AddRange(buffer.AsSpan(0, n));
                }

                string[] head = Encoding.ASCII.GetString(pending.GetRange(0, headerEnd).ToArray()).Split("\r\n");
                pending.RemoveRange(0, headerEnd + 4);
                string[] requestLine = head[0].Split(' ');
                int contentLength = head.Skip(1)
                    .Where(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    .Select(h => int.Parse(h["Content-Length:".Length..].Trim()))
                    .FirstOrDefault();
                while (pending.Count < contentLength)
                {
                    int n = await stream.ReadAsync(buffer).WaitAsync(TestTimeouts.Short);
                    Assert.True(n > 0, "request body cut short");
                    pending.AddRange(buffer.AsSpan(0, n));
                }

                pending.RemoveRange(0, contentLength);
                string body = $"{requestLine[0]} {requestLine[1]} {contentLength}";
                if (requestLine[1] == "/large")
                {
                    body = new string('x', 300_000) + body;
                }

                byte[] response = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                await stream.WriteAsync(response).WaitAsync(TestTimeouts.Short);
            }
        }
    }

    private static int IndexOfHeaderEnd(List<byte> bytes)
    {
        for (int i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
