using Fabric.Abstractions;

namespace Fabric.TestPlugins.NoPluginType;

/// <summary>Not a plugin type: abstract.</summary>
public abstract class PluginBase : GatewayPlugin;

/// <summary>Not a plugin type either: not public (the loader takes only a public class).</summary>
internal sealed class InternalPlugin : PluginBase;

/// <summary>A public class, but no plugin.</summary>
public sealed class Helper
{
    public static string Name => nameof(Helper);
}
