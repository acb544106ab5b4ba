using System.Collections.Frozen;
using System.Text;

namespace Fabric.Core.Subprotocols;

/// <summary>
/// The subprotocols this node handles. Registration checks the id range (core ids only for the fabric's own
/// registrations, vendor and experimental ids for everyone) and refuses duplicates. Thread-safe; lookups read an
/// immutable snapshot.
/// </summary>
public sealed class SubprotocolRegistry
{
    private readonly Lock _lock = new();
    private FrozenDictionary<ushort, SubprotocolDescriptor> _snapshot = FrozenDictionary<ushort, SubprotocolDescriptor>.Empty;

    /// <summary>Every registered descriptor.</summary>
    public IReadOnlyCollection<SubprotocolDescriptor> Descriptors => _snapshot.Values;

    /// <summary>Registers a descriptor. <paramref name="allowCore"/> is for the fabric and its built-in drivers only.</summary>
    public void Register(SubprotocolDescriptor descriptor, bool allowCore = false)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        SubprotocolRange range = SubprotocolDescriptor.RangeOf(descriptor.Id);
        if (range == SubprotocolRange.Reserved)
        {
            throw new ArgumentException("subprotocol id 0x0000 is reserved", nameof(descriptor));
        }

        if (range == SubprotocolRange.Core && !allowCore)
        {
            throw new ArgumentException($"subprotocol id 0x{descriptor.Id:x4} is in the core range 0x0001-0x21FF; plugins use 0x2200-0xEFFF (vendor) or 0xF000-0xFFFF (experimental)", nameof(descriptor));
        }

        if (string.IsNullOrWhiteSpace(descriptor.Name) || Encoding.UTF8.GetByteCount(descriptor.Name) > SubprotocolDescriptor.MaxNameBytes)
        {
            throw new ArgumentException($"a subprotocol name is 1..{SubprotocolDescriptor.MaxNameBytes} UTF-8 bytes", nameof(descriptor));
        }

        if (descriptor.MinCompatible > descriptor.Version)
        {
            throw new ArgumentException($"min_compatible {descriptor.MinCompatible} is above version {descriptor.Version}", nameof(descriptor));
        }

        lock (_lock)
        {
            if (_snapshot.TryGetValue(descriptor.Id, out SubprotocolDescriptor? existing))
            {
                throw new InvalidOperationException($"subprotocol id 0x{descriptor.Id:x4} is already registered as '{existing.Name}'");
            }

            var next = new Dictionary<ushort, SubprotocolDescriptor>(_snapshot) { [descriptor.Id] = descriptor };
            _snapshot = next.ToFrozenDictionary();
        }
    }

    /// <summary>Removes a registration (a plugin unloading).</summary>
    public bool Unregister(ushort id)
    {
        lock (_lock)
        {
            if (!_snapshot.ContainsKey(id))
            {
                return false;
            }

            var next = new Dictionary<ushort, SubprotocolDescriptor>(_snapshot);
            next.Remove(id);
            _snapshot = next.ToFrozenDictionary();
            return true;
        }
    }

    /// <summary>The descriptor for <paramref name="id"/>, or null.</summary>
    public SubprotocolDescriptor? Find(ushort id) => _snapshot.GetValueOrDefault(id);

    /// <summary>The capability tags of everything registered (<c>subprotocol:0x....</c>).</summary>
    public IReadOnlyList<string> CapabilityTags() => [.. _snapshot.Keys.Order().Select(SubprotocolDescriptor.CapabilityTagFor)];

    /// <summary>This node's manifest, to send to a peer.</summary>
    public SubprotocolManifest Manifest() => new([.. _snapshot.Values.OrderBy(d => d.Id)]);

    /// <summary>What this node and a peer with <paramref name="peer"/> can both speak, at compatible versions.</summary>
    public NegotiatedSubprotocols Negotiate(SubprotocolManifest peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var agreed = new Dictionary<ushort, SubprotocolDescriptor>();
        var incompatible = new Dictionary<ushort, SubprotocolDescriptor>();
        foreach (SubprotocolDescriptor theirs in peer.Descriptors)
        {
            if (_snapshot.TryGetValue(theirs.Id, out SubprotocolDescriptor? ours))
            {
                // A manifest listing an id twice: the last entry counts, so an id is never both agreed and incompatible.
                bool compatible = ours.IsCompatibleWith(theirs);
                (compatible ? agreed : incompatible)[theirs.Id] = theirs;
                (compatible ? incompatible : agreed).Remove(theirs.Id);
            }
        }

        return new NegotiatedSubprotocols(agreed.ToFrozenDictionary(), incompatible.ToFrozenDictionary());
    }
}

/// <summary>The list of descriptors a node sends a peer when a session starts.</summary>
public sealed record SubprotocolManifest(IReadOnlyList<SubprotocolDescriptor> Descriptors)
{
    /// <summary>Most descriptors a manifest may carry.</summary>
    public const int MaxDescriptors = 1024;
}

/// <summary>The outcome of comparing two manifests.</summary>
public sealed class NegotiatedSubprotocols(FrozenDictionary<ushort, SubprotocolDescriptor> agreed, FrozenDictionary<ushort, SubprotocolDescriptor> incompatible)
{
    /// <summary>Nothing negotiated yet (before the peer's manifest arrives).</summary>
    public static NegotiatedSubprotocols None { get; } = new(FrozenDictionary<ushort, SubprotocolDescriptor>.Empty, FrozenDictionary<ushort, SubprotocolDescriptor>.Empty);

    /// <summary>True when both sides handle <paramref name="id"/> at compatible versions.</summary>
    public bool Supports(ushort id) => agreed.ContainsKey(id);

    /// <summary>True when both handle <paramref name="id"/> but at incompatible versions.</summary>
    public bool IsIncompatible(ushort id) => incompatible.ContainsKey(id);

    /// <summary>The peer's descriptors both sides agree on.</summary>
    public IReadOnlyCollection<SubprotocolDescriptor> Agreed => agreed.Values;
}
