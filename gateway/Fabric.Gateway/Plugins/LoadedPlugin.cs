using Fabric.Abstractions;

namespace Fabric.Gateway.Plugins;

/// <summary>A plugin the host found: its manifest, its instance (when it loaded), its state and, on failure, why.</summary>
public sealed class LoadedPlugin
{
    internal LoadedPlugin(string directory, PluginManifest? manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    /// <summary>The plugin's folder.</summary>
    public string Directory { get; }

    /// <summary>Its manifest, if it could be read.</summary>
    public PluginManifest? Manifest { get; }

    /// <summary>The name from the manifest, else the folder name.</summary>
    public string Name => Manifest?.Name is { Length: > 0 } name ? name : Path.GetFileName(Directory);

    /// <summary>Current state.</summary>
    public PluginState State { get; internal set; }

    /// <summary>Why it failed (null unless <see cref="State"/> is <see cref="PluginState.Failed"/>).</summary>
    public string? Failure { get; internal set; }

    internal IGatewayPlugin? Instance { get; set; }

    internal PluginLoadContext? LoadContext { get; set; }

    internal GatewayPluginContext? Context { get; set; }

    internal IReadOnlySet<ushort> AllowedSubprotocols { get; set; } = new HashSet<ushort>();

    internal List<IDisposable> Registrations { get; } = [];

    internal void Fail(string reason)
    {
        State = PluginState.Failed;
        Failure = reason;
    }
}
