using Fabric.Abstractions;

namespace Fabric.TestPlugins.BadManifestJson;

/// <summary>A valid plugin whose plugin.json is not valid JSON.</summary>
public sealed class BadManifestJsonPlugin : GatewayPlugin;
