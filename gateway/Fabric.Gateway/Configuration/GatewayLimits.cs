using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Fabric.Gateway.Configuration;

/// <summary>
/// <c>Gateway:Limits</c> checked at start (each value in its range, the key named when not) and applied to Kestrel,
/// so every HTTP listener of the host — the admin API and every driver's — bounds what a slow or abusive client can
/// hold: header time, keep-alive time, header count and size, request line size, minimum body rate.
/// </summary>
public sealed class GatewayLimits
{
    private readonly GatewayLimitsSection _section;

    private GatewayLimits(GatewayLimitsSection section) => _section = section;

    /// <summary>Checks every value; throws <see cref="ConfigurationException"/> naming the first wrong key.</summary>
    public static GatewayLimits Read(GatewayLimitsSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        InRange("RequestHeadersTimeoutSeconds", section.RequestHeadersTimeoutSeconds, 0.1, 3600);
        InRange("KeepAliveTimeoutSeconds", section.KeepAliveTimeoutSeconds, 0.1, 86400);
        InRange("MaxRequestHeaderCount", section.MaxRequestHeaderCount, 1, 10_000);
        InRange("MaxRequestHeadersTotalSize", section.MaxRequestHeadersTotalSize, 1024, 16 * 1024 * 1024);
        InRange("MaxRequestLineSize", section.MaxRequestLineSize, 256, 1024 * 1024);
        InRange("MinRequestBodyBytesPerSecond", section.MinRequestBodyBytesPerSecond, 0, 1e9);
        return new GatewayLimits(section);
    }

    /// <summary>Sets the limits on Kestrel.</summary>
    public void Apply(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        KestrelServerLimits limits = kestrel.Limits;
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(_section.RequestHeadersTimeoutSeconds);
        limits.KeepAliveTimeout = TimeSpan.FromSeconds(_section.KeepAliveTimeoutSeconds);
        limits.MaxRequestHeaderCount = _section.MaxRequestHeaderCount;
        limits.MaxRequestHeadersTotalSize = _section.MaxRequestHeadersTotalSize;
        limits.MaxRequestLineSize = _section.MaxRequestLineSize;
        limits.MinRequestBodyDataRate = _section.MinRequestBodyBytesPerSecond > 0
            ? new MinDataRate(_section.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5))
            : null;
    }

    private static void InRange(string name, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw new ConfigurationException(
                $"{GatewaySection.Name}:Limits:{name}",
                $"{value.ToString(CultureInfo.InvariantCulture)} is outside {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
