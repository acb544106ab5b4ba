namespace Fabric.Abstractions;

/// <summary>
/// The version of this contract. A plugin built against M.n works with a host whose contract is M.x with x &gt;= n.
/// 1.1 added <see cref="GatewayPluginContext.ListenersStopping"/>.
/// </summary>
public static class ContractVersion
{
    /// <summary>Current contract version.</summary>
    public static Version Current { get; } = new(1, 1);
}
