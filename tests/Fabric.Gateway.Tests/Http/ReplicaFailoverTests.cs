using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// One replica of a two-replica service killed (SIGKILL of its egress gateway) while three kinds of traffic run
/// through the ingress at once: wrk GETs, POSTs with unique ids that the backend records and holds for 200 ms before
/// answering, and a streaming GET already answering from the replica that is killed. The scenario runs once
/// (<see cref="ReplicaFailoverFixture.Outcome"/>); each test checks one promise of the HTTP driver against it.
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed partial class ReplicaFailoverTests(ReplicaFailoverFixture fabric, ITestOutputHelper output) : IClassFixture<ReplicaFailoverFixture>
{
    /// <summary>
    /// Bound on wrk's failed requests (non-2xx plus socket errors). A GET that fails before its response starts is
    /// retried on the other replica (nothing was answered yet, GET is idempotent), so the only GETs that can fail are
    /// those whose response headers had already come back from the killed replica while the rest of the response had
    /// not: a 15-byte body follows its headers in the same write, so that window is a few microseconds per request, and
    /// at most one request per wrk connection (8) can be in it. 2 leaves room for that rare case, and catches a
    /// driver that does not retry (it fails every request in flight on the dead replica and every new one sent there
    /// until the directory drops it: typically dozens).
    /// </summary>
    private const long WrkErrorBound = 2;

    [Fact]
    public async Task WrkGets_ReplicaKilledMidRun_RetriedOnTheOtherReplica()
    {
        KillOutcome outcome = await fabric.Outcome;
        output.WriteLine(outcome.Summary);
        WrkCounts wrk = ParseWrk(outcome.WrkOutput);
        output.WriteLine($"wrk: {wrk.Requests} requests, non-2xx {wrk.Non2xx}, socket errors {wrk.SocketErrors}");

        Assert.True(outcome.WrkExitCode == 0, outcome.WrkOutput);
        Assert.True(wrk.Requests >= 200, $"too little load to mean anything:\n{outcome.WrkOutput}");
        Assert.True(wrk.Non2xx + wrk.SocketErrors <= WrkErrorBound, $"{wrk.Non2xx} non-2xx and {wrk.SocketErrors} socket errors (bound {WrkErrorBound}):\n{outcome.WrkOutput}\n{outcome.Summary}");
    }

    [Fact]
    public async Task Posts_ReplicaKilledMidRun_NoBodySentTwice()
    {
        KillOutcome outcome = await fabric.Outcome;
        output.WriteLine(outcome.Summary);

        // Every POST id recorded by either backend, with the backend that recorded it.
        var recorded = outcome.BackendLines
            .SelectMany(b => b.Value.Where(l => l.StartsWith("POST ", StringComparison.Ordinal)).Select(l => (Id: l.Split(' ')[1], Backend: b.Key)))
            .ToList();
        string[] twice = [.. recorded.GroupBy(r => r.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key} on {string.Join(",", g.Select(r => r.Backend))}")];
        Assert.True(twice.Length == 0, $"POSTs delivered twice: {string.Join("; ", twice)}\n{outcome.Summary}");

        // Every POST answered 200 was recorded exactly once, by the backend that answered.
        var byId = recorded.ToDictionary(r => r.Id, r => r.Backend);
        foreach (PostResult post in outcome.Posts.Where(p => p.Status == 200))
        {
            Assert.True(byId.TryGetValue(post.Id, out string? backend), $"POST {post.Id} answered 200 by {post.Replica} but never recorded");
            Assert.Equal(post.Replica, backend);
        }

        // The ones that failed were in flight on the killed replica: at most one per client worker.
        PostResult[] failed = [.. outcome.Posts.Where(p => p.Status != 200)];
        Assert.True(failed.Length <= ReplicaFailoverFixture.PostWorkers, $"{failed.Length} POSTs failed: {string.Join("; ", failed.Select(f => $"{f.Id}: {f.Status} {f.Error}"))}");
        Assert.True(outcome.Posts.Count(p => p.Status == 200 && p.Started > outcome.KilledAt) >= 5, $"too few POSTs after the kill:\n{outcome.Summary}");
    }

    [Fact]
    public async Task StreamingResponse_ReplicaKilledAfterResponseStarted_FailsAtTheClient_NotResent()
    {
        KillOutcome outcome = await fabric.Outcome;
        output.WriteLine(outcome.Summary);

        // curl saw the response break off (exit code 18: transfer closed with data outstanding, or 56: receive failure).
        Assert.True(outcome.StreamExitCode != 0, $"the interrupted stream ended cleanly at the client:\n{string.Join('\n', outcome.StreamLines)}");

        // One replica's answer, its ticks a gapless prefix that stops before the end: nothing was spliced in from a retry.
        Assert.Equal($"replica={outcome.Victim}", outcome.StreamLines[0]);
        string[] ticks = [.. outcome.StreamLines.Skip(1)];
        Assert.Equal(Enumerable.Range(0, ticks.Length).Select(i => $"tick {i}"), ticks);
        Assert.True(ticks.Length < ReplicaFailoverFixture.StreamChunks, "the stream completed although its replica was killed");

        // The backends saw the request once: it was not sent again to the surviving replica.
        int seen = outcome.BackendLines.Values.Sum(lines => lines.Count(l => l == $"STREAM {outcome.StreamId}"));
        Assert.Equal(1, seen);
    }

    private static WrkCounts ParseWrk(string text)
    {
        Match total = WrkTotal().Match(text);
        Assert.True(total.Success, $"no request count in wrk's output:\n{text}");
        long non2xx = WrkNon2xx().Match(text) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        long socket = 0;
        if (WrkSocket().Match(text) is { Success: true } s)
        {
            for (int i = 1; i <= 4; i++)
            {
                socket += long.Parse(s.Groups[i].Value, CultureInfo.InvariantCulture);
            }
        }

        return new WrkCounts(long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture), non2xx, socket);
    }

    [GeneratedRegex(@"^\s+(\d+) requests in", RegexOptions.Multiline)]
    private static partial Regex WrkTotal();

    [GeneratedRegex(@"^\s+Non-2xx or 3xx responses:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex WrkNon2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex WrkSocket();

    private sealed record WrkCounts(long Requests, long Non2xx, long SocketErrors);
}

/// <summary>One POST of the scenario: its id, when it started (ms after the scenario began), status (0: exception), the replica that answered.</summary>
public sealed record PostResult(string Id, long Started, int Status, string? Replica, string? Error);

/// <summary>What happened in the kill scenario.</summary>
public sealed record KillOutcome(
    string Victim,
    long KilledAt,
    string StreamId,
    int StreamExitCode,
    IReadOnlyList<string> StreamLines,
    int WrkExitCode,
    string WrkOutput,
    IReadOnlyList<PostResult> Posts,
    IReadOnlyDictionary<string, string[]> BackendLines,
    string Summary);

/// <summary><see cref="TwoReplicaFixture"/> plus the kill scenario, run once on first use.</summary>
public sealed class ReplicaFailoverFixture : TwoReplicaFixture
{
    public const int PostWorkers = 4;
    public const int StreamChunks = 300;

    private readonly Lazy<Task<KillOutcome>> _outcome;

    public ReplicaFailoverFixture() => _outcome = new Lazy<Task<KillOutcome>>(RunAsync);

    public Task<KillOutcome> Outcome => _outcome.Value;

    protected override IEnumerable<(string Key, string Value)> IngressRoutes() => [];

    private async Task<KillOutcome> RunAsync()
    {
        var clock = Stopwatch.StartNew();
        string streamId = "s-" + Guid.NewGuid().ToString("N")[..8];

        // 1. A streaming response (a line every 100 ms for 30 s) that starts answering before the kill.
        var streamLines = new List<string>();
        var firstLine = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using ChildProcess stream = ChildProcess.Start("curl-stream", PeerScripts.Curl, ["-sS", "-N", "--noproxy", "*", "--max-time", "60", Url($"/stream?id={streamId}&chunks={StreamChunks}&ms=100")], Temp.Path, onLine: line =>
        {
            lock (streamLines)
            {
                streamLines.Add(line);
            }

            firstLine.TrySetResult(line);
        });
        string first = await firstLine.Task.WaitAsync(TimeSpan.FromSeconds(30));
        string victim = ReplicaOf(first) ?? throw new InvalidOperationException($"unexpected first line of the stream: {first}");

        // 2. POST workers, then (once both replicas answer POSTs) wrk GETs for 8 s, all through the ingress.
        var posts = new List<PostResult>();
        using var stopPosts = new CancellationTokenSource();
        using HttpClient http = NewClient(TimeSpan.FromSeconds(30));
        Task[] workers = [.. Enumerable.Range(0, PostWorkers).Select(w => Task.Run(async () =>
        {
            byte[] body = Encoding.ASCII.GetBytes(new string('p', 512));
            for (int n = 0; !stopPosts.IsCancellationRequested; n++)
            {
                string id = $"w{w}-{n}";
                long started = clock.ElapsedMilliseconds;
                try
                {
                    using var content = new ByteArrayContent(body);
                    using HttpResponseMessage response = await http.PostAsync(new Uri(Url($"/post?id={id}&ms=200")), content);
                    string text = await response.Content.ReadAsStringAsync();
                    lock (posts)
                    {
                        posts.Add(new PostResult(id, started, (int)response.StatusCode, ReplicaOf(text), response.IsSuccessStatusCode ? null : text));
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    lock (posts)
                    {
                        posts.Add(new PostResult(id, started, 0, null, ex.Message));
                    }
                }
            }
        }))];
        ChildProcess? wrk = null;
        long wrkStarted, killedAt;
        bool streamEnded;
        int wrkExit;
        string wrkOutput;
        try
        {
            await WaitUntilAsync(
                () =>
                {
                    lock (posts)
                    {
                        return Task.FromResult(posts.Count(p => p.Replica == "p1") >= 3 && posts.Count(p => p.Replica == "p2") >= 3);
                    }
                },
                "POSTs answered by both replicas",
                TimeSpan.FromSeconds(30));
            wrk = ChildProcess.Start("wrk", PeerScripts.Wrk, ["-t2", "-c8", "-d8s", "--timeout", "5s", Url("/")], Temp.Path);
            wrkStarted = clock.ElapsedMilliseconds;

            // 3. With all of it running for 1.5 s (load, not synchronisation), kill the streaming replica's egress.
            await Task.Delay(TimeSpan.FromMilliseconds(1500));
            killedAt = clock.ElapsedMilliseconds;
            KillOnPurpose(EgressOf(victim));

            // 4. The stream must end (broken off); the POSTs go on for 3 s on the survivor; wrk runs out its 8 s.
            streamEnded = await stream.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 3 - (clock.ElapsedMilliseconds - killedAt) / 1000.0)));
            await stopPosts.CancelAsync();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(await wrk.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"wrk did not finish:\n{wrk.Output}");
            wrkExit = wrk.ExitCode;
            wrkOutput = wrk.Stdout;
        }
        finally
        {
            await stopPosts.CancelAsync();
            wrk?.Dispose();
        }

        var backendLines = BackendLog.ToDictionary(b => b.Key, b => File.ReadAllLines(b.Value));
        string[] lines;
        lock (streamLines)
        {
            lines = [.. streamLines];
        }

        PostResult[] allPosts;
        lock (posts)
        {
            allPosts = [.. posts];
        }

        string summary = $"victim {victim} (its egress killed at {killedAt} ms; wrk started at {wrkStarted} ms); "
            + $"stream: {(streamEnded ? $"exit {stream.ExitCode}" : "still running")}, {lines.Length} lines; "
            + $"POSTs: {allPosts.Length}, {allPosts.Count(p => p.Status == 200)} ok, failed: [{string.Join("; ", allPosts.Where(p => p.Status != 200).Select(p => $"{p.Id}@{p.Started}ms {p.Status} {p.Error?.Trim()}"))}]; "
            + $"recorded: {string.Join(", ", backendLines.Select(b => $"{b.Key} {b.Value.Count(l => l.StartsWith("POST ", StringComparison.Ordinal))} POSTs"))}\n"
            + $"wrk:\n{wrkOutput}";
        return new KillOutcome(victim, killedAt, streamId, streamEnded ? stream.ExitCode : -1, lines, wrkExit, wrkOutput, allPosts, backendLines, summary);
    }
}
