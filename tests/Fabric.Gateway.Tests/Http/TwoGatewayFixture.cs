using System.Text.Json;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// Two gateway processes linked by an encrypted fabric link:
/// <code>
/// client ── ingress (HTTP/1.1 :P, h2c :Q; YARP, destinations fabric://…) ══ fabric ══ egress ── backends
/// </code>
/// The egress hosts the services <c>web</c> (its own sample backend, HTTP/1.1), <c>web-h2</c> (the sample backend
/// speaking HTTP/2 with prior knowledge), <c>dead</c> (a port nothing listens on), <c>rec</c> (nginx logging every
/// request line) and <c>py</c> (the python backend). Backend probes are off on the egress, so <c>dead</c> stays a
/// replica the ingress tries (and gets 502 from) rather than one marked unhealthy (503).
/// Ingress routes: <c>/h2/…</c> → web-h2 (HTTP/2 to the backend), <c>/timeout/…</c> → web with a 1 s activity
/// timeout, <c>/dead/…</c>, <c>/rec/…</c>, <c>/py/…</c> (prefix removed), everything else → web (no body size limit).
/// </summary>
public sealed class TwoGatewayFixture : HttpTopology
{
    public int ProxyPort { get; } = GatewayProcess.FreePort();

    public int H2cPort { get; } = GatewayProcess.FreePort();

    internal HttpGateway Ingress { get; private set; } = null!;

    internal HttpGateway Egress { get; private set; } = null!;

    /// <summary>nginx's access log behind <c>/rec/</c>: one request line per request that reached it.</summary>
    public string RecorderLog { get; private set; } = "";

    public string Url(string path) => $"http://127.0.0.1:{ProxyPort}{path}";

    public string H2cUrl(string path) => $"http://127.0.0.1:{H2cPort}{path}";

    protected override async Task StartAsync()
    {
        int ingressFabric = GatewayProcess.FreePort(), egressFabric = GatewayProcess.FreePort();
        int sample = GatewayProcess.FreePort(), sampleH2c = GatewayProcess.FreePort(), dead = GatewayProcess.FreePort();
        int nginx = GatewayProcess.FreePort(), python = GatewayProcess.FreePort();
        MakeKeys("ingress", "egress");

        RecorderLog = await StartNginxRecorderAsync("nginx-rec", nginx);
        await StartPythonBackendAsync("py", python);

        Egress = StartGateway("egress", [
            .. FabricSettings("egress", egressFabric, ("ingress", ingressFabric)),
            ("Gateway:SampleBackendListen", $"127.0.0.1:{sample}"),
            ("Gateway:SampleBackendListenH2c", $"127.0.0.1:{sampleH2c}"),
            .. Service(0, "web", sample),
            .. Service(1, "web-h2", sampleH2c),
            .. Service(2, "dead", dead),
            .. Service(3, "rec", nginx),
            .. Service(4, "py", python),
            ("Plugins:Settings:http:BackendProbeSeconds", "0"),
        ]);

        Ingress = StartGateway("ingress", [
            .. FabricSettings("ingress", ingressFabric, ("egress", egressFabric)),
            ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{ProxyPort}"),
            ("Plugins:Settings:http:Listen:1", $"h2c://127.0.0.1:{H2cPort}"),

            // The shipped catch-all route "demo" is taken over (a second catch-all would be ambiguous).
            ("ReverseProxy:Routes:demo:ClusterId", "web"),
            ("ReverseProxy:Routes:demo:Match:Path", "{**catch-all}"),
            ("ReverseProxy:Routes:demo:MaxRequestBodySize", "-1"),
            .. PrefixRoute("h2", "web-h2"),
            .. PrefixRoute("timeout", "slow"),
            .. PrefixRoute("dead", "dead"),
            .. PrefixRoute("rec", "rec"),
            .. PrefixRoute("py", "py"),
            ("ReverseProxy:Clusters:web:Destinations:fabric:Address", "fabric://web"),
            ("ReverseProxy:Clusters:web-h2:Destinations:fabric:Address", "fabric://web-h2"),
            ("ReverseProxy:Clusters:web-h2:HttpRequest:Version", "2"),
            ("ReverseProxy:Clusters:web-h2:HttpRequest:VersionPolicy", "RequestVersionExact"),
            ("ReverseProxy:Clusters:slow:Destinations:fabric:Address", "fabric://web"),
            ("ReverseProxy:Clusters:slow:HttpRequest:ActivityTimeout", "00:00:01"),
            ("ReverseProxy:Clusters:dead:Destinations:fabric:Address", "fabric://dead"),
            ("ReverseProxy:Clusters:rec:Destinations:fabric:Address", "fabric://rec"),
            ("ReverseProxy:Clusters:py:Destinations:fabric:Address", "fabric://py"),
        ]);

        await Task.WhenAll(Egress.WaitHttpRunningAsync(Startup), Ingress.WaitHttpRunningAsync(Startup));

        // The ingress knows all five replicas, and each route answers through the fabric.
        string[] services = ["web", "web-h2", "dead", "rec", "py"];
        await WaitUntilAsync(
            async () =>
            {
                JsonElement known = await Ingress.GetJsonAsync("/services");
                return services.All(s => known.EnumerateArray().Any(r => r.GetProperty("service").GetString() == s && r.GetProperty("health").GetString() == "Healthy"));
            },
            "the ingress to know the egress's five replicas",
            Startup);
        using HttpClient http = NewClient(TimeSpan.FromSeconds(10));
        foreach ((string path, string expected) in new[] { ("/", "sample backend (egress)"), ("/h2/", "sample backend (egress)"), ("/rec/ready", "recorded /ready"), ("/py/", "replica=py") })
        {
            await WaitUntilAsync(
                async () =>
                {
                    using HttpResponseMessage response = await http.GetAsync(new Uri(Url(path)));
                    return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync()).Contains(expected, StringComparison.Ordinal);
                },
                $"GET {path} through the proxy",
                Startup);
        }
    }

    private static IEnumerable<(string, string)> Service(int index, string name, int port)
    {
        yield return ($"Plugins:Settings:http:Services:{index}:Name", name);
        yield return ($"Plugins:Settings:http:Services:{index}:Backend", $"http://127.0.0.1:{port}");
    }

    private static IEnumerable<(string, string)> PrefixRoute(string prefix, string cluster)
    {
        yield return ($"ReverseProxy:Routes:{prefix}:ClusterId", cluster);
        yield return ($"ReverseProxy:Routes:{prefix}:Match:Path", $"/{prefix}/{{**rest}}");
        yield return ($"ReverseProxy:Routes:{prefix}:Transforms:0:PathRemovePrefix", $"/{prefix}");
    }
}
