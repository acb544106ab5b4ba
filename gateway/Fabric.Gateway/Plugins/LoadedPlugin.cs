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

    private readonly List<IDisposable> _registrations = [];
    private bool _closed;

    internal void Fail(string reason)
    {
        State = PluginState.Failed;
        Failure = reason;
    }

    /// <summary>
    /// Remembers a registration (handler, hosted replica) to undo when the plugin stops or fails. False once
    /// <see cref="UndoRegistrations"/> ran: a plugin that failed or stopped (a start that timed out and carries on in
    /// the background, a timer still firing) may not register anything any more.
    /// </summary>
    internal bool TryAddRegistration(IDisposable registration)
    {
        lock (_registrations)
        {
            if (_closed)
            {
                return false;
            }

            _registrations.Add(registration);
            return true;
        }
    }

    /// <summary>True once the registrations were undone for good.</summary>
    internal bool RegistrationsClosed
    {
        get
        {
            lock (_registrations)
            {
                return _closed;
            }
        }
    }

    /// <summary>Undoes every registration and refuses new ones.</summary>
    internal void UndoRegistrations()
    {
        IDisposable[] undo;
        lock (_registrations)
        {
            _closed = true;
            undo = [.. _registrations];
            _registrations.Clear();
        }

        foreach (IDisposable registration in undo)
        {
            registration.Dispose();
        }
    }
}
