namespace Fabric.Core.Subprotocols;

/// <summary>
/// A subprotocol a node handles: its 16-bit id, a name, the version it speaks and the oldest version it still
/// works with. Two peers are compatible when each one's version is at least the other's minimum.
/// </summary>
public sealed record SubprotocolDescriptor(ushort Id, string Name, SubprotocolVersion Version, SubprotocolVersion MinCompatible)
{
    /// <summary>Largest name length in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 64;

    /// <summary>The capability tag nodes advertise for it, e.g. <c>subprotocol:0x2201</c>.</summary>
    public string CapabilityTag => CapabilityTagFor(Id);

    /// <summary>The capability tag for an id.</summary>
    public static string CapabilityTagFor(ushort id) => $"subprotocol:0x{id:x4}";

    /// <summary>True when this side and <paramref name="peer"/> can talk: each version at least the other's minimum.</summary>
    public bool IsCompatibleWith(SubprotocolDescriptor peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return peer.Id == Id && Version >= peer.MinCompatible && peer.Version >= MinCompatible;
    }

    /// <summary>The range an id belongs to.</summary>
    public static SubprotocolRange RangeOf(ushort id) => id switch
    {
        0x0000 => SubprotocolRange.Reserved,
        <= 0x21FF => SubprotocolRange.Core,
        <= 0xEFFF => SubprotocolRange.Vendor,
        _ => SubprotocolRange.Experimental,
    };
}

/// <summary>The three ranges of the 16-bit id space (docs/SUBPROTOCOLS.md).</summary>
public enum SubprotocolRange
{
    /// <summary>0x0000: never assigned.</summary>
    Reserved,

    /// <summary>0x0001-0x21FF: the fabric and its built-in drivers.</summary>
    Core,

    /// <summary>0x2200-0xEFFF: third-party plugins.</summary>
    Vendor,

    /// <summary>0xF000-0xFFFF: experiments, no permanent assignment.</summary>
    Experimental,
}
