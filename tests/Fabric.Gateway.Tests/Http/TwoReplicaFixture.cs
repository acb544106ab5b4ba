using System.Text.Json;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// Three gateway processes: an ingress and two egress replicas of the service <c>pair</c>, each in front of its own
/// python backend (p1, p2) that records what reaches it.
/// <code>
///                      ╔══ egress e1 ── python p1
/// client ── ingress ═══╣
///                      ╚══ egress e2 ── python p2
/// </code>
/// The ingress's catch-all route goes to cluster <c>pair</c> (round robin); subclasses add routes. Each egress dials
/// the ingress and the ingress dials both, so a killed egress that is started again links at once.
/// </summary>
public abstract class TwoReplicaFixture : HttpTopology
{
    public int ProxyPort { get; } = GatewayProcess.FreePort();

    internal HttpGateway Ingress { get; private set; } = null!;

    internal Dictionary<string, HttpGateway> Egress { get; } = [];

    /// <summary>Each backend's record file, by replica name (p1 behind e1, p2 behind e2).</summary>
    public Dictionary<string, string> BackendLog { get; } = [];

    public string Url(string path) => $"http://127.0.0.1:{ProxyPort}{path}";

    /// <summary>The egress in front of backend <paramref name="replica"/> (p1 → e1).</summary>
    internal HttpGateway EgressOf(string replica) => Egress["e" + replica[1..]];

    /// <summary>Ingress settings beyond the catch-all route to cluster pair.</summary>
    protected abstract IEnumerable<(string Key, string Value)> IngressRoutes();

    protected override async Task StartAsync()
    {
        int ingressFabric = GatewayProcess.FreePort(), e1Fabric = GatewayProcess.FreePort(), e2Fabric = GatewayProcess.FreePort();
        MakeKeys("ingress", "e1", "e2");
        foreach ((string egress, int fabricPort) in new[] { ("e1", e1Fabric), ("e2", e2Fabric) })
        {
            string replica = "p" + egress[1..];
            int backend = GatewayProcess.FreePort();
            (_, BackendLog[replica]) = await StartPythonBackendAsync(replica, backend);
            Egress[egress] = StartGateway(egress, [
                .. FabricSettings(egress, fabricPort, ("ingress", ingressFabric)),
                ("Plugins:Settings:http:Services:0:Name", "pair"),
                ("Plugins:Settings:http:Services:0:Backend", $"http://127.0.0.1:{backend}"),
            ]);
        }

        Ingress = StartGateway("ingress", [
            .. FabricSettings("ingress", ingressFabric, ("e1", e1Fabric), ("e2", e2Fabric)),
            ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{ProxyPort}"),
            ("ReverseProxy:Routes:demo:ClusterId", "pair"),
            ("ReverseProxy:Routes:demo:Match:Path", "{**catch-all}"),
            ("ReverseProxy:Clusters:pair:LoadBalancingPolicy", "RoundRobin"),
            ("ReverseProxy:Clusters:pair:Destinations:fabric:Address", "fabric://pair"),
            .. IngressRoutes(),
        ]);

        await Task.WhenAll(Egress.Values.Append(Ingress).Select(g => g.WaitHttpRunningAsync(Startup)));
        await WaitBothReplicasAsync("/");
    }

    /// <summary>Waits until GETs of <paramref name="path"/> through the proxy have been answered by both backends.</summary>
    internal async Task WaitBothReplicasAsync(string path)
    {
        var seen = new HashSet<string>();
        using HttpClient http = NewClient(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(
            async () =>
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri(Url(path)));
                string body = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode && ReplicaOf(body) is { } replica)
                {
                    seen.Add(replica);
                }

                return seen.Count == 2;
            },
            $"GET {path} answered by both replicas",
            Startup);
    }

    /// <summary>Waits until the ingress's directory lists exactly <paramref name="count"/> replicas of pair.</summary>
    internal Task WaitIngressReplicasAsync(int count, TimeSpan timeout) => WaitUntilAsync(
        async () =>
        {
            JsonElement services = await Ingress.GetJsonAsync("/services");
            return services.EnumerateArray().Count(r => r.GetProperty("service").GetString() == "pair") == count;
        },
        $"the ingress to list {count} replica(s) of pair",
        timeout);

    /// <summary>The backend name in a python backend answer (<c>replica=p1 …</c>), or null.</summary>
    public static string? ReplicaOf(string body)
    {
        const string Key = "replica=";
        int at = body.IndexOf(Key, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        int end = body.IndexOfAny([' ', '\n'], at);
        return body[(at + Key.Length)..(end < 0 ? body.Length : end)];
    }
}
