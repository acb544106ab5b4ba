using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// Single gateway processes, each a node linked to itself (the shipped self-peer, on a free port), started by the
/// test that needs one; only the cleanup of <see cref="HttpTopology"/> is shared.
/// </summary>
internal sealed class SelfLinkedGateways : HttpTopology
{
    /// <summary>The sample backend on a free port as service "web", and a proxy listener on <paramref name="proxy"/> routing everything to fabric://web.</summary>
    public static (string Key, string Value)[] ProxyToSampleBackend(int proxy)
    {
        int sample = GatewayProcess.FreePort();
        return
        [
            ("Gateway:SampleBackendListen", $"127.0.0.1:{sample}"),
            ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{proxy}"),
            ("Plugins:Settings:http:Services:0:Name", "web"),
            ("Plugins:Settings:http:Services:0:Backend", $"http://127.0.0.1:{sample}"),
            ("ReverseProxy:Routes:demo:ClusterId", "web"),
            ("ReverseProxy:Clusters:web:Destinations:fabric:Address", "fabric://web"),
        ];
    }

    /// <summary>A gateway whose fabric listens on a free port and dials itself there.</summary>
    public HttpGateway StartSelfLinked(string name, IEnumerable<(string Key, string Value)> settings, string? pluginsDirectory = null)
    {
        int fabricPort = GatewayProcess.FreePort();
        return StartGateway(name, [
            ("Fabric:Listen", $"127.0.0.1:{fabricPort}"),
            ("Fabric:Peers:0:Address", $"127.0.0.1:{fabricPort}"),
            ("Fabric:Peers:0:PublicKey", "self"),
            .. settings,
        ], pluginsDirectory);
    }

    protected override Task StartAsync() => Task.CompletedTask;
}
