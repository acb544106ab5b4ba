namespace Fabric.Core.Subprotocols;

/// <summary>The ids the fabric itself assigns (docs/SUBPROTOCOLS.md keeps the full list).</summary>
public static class CoreSubprotocols
{
    /// <summary>The per-link control stream: manifests, node and service announcements, pressure.</summary>
    public const ushort Control = 0x0001;

    /// <summary>A stream relayed towards another node, end-to-end encrypted between the two end nodes.</summary>
    public const ushort Relay = 0x0002;

    /// <summary>Diagnostics: echoes what it receives.</summary>
    public const ushort Echo = 0x0003;

    /// <summary>HTTP/1.1 and HTTP/2 connections (the HTTP driver).</summary>
    public const ushort Http = 0x0100;

    /// <summary>gRPC calls (the gRPC driver).</summary>
    public const ushort Grpc = 0x0101;

    /// <summary>MQTT sessions (the MQTT driver).</summary>
    public const ushort Mqtt = 0x0102;

    /// <summary>SMTP transactions (the SMTP driver).</summary>
    public const ushort Smtp = 0x0103;
}
