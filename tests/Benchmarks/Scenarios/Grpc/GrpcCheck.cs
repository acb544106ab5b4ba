using System.Net;
using System.Net.Http.Headers;
using Benchmarks.Scenarios.Http;

namespace Benchmarks.Scenarios.Grpc;

/// <summary>What a batch of checked calls found: how many failed, and the first failure (a short token for the RESULT line, and the detail).</summary>
internal sealed record GrpcCheckResult(int Calls, int Failed, string? Token, string? Detail);

/// <summary>
/// Real gRPC calls through a path, checked the way a gRPC client would: HTTP/2 with prior knowledge (no TLS),
/// HTTP 200, <c>content-type: application/grpc</c>, exactly the backend's reply message, and <c>grpc-status: 0</c> in
/// the trailers. h2load counts any HTTP 200 as a success, so these checks run before and after each path's load.
/// </summary>
internal static class GrpcCheck
{
    /// <summary>Calls until one succeeds (a path that just started may not have its route yet); throws after <paramref name="timeout"/>.</summary>
    public static async Task WaitReadyAsync(int port, TimeSpan timeout, IReadOnlyList<ChildProcess> started)
    {
        using HttpMessageInvoker client = Client();
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (true)
        {
            (string Token, string Detail)? failure = await CallAsync(client, port);
            if (failure is null)
            {
                return;
            }

            last = failure.Value.Detail;
            if (started.FirstOrDefault(p => p.HasExited) is { } died)
            {
                throw new InvalidOperationException($"{died.Name} exited:\n{died.Tail()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"no successful gRPC call to 127.0.0.1:{port}{EchoMessages.Path} within {timeout.TotalSeconds:0} s (last: {last})\n{string.Join('\n', started.Select(p => p.Tail(10)))}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary><paramref name="calls"/> checked calls, <paramref name="parallel"/> at a time over one client (HTTP/2 multiplexing).</summary>
    public static async Task<GrpcCheckResult> RunAsync(int port, int calls, int parallel)
    {
        using HttpMessageInvoker client = Client();
        int failed = 0;
        (string Token, string Detail)? first = null;
        var gate = new Lock();
        await Parallel.ForEachAsync(Enumerable.Range(0, calls), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (_, _) =>
        {
            (string Token, string Detail)? failure = await CallAsync(client, port);
            if (failure is not null)
            {
                lock (gate)
                {
                    failed++;
                    first ??= failure;
                }
            }
        });
        return new GrpcCheckResult(calls, failed, first?.Token, first?.Detail);
    }

    private static HttpMessageInvoker Client() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    });

    /// <summary>One call; null when it was right, else a token (e.g. <c>grpc_status_14</c>) and what was wrong.</summary>
    private static async Task<(string Token, string Detail)?> CallAsync(HttpMessageInvoker client, int port)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{port}{EchoMessages.Path}"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(EchoMessages.RequestFrame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        try
        {
            using HttpResponseMessage response = await client.SendAsync(request, timeout.Token);
            byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token);

            // Trailers-only responses (errors) carry grpc-status in the headers.
            string? status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
            string? message = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return ($"http_{(int)response.StatusCode}", $"HTTP {(int)response.StatusCode}{(status is null ? "" : $", grpc-status {status} {message}")}");
            }

            if (status is null)
            {
                return ("no_grpc_status", $"HTTP 200 without grpc-status ({body.Length} bytes)");
            }

            if (status != "0")
            {
                return ($"grpc_status_{status}", $"grpc-status {status}: {Uri.UnescapeDataString(message ?? "")}");
            }

            if (response.Content.Headers.ContentType?.MediaType != "application/grpc")
            {
                return ("content_type", $"content-type {response.Content.Headers.ContentType}");
            }

            if (!body.AsSpan().SequenceEqual(EchoMessages.ReplyFrame))
            {
                return ("wrong_reply", $"reply of {body.Length} bytes is not the backend's {EchoMessages.ReplyFrame.Length}-byte message");
            }

            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return (ex is OperationCanceledException ? "timeout" : "transport", ex.InnerException is null ? ex.Message : $"{ex.Message} ({ex.InnerException.Message})");
        }
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
}
