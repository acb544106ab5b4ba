namespace Fabric.TestDep;

/// <summary>Version 1 of the shared-name dependency.</summary>
public static class Greeter
{
    /// <summary>Says which version answered.</summary>
    public static string Hello() => "Fabric.TestDep v1";
}
