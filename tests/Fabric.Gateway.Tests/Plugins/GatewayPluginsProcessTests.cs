using System.Net;
using System.Text.Json;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// The gateway binary with a plugin that fails at start next to a good one: GET /plugins says which failed and why,
/// the good one runs, and the gateway goes on serving.
/// </summary>
public sealed class GatewayPluginsProcessTests(GatewayWithPluginsProcess gateway) : IClassFixture<GatewayWithPluginsProcess>
{
    [Fact]
    public async Task PluginsEndpoint_FailingAndGoodPlugin_OneFailedWithItsReasonOneRunning()
    {
        JsonElement plugins = await gateway.GetJsonAsync("/plugins");

        Assert.Equal(2, plugins.GetArrayLength());
        JsonElement failed = plugins.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "throws-at-start");
        Assert.Equal("Failed", failed.GetProperty("state").GetString());
        string? reason = failed.GetProperty("failure").GetString();
        Assert.NotNull(reason);
        Assert.Contains("starting failed", reason, StringComparison.Ordinal);
        Assert.Contains("boom at start", reason, StringComparison.Ordinal);

        JsonElement good = plugins.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "good");
        Assert.Equal("Running", good.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, good.GetProperty("failure").ValueKind);
        Assert.Equal("1.2.3", good.GetProperty("version").GetString());
        Assert.Equal(["start"], PluginHostHarness.Lines(gateway.CounterFile));
    }

    [Fact]
    public async Task Gateway_OnePluginFailed_KeepsServingWithTheGoodPluginsService()
    {
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage health = await gateway.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
            await Task.Delay(300);
        }

        Assert.False(gateway.HasExited, gateway.Output);
        JsonElement services = await gateway.GetJsonAsync("/services");
        string?[] names = [.. services.EnumerateArray().Select(s => s.GetProperty("service").GetString())];
        Assert.Contains("good-svc", names);
        Assert.DoesNotContain("throws-svc", names); // the failed plugin's replica was withdrawn
    }
}
