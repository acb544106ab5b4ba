using System.Runtime.Loader;
using Fabric.Abstractions;
using Fabric.TestDep;

namespace Fabric.TestPlugins.Isolation.A;

/// <summary>
/// Carries Fabric.TestDep 1.0.0.0 privately (isolation-b carries another version under the same name). The tests read
/// what it sees through reflection: no type is shared with them.
/// </summary>
public sealed class IsolationAPlugin : GatewayPlugin
{
    /// <summary>What the dependency answered at start.</summary>
    public string? StartedWith { get; private set; }

    /// <summary>What the dependency answers now.</summary>
    public static string Greeting => Greeter.Hello();

    /// <summary>The version of the dependency this plugin bound to.</summary>
    public static string DependencyVersion => typeof(Greeter).Assembly.GetName().Version!.ToString();

    /// <summary>The load context the dependency lives in.</summary>
    public static string? DependencyContext => AssemblyLoadContext.GetLoadContext(typeof(Greeter).Assembly)?.Name;

    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        StartedWith = Greeter.Hello();
        fabric.Handle(new SubprotocolInfo(0x2F0A, "test.isolation-a", new Version(1, 0), new Version(1, 0)), (incoming, ct) => Task.CompletedTask);
        return Task.CompletedTask;
    }
}
