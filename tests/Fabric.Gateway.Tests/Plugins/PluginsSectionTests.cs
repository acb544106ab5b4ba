using Fabric.Gateway.Plugins;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Fabric.Gateway.Tests.Plugins;

public sealed class PluginsSectionTests
{
    private static PluginsSection Bind(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(PluginsSection.Name).Get<PluginsSection>() ?? new PluginsSection();

    [Fact]
    public void Trusted_NotConfigured_TheFourDrivers()
    {
        PluginsSection section = Bind(new() { ["Plugins:Directory"] = "plugins" });

        Assert.Equal(["http", "grpc", "mqtt", "smtp"], section.EffectiveTrusted);
    }

    [Fact]
    public void Trusted_Configured_ReplacesTheDefaultsInsteadOfAddingToThem()
    {
        PluginsSection section = Bind(new() { ["Plugins:Trusted:0"] = "http", ["Plugins:Trusted:1"] = "acme" });

        Assert.Equal(["http", "acme"], section.EffectiveTrusted);
    }
}
