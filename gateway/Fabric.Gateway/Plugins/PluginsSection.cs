namespace Fabric.Gateway.Plugins;

/// <summary>The <c>Plugins</c> configuration section.</summary>
public sealed class PluginsSection
{
    /// <summary>Section name.</summary>
    public const string Name = "Plugins";

    /// <summary>Folder of plugin folders (each with a plugin.json); relative paths are under the gateway's directory.</summary>
    public string Directory { get; set; } = "plugins";

    /// <summary>Plugin names not to load.</summary>
    public List<string> Disabled { get; set; } = [];

    /// <summary>
    /// Plugins allowed to register core subprotocol ids (0x0001-0x21FF): the built-in drivers. Every other plugin is
    /// held to the vendor and experimental ranges. Left out (null): <see cref="DefaultTrusted"/>. Not pre-filled, because
    /// the configuration binder appends configured items to a list's initial ones, so a configured list could never
    /// leave a driver out.
    /// </summary>
    public List<string>? Trusted { get; set; }

    /// <summary>The built-in drivers, trusted when <see cref="Trusted"/> is not configured.</summary>
    public static IReadOnlyList<string> DefaultTrusted { get; } = ["http", "grpc", "mqtt", "smtp"];

    /// <summary>The trusted plugin names in effect.</summary>
    public IReadOnlyList<string> EffectiveTrusted => Trusted ?? DefaultTrusted;

    /// <summary>Time each plugin gets to start or stop.</summary>
    public double StartTimeoutSeconds { get; set; } = 30;
}
