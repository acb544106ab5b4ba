namespace Fabric.Abstractions;

/// <summary>The version of this contract. A plugin built against major M works with a host whose contract is M.x.</summary>
public static class ContractVersion
{
    /// <summary>Current contract version.</summary>
    public static Version Current { get; } = new(1, 0);
}
