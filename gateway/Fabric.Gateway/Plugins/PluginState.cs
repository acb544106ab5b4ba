namespace Fabric.Gateway.Plugins;

/// <summary>Where a plugin stands.</summary>
public enum PluginState
{
    /// <summary>Loaded and configured, not started yet.</summary>
    Loaded,

    /// <summary>Started and running.</summary>
    Running,

    /// <summary>Stopped.</summary>
    Stopped,

    /// <summary>Failed to load, configure or start; see the reason. The host and other plugins run on.</summary>
    Failed,
}
