using Fabric.Abstractions;

namespace Fabric.TestPlugins.MissingAssembly;

/// <summary>A valid plugin whose plugin.json names an assembly the folder does not have.</summary>
public sealed class MissingAssemblyPlugin : GatewayPlugin;
