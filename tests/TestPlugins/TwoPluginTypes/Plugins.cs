using Fabric.Abstractions;

namespace Fabric.TestPlugins.TwoPluginTypes;

/// <summary>One of two public plugin types: plugin.json must say which with "entryType".</summary>
public sealed class FirstPlugin : GatewayPlugin;

/// <summary>The other one.</summary>
public sealed class SecondPlugin : GatewayPlugin;
