using System.Buffers.Binary;
using System.Text;
using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>
/// An encoder of announcements written from docs/PROTOCOL.md §3.2, independent of the product's writer: every field
/// can take any value the wire can carry, so the parser's limits can be probed one at a time.
/// </summary>
internal sealed class RawAnnouncement
{
    public byte Version { get; set; } = 1;

    public NodeIdentity? Signer { get; set; }

    public byte[] PublicKey { get; set; } = new byte[65];

    public ulong Sequence { get; set; } = 1;

    public ushort TtlSeconds { get; set; } = 30;

    public byte Pressure { get; set; }

    public byte[] Name { get; set; } = "node"u8.ToArray();

    public List<byte[]> Roles { get; set; } = ["relay"u8.ToArray()];

    public List<ushort> Capabilities { get; set; } = [0x0001];

    public byte[] Certificate { get; set; } = [];

    public List<RawReplica> Replicas { get; set; } = [RawReplica.Valid()];

    /// <summary>Bytes appended after the signature.</summary>
    public byte[] Trailer { get; set; } = [];

    public static RawAnnouncement SignedBy(NodeIdentity signer) => new() { Signer = signer, PublicKey = signer.PublicKey };

    /// <summary>The unsigned part.</summary>
    public byte[] EncodeUnsigned()
    {
        var w = new List<byte> { Version };
        w.AddRange(PublicKey);
        Span<byte> u64 = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(u64, Sequence);
        w.AddRange(u64.ToArray());
        U16(w, TtlSeconds);
        w.Add(Pressure);
        Text(w, Name);
        w.Add((byte)Roles.Count);
        foreach (byte[] role in Roles)
        {
            Text(w, role);
        }

        U16(w, (ushort)Capabilities.Count);
        foreach (ushort id in Capabilities)
        {
            U16(w, id);
        }

        U16(w, (ushort)Certificate.Length);
        w.AddRange(Certificate);
        U16(w, (ushort)Replicas.Count);
        foreach (RawReplica r in Replicas)
        {
            Text(w, r.Service);
            Text(w, r.Instance);
            U16(w, r.Weight);
            w.Add(r.Priority);
            w.Add(r.Health);
            w.Add((byte)r.Subprotocols.Count);
            foreach (ushort id in r.Subprotocols)
            {
                U16(w, id);
            }
        }

        return [.. w];
    }

    /// <summary>Unsigned part, signature (real when a signer is set, else zeros), trailer.</summary>
    public byte[] Encode()
    {
        byte[] unsigned = EncodeUnsigned();
        byte[] signature = Signer is null ? new byte[64] : Signer.Sign(NodeAnnouncement.SignatureDomain, unsigned);
        return [.. unsigned, .. signature, .. Trailer];
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static void U16(List<byte> w, ushort value)
    {
        w.Add((byte)(value >> 8));
        w.Add((byte)value);
    }

    private static void Text(List<byte> w, byte[] text)
    {
        w.Add((byte)text.Length);
        w.AddRange(text);
    }
}
