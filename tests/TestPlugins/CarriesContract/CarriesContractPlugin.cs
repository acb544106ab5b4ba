using Fabric.Abstractions;

namespace Fabric.TestPlugins.CarriesContract;

/// <summary>A valid plugin packaged wrongly: its folder carries a copy of Fabric.Abstractions.dll.</summary>
public sealed class CarriesContractPlugin : GatewayPlugin;
