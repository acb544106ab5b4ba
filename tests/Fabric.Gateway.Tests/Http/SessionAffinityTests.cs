using Xunit.Abstractions;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// YARP session affinity over fabric replicas (two egress gateways of one service): a client is pinned to one
/// replica; when that replica's egress is killed, each cluster applies its AffinityFailurePolicy. Two clusters over
/// the same service: <c>/redistribute/</c> (Cookie policy, Redistribute) and <c>/return503/</c> (CustomHeader policy,
/// Return503Error). The scenario runs once (<see cref="SessionAffinityFixture.Outcome"/>).
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class SessionAffinityTests(SessionAffinityFixture fabric, ITestOutputHelper output) : IClassFixture<SessionAffinityFixture>
{
    [Fact]
    public async Task Affinity_PinsTheClientToOneReplica_WhileUnpinnedRequestsAlternate()
    {
        AffinityOutcome outcome = await fabric.Outcome;
        output.WriteLine(outcome.Summary);

        // Control: without the affinity key the round robin visits both replicas ...
        Assert.Equal(["p1", "p2"], outcome.Unpinned.Distinct().Order());

        // ... with it, every request goes to the one replica (per cluster, with either policy).
        Assert.All(outcome.PinnedCookie, r => Assert.Equal(outcome.Pinned, r));
        Assert.All(outcome.PinnedHeader, r => Assert.Equal(outcome.Pinned, r));
        Assert.Equal(10, outcome.PinnedCookie.Count);
        Assert.Equal(10, outcome.PinnedHeader.Count);
    }

    [Fact]
    public async Task Affinity_PinnedReplicaGone_RedistributeMovesTheClientAndRepins()
    {
        AffinityOutcome outcome = await fabric.Outcome;
        output.WriteLine(outcome.Summary);

        // From the kill on, the client is served by the survivor without a single error, and re-pinned to it.
        string survivor = outcome.Pinned == "p1" ? "p2" : "p1";
        Assert.All(outcome.Redistributed, a => Assert.True(a.Status == 200 && a.Replica == survivor, outcome.Summary));
        Assert.True(outcome.Redistributed[^1].Cookie is { } repinned && repinned != outcome.PinnedCookieValue, $"no new affinity cookie:\n{outcome.Summary}");
        Assert.Equal(Enumerable.Repeat(survivor, 5), outcome.AfterRepin);
    }

    [Fact]
    public async Task Affinity_PinnedReplicaGone_Return503ErrorNeverServesTheClientElsewhere_Then503WithAReason()
    {
        AffinityOutcome outcome = await fabric.Outcome;
        output.WriteLine(outcome.Summary);

        // From the kill on, no pinned request is answered by the other replica: until the directory drops the dead one
        // the request fails (502: its replica cannot be reached), then the failure policy answers 503.
        Assert.All(outcome.Strict, a => Assert.True(a.Status is 502 or 503, $"a pinned client was answered {a.Status} by {a.Replica}:\n{outcome.Summary}"));
        AffinityAnswer last = outcome.Strict[^1];
        Assert.Equal(503, last.Status);
        Assert.StartsWith("503 Service Unavailable: the replica this client is pinned to (session affinity) is gone", last.Body, StringComparison.Ordinal);
        Assert.Contains("'sticky-503'", last.Body, StringComparison.Ordinal);
        Assert.Contains("Return503Error", last.Body, StringComparison.Ordinal);

        // Clients without an affinity key are still served by the surviving replica on the same cluster.
        Assert.Equal(200, outcome.StrictUnpinnedStatus);
    }
}

/// <summary>One answer of the affinity scenario.</summary>
public sealed record AffinityAnswer(int Status, string? Replica, string Body, string? Cookie, string? Header)
{
    public override string ToString() => $"{Status} {Replica ?? "-"}{(Cookie is null ? "" : " +cookie")}{(Header is null ? "" : " +header")}{(Status == 200 ? "" : $" '{Body.Trim()}'")}";
}

/// <summary>What the affinity scenario observed.</summary>
public sealed record AffinityOutcome(
    string Pinned,
    string PinnedCookieValue,
    IReadOnlyList<string> Unpinned,
    IReadOnlyList<string> PinnedCookie,
    IReadOnlyList<string> PinnedHeader,
    IReadOnlyList<AffinityAnswer> Redistributed,
    IReadOnlyList<string> AfterRepin,
    IReadOnlyList<AffinityAnswer> Strict,
    int StrictUnpinnedStatus,
    string Summary);

/// <summary><see cref="TwoReplicaFixture"/> with two affinity clusters, and the scenario run once on first use.</summary>
public sealed class SessionAffinityFixture : TwoReplicaFixture
{
    public const string CookieName = ".Fabric.Sticky";
    public const string HeaderName = "X-Fabric-Sticky";

    private readonly Lazy<Task<AffinityOutcome>> _outcome;

    public SessionAffinityFixture() => _outcome = new Lazy<Task<AffinityOutcome>>(RunAsync);

    public Task<AffinityOutcome> Outcome => _outcome.Value;

    protected override IEnumerable<(string Key, string Value)> IngressRoutes()
    {
        foreach ((string route, string cluster, string policy, string key, string failure) in new[]
        {
            ("redistribute", "sticky-redistribute", "Cookie", CookieName, "Redistribute"),
            ("return503", "sticky-503", "CustomHeader", HeaderName, "Return503Error"),
        })
        {
            yield return ($"ReverseProxy:Routes:{route}:ClusterId", cluster);
            yield return ($"ReverseProxy:Routes:{route}:Match:Path", $"/{route}/{{**rest}}");
            yield return ($"ReverseProxy:Routes:{route}:Transforms:0:PathRemovePrefix", $"/{route}");
            yield return ($"ReverseProxy:Clusters:{cluster}:LoadBalancingPolicy", "RoundRobin");
            yield return ($"ReverseProxy:Clusters:{cluster}:Destinations:fabric:Address", "fabric://pair");
            yield return ($"ReverseProxy:Clusters:{cluster}:SessionAffinity:Enabled", "true");
            yield return ($"ReverseProxy:Clusters:{cluster}:SessionAffinity:Policy", policy);
            yield return ($"ReverseProxy:Clusters:{cluster}:SessionAffinity:AffinityKeyName", key);
            yield return ($"ReverseProxy:Clusters:{cluster}:SessionAffinity:FailurePolicy", failure);
        }
    }

    private async Task<AffinityOutcome> RunAsync()
    {
        await WaitBothReplicasAsync("/redistribute/");
        await WaitBothReplicasAsync("/return503/");
        using HttpClient http = NewClient();

        // Unpinned requests alternate (round robin), on the cookie cluster.
        var unpinned = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            unpinned.Add((await GetAsync(http, "/redistribute/", null)).Replica!);
        }

        // Pin with the cookie; the key in Set-Cookie is the replica's destination, protected by the ingress.
        AffinityAnswer first = await GetAsync(http, "/redistribute/", null);
        string cookie = first.Cookie ?? throw new InvalidOperationException($"no {CookieName} cookie set: {first}");
        string pinned = first.Replica!;
        var pinnedCookie = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            pinnedCookie.Add((await GetAsync(http, "/redistribute/", ("Cookie", $"{CookieName}={cookie}"))).Replica!);
        }

        // Pin with the header to the same replica (fresh requests until the round robin lands there).
        string? header = null;
        for (int i = 0; i < 10 && header is null; i++)
        {
            AffinityAnswer a = await GetAsync(http, "/return503/", null);
            if (a.Replica == pinned)
            {
                header = a.Header ?? throw new InvalidOperationException($"no {HeaderName} response header: {a}");
            }
        }

        if (header is null)
        {
            throw new InvalidOperationException("the round robin never reached the pinned replica on /return503/");
        }

        var pinnedHeader = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            pinnedHeader.Add((await GetAsync(http, "/return503/", (HeaderName, header))).Replica!);
        }

        // The pinned replica goes away (its egress is killed). Right away, and until each cluster's failure policy
        // shows (a new cookie; a 503), pinned clients of both clusters keep asking.
        KillOnPurpose(EgressOf(pinned));
        var strict = new List<AffinityAnswer>();
        var redistributed = new List<AffinityAnswer>();
        await WaitUntilAsync(
            async () =>
            {
                if (strict.Count == 0 || strict[^1].Status != 503)
                {
                    strict.Add(await GetAsync(http, "/return503/", (HeaderName, header)));
                }

                if (redistributed.Count == 0 || redistributed[^1].Cookie is null)
                {
                    redistributed.Add(await GetAsync(http, "/redistribute/", ("Cookie", $"{CookieName}={cookie}")));
                }

                return strict[^1].Status == 503 && redistributed[^1].Cookie is not null;
            },
            "both failure policies to apply",
            TimeSpan.FromSeconds(20));
        await WaitIngressReplicasAsync(1, TimeSpan.FromSeconds(15));
        AffinityAnswer strictUnpinned = await GetAsync(http, "/return503/", null);

        var afterRepin = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            afterRepin.Add((await GetAsync(http, "/redistribute/", ("Cookie", $"{CookieName}={redistributed[^1].Cookie}"))).Replica ?? "none");
        }

        string summary = $"pinned to {pinned}; unpinned: {string.Join(",", unpinned)}; cookie-pinned: {string.Join(",", pinnedCookie)}; header-pinned: {string.Join(",", pinnedHeader)}; "
            + $"after the kill: Return503Error cluster answered [{string.Join("; ", strict)}], Redistribute cluster answered [{string.Join("; ", redistributed)}]; "
            + $"unpinned on the Return503Error cluster: {strictUnpinned}; after re-pin: {string.Join(",", afterRepin)}";
        return new AffinityOutcome(pinned, cookie, unpinned, pinnedCookie, pinnedHeader, redistributed, afterRepin, strict, strictUnpinned.Status, summary);
    }

    private async Task<AffinityAnswer> GetAsync(HttpClient http, string path, (string Name, string Value)? affinity)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Url(path)));
        if (affinity is { } a)
        {
            request.Headers.Add(a.Name, a.Value);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        string? cookie = response.Headers.TryGetValues("Set-Cookie", out IEnumerable<string>? cookies)
            ? cookies.Select(c => c.Split(';')[0]).FirstOrDefault(c => c.StartsWith(CookieName + "=", StringComparison.Ordinal))?[(CookieName.Length + 1)..]
            : null;
        string? header = response.Headers.TryGetValues(HeaderName, out IEnumerable<string>? values) ? values.First() : null;
        return new AffinityAnswer((int)response.StatusCode, ReplicaOf(body), body, cookie, header);
    }
}
