using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Transforms;

namespace Fabric.Plugins.Http;

/// <summary>
/// RFC 9110 §7.6.1: a proxy removes, before forwarding a message, every field its <c>Connection</c> header names
/// (<c>Connection: X-Hop</c> makes <c>X-Hop</c> hop-by-hop). YARP drops the fixed hop-by-hop set (Connection,
/// Keep-Alive, Proxy-Connection, Upgrade, TE but trailers, ...) but forwards the fields a Connection header names;
/// this removes them, from requests before YARP copies them and from responses after. Fields the proxy itself routes
/// or frames with (Host, Content-Length, Transfer-Encoding) and Upgrade (WebSocket handshakes) are left alone.
/// <para>
/// Limitation: when a request's Connection header also carries keep-alive, close or upgrade
/// (<c>Connection: keep-alive, X-Hop</c>), Kestrel hands the application only that token, so the other names never
/// reach the proxy and those fields are forwarded.
/// </para>
/// </summary>
internal static class ConnectionNominatedHeaders
{
    private static readonly HashSet<string> Kept = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Upgrade", "Host", "Content-Length", "Transfer-Encoding",
    };

    /// <summary>Proxy pipeline step: removes the request fields the client's Connection header names.</summary>
    public static Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        IHeaderDictionary headers = context.Request.Headers;
        foreach (string name in Nominated(headers.Connection))
        {
            headers.Remove(name);
        }

        return next();
    }

    /// <summary>Response transform: removes the response fields the backend's Connection header names.</summary>
    public static ValueTask TransformResponseAsync(ResponseTransformContext context)
    {
        if (context.ProxyResponse is { } response && response.Headers.Connection.Count > 0)
        {
            foreach (string name in Nominated(response.Headers.Connection))
            {
                context.HttpContext.Response.Headers.Remove(name);
            }
        }

        return ValueTask.CompletedTask;
    }

    private static List<string> Nominated(IEnumerable<string?> values)
    {
        var names = new List<string>();
        foreach (string? value in values)
        {
            foreach (string token in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!Kept.Contains(token))
                {
                    names.Add(token);
                }
            }
        }

        return names;
    }
}
