namespace Fabric.Gateway.Configuration;

/// <summary>The <c>Gateway</c> section: the host's own listeners.</summary>
public sealed class GatewaySection
{
    /// <summary>Section name.</summary>
    public const string Name = "Gateway";

    /// <summary>A JSON file used instead of appsettings.json (environment variables and the command line still override it).</summary>
    public string ConfigFile { get; set; } = "";

    /// <summary>Address of the admin API (links, directory, services, plugins, health); loopback by default.</summary>
    public string AdminListen { get; set; } = "127.0.0.1:8081";

    /// <summary>Address of the built-in sample backend (HTTP/1.1); empty to run without it.</summary>
    public string SampleBackendListen { get; set; } = "";

    /// <summary>Address of the sample backend speaking HTTP/2 with prior knowledge (h2c); empty for none.</summary>
    public string SampleBackendListenH2c { get; set; } = "";
}
