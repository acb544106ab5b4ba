using Fabric.Abstractions;

namespace Fabric.TestPlugins.WrongContract;

/// <summary>A valid plugin whose plugin.json says it was built for contract 2.0.</summary>
public sealed class WrongContractPlugin : GatewayPlugin;
