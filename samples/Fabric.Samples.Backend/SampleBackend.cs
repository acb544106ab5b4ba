using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fabric.Samples.Backend;

/// <summary>
/// The sample backend the gateway serves on its own port in the default configuration, reached through the fabric
/// like any remote service. Each endpoint exists to show (and test) one thing a reverse proxy must carry intact.
/// </summary>
public static class SampleBackend
{
    /// <summary>Size of the largest download and upload the backend accepts.</summary>
    public const long MaxTransfer = 1L << 30;

    /// <summary>Maps the backend onto a branch of the host's pipeline.</summary>
    public static void Map(IApplicationBuilder branch, string name)
    {
        ArgumentNullException.ThrowIfNull(branch);
        branch.UseWebSockets();
        branch.Run(context => HandleAsync(context, name));
    }

    /// <summary>The byte at position <paramref name="index"/> of a download (so a client can check every byte).</summary>
    public static byte PatternByte(long index) => (byte)(index % 251);

    private static Task HandleAsync(HttpContext context, string name)
    {
        string path = context.Request.Path.Value ?? "/";
        return path switch
        {
            "/" => Text(context, $"Hello from the Fabric Gateway sample backend ({name}). You reached it through the fabric.\n"),
            "/headers" => Headers(context),
            "/echo" => Echo(context),
            "/upload" => Upload(context),
            "/download" => Download(context),
            "/sse" => ServerSentEvents(context),
            "/ws" => WebSocketEcho(context),
            "/slow" => Slow(context),
            "/trailers" => Trailers(context),
            _ when path.StartsWith("/status/", StringComparison.Ordinal) => Status(context, path["/status/".Length..]),
            _ => NotFound(context),
        };
    }

    private static Task Text(HttpContext context, string text)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text);
    }

    private static Task Headers(HttpContext context)
    {
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { method = context.Request.Method, path = context.Request.Path.Value, protocol = context.Request.Protocol, headers }));
    }

    private static async Task Echo(HttpContext context)
    {
        AllowLargeBody(context);
        context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
        await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task Upload(HttpContext context)
    {
        AllowLargeBody(context);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            total += n;
        }

        await Text(context, $"{Convert.ToHexStringLower(sha.GetHashAndReset())} {total}\n").ConfigureAwait(false);
    }

    private static async Task Download(HttpContext context)
    {
        long bytes = Math.Clamp(Number(context, "bytes", 1024), 0, MaxTransfer);
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes;
        byte[] buffer = new byte[64 * 1024];
        for (long offset = 0; offset < bytes; offset += buffer.Length)
        {
            int count = (int)Math.Min(buffer.Length, bytes - offset);
            for (int i = 0; i < count; i++)
            {
                buffer[i] = PatternByte(offset + i);
            }

            await context.Response.Body.WriteAsync(buffer.AsMemory(0, count), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task ServerSentEvents(HttpContext context)
    {
        int count = (int)Math.Clamp(Number(context, "count", 5), 1, 10_000);
        int interval = (int)Math.Clamp(Number(context, "intervalMs", 100), 0, 60_000);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        for (int i = 0; i < count; i++)
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await context.Response.WriteAsync($"id: {i}\ndata: {now}\n\n", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            if (i + 1 < count)
            {
                await Task.Delay(interval, context.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    private static async Task WebSocketEcho(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await Text(context, "expected a WebSocket upgrade\n").ConfigureAwait(false);
            return;
        }

        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task Slow(HttpContext context)
    {
        await Task.Delay((int)Math.Clamp(Number(context, "ms", 1000), 0, 600_000), context.RequestAborted).ConfigureAwait(false);
        await Text(context, "slow answer\n").ConfigureAwait(false);
    }

    private static async Task Trailers(HttpContext context)
    {
        context.Response.DeclareTrailer("x-checksum");
        await Text(context, "body with a trailer\n").ConfigureAwait(false);
        if (context.Response.SupportsTrailers())
        {
            context.Response.AppendTrailer("x-checksum", "fabric-42");
        }
    }

    private static Task Status(HttpContext context, string code)
    {
        context.Response.StatusCode = int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out int status) && status is >= 200 and <= 599 ? status : 400;
        return Text(context, $"status {context.Response.StatusCode}\n");
    }

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Text(context, "no such sample endpoint; try /, /headers, /echo, /upload, /download?bytes=N, /sse, /ws, /slow?ms=N, /trailers, /status/N\n");
    }

    /// <summary>Lifts Kestrel's default request body limit (30,000,000 bytes) to <see cref="MaxTransfer"/>.</summary>
    private static void AllowLargeBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxTransfer;
        }
    }

    private static long Number(HttpContext context, string key, long fallback)
        => long.TryParse(context.Request.Query[key], NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : fallback;
}
