using Fabric.Abstractions;

namespace Fabric.TestPlugins.TooNew;

/// <summary>A valid plugin whose plugin.json needs gateway 99.0.</summary>
public sealed class TooNewPlugin : GatewayPlugin;
