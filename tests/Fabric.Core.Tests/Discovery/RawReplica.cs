namespace Fabric.Core.Tests.Discovery;

/// <summary>A replica as raw wire fields (any value, including invalid ones) for <see cref="RawAnnouncement"/>.</summary>
internal sealed record RawReplica(byte[] Service, byte[] Instance, ushort Weight, byte Priority, byte Health, IReadOnlyList<ushort> Subprotocols)
{
    public static RawReplica Valid(string service = "orders", string instance = "i1") =>
        new(System.Text.Encoding.UTF8.GetBytes(service), System.Text.Encoding.UTF8.GetBytes(instance), 100, 0, 0, [DiscoveryKit.Vendor]);
}
