namespace Fabric.Abstractions;

/// <summary>
/// The <c>plugin.json</c> beside a plugin's assembly: who it is, what it needs and which subprotocol ids it may
/// register. The loader refuses a plugin whose contract or minimum host version does not fit, and the fabric
/// refuses a registration of an id the manifest does not list.
/// </summary>
public sealed record PluginManifest
{
    /// <summary>Unique plugin name (letters, digits, '-', '.').</summary>
    public string Name { get; init; } = "";

    /// <summary>Plugin version (semantic).</summary>
    public string Version { get; init; } = "";

    /// <summary>The main assembly file, relative to the plugin folder.</summary>
    public string Assembly { get; init; } = "";

    /// <summary>The contract version the plugin was built against, e.g. "1.0".</summary>
    public string ContractVersion { get; init; } = "";

    /// <summary>The oldest gateway version it runs on, e.g. "0.1.0".</summary>
    public string MinHostVersion { get; init; } = "0.0.0";

    /// <summary>Subprotocol ids the plugin handles, as hex strings ("0x2201").</summary>
    public IReadOnlyList<string> Subprotocols { get; init; } = [];

    /// <summary>Optional: the plugin type's full name, when the assembly holds more than one.</summary>
    public string? EntryType { get; init; }
}
