namespace Fabric.Core.Policy;

/// <summary>What a rule does.</summary>
public enum AccessAction
{
    /// <summary>The stream may open.</summary>
    Allow,

    /// <summary>The stream is refused with ACCESS_DENIED.</summary>
    Deny,
}
