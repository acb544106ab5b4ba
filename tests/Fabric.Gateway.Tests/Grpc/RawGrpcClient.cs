using System.Net;
using System.Net.Http.Headers;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>A gRPC or gRPC-Web response as it came off the wire: status line, headers, body bytes, trailers.</summary>
internal sealed record RawGrpcResponse(HttpStatusCode Status, Version Version, Dictionary<string, string> Headers, byte[] Body, Dictionary<string, string> Trailers)
{
    /// <summary>A Trailers-Only response: grpc-status in the one HEADERS frame, no body, no trailers.</summary>
    public bool IsTrailersOnly => Headers.ContainsKey("grpc-status") && Body.Length == 0 && Trailers.Count == 0;

    public override string ToString() =>
        $"HTTP/{Version} {(int)Status}; headers: {string.Join(", ", Headers.Select(h => $"{h.Key}={h.Value}"))}; body {Body.Length} bytes; trailers: {string.Join(", ", Trailers.Select(h => $"{h.Key}={h.Value}"))}";
}

/// <summary>Hand-built gRPC calls with HttpClient: HTTP/2 with prior knowledge (h2c) for gRPC, HTTP/1.1 for gRPC-Web.</summary>
internal static class RawGrpcClient
{
    /// <summary>An HTTP/2-only client: http:// URIs go out as h2c with prior knowledge.</summary>
    public static HttpClient H2c() => new(new SocketsHttpHandler { UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>An HTTP/1.1-only client (gRPC-Web from a browser-like client).</summary>
    public static HttpClient Http11() => new(new SocketsHttpHandler { UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>POSTs one framed message to <paramref name="method"/> (/package.Service/Method) and reads everything back.</summary>
    public static async Task<RawGrpcResponse> CallAsync(HttpClient http, string baseAddress, string method, byte[] body, string contentType, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress + method))
        {
            Version = http.DefaultRequestVersion,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (contentType.StartsWith("application/grpc-web", StringComparison.Ordinal))
        {
            request.Headers.TryAddWithoutValidation("x-grpc-web", "1");
            request.Headers.TryAddWithoutValidation("accept", accept ?? contentType);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("te", "trailers");
        }

        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        byte[] bytes = await response.Content.ReadAsByteArrayAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, IEnumerable<string>> h in response.Headers.Concat(response.Content.Headers))
        {
            headers[h.Key.ToLowerInvariant()] = string.Join(",", h.Value);
        }

        var trailers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, IEnumerable<string>> h in response.TrailingHeaders)
        {
            trailers[h.Key.ToLowerInvariant()] = string.Join(",", h.Value);
        }

        return new RawGrpcResponse(response.StatusCode, response.Version, headers, bytes, trailers);
    }
}
