using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Fabric.Plugins.Shared;

/// <summary>
/// A driver's listeners on the host's Kestrel: <c>http</c> (HTTP/1.1), <c>h2c</c> (HTTP/2 with prior knowledge) and
/// <c>https</c> (TLS, HTTP/1.1 and h2 by ALPN, with the driver's PEM certificate), all behind one connection cap.
/// </summary>
internal static class DriverListeners
{
    /// <summary>The PEM certificate and key for https listeners, or null when there is none.</summary>
    public static X509Certificate2? LoadCertificate(IEnumerable<(IPEndPoint EndPoint, string Scheme)> listen, string certificatePath, string keyPath)
        => listen.Any(l => l.Scheme == "https")
            ? X509Certificate2.CreateFromPemFile(certificatePath, string.IsNullOrWhiteSpace(keyPath) ? null : keyPath)
            : null;

    /// <summary>Adds each listener to Kestrel.</summary>
    public static void Listen(KestrelServerOptions kestrel, IEnumerable<(IPEndPoint EndPoint, string Scheme)> listen, X509Certificate2? certificate, ConnectionLimit limit)
    {
        foreach ((IPEndPoint endPoint, string scheme) in listen)
        {
            kestrel.Listen(endPoint, l =>
            {
                l.Use(limit.Wrap);
                switch (scheme)
                {
                    case "h2c":
                        l.Protocols = HttpProtocols.Http2;
                        break;
                    case "https":
                        l.Protocols = HttpProtocols.Http1AndHttp2;
                        l.UseHttps(certificate ?? throw new InvalidOperationException($"https listener {endPoint} without a certificate"));
                        break;
                    default:
                        l.Protocols = HttpProtocols.Http1;
                        break;
                }
            });
        }
    }
}
