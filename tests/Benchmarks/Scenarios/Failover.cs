using System.Diagnostics;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Benchmarks.Scenarios;

/// <summary>
/// Failover of a service with two replicas: the echo subprotocol on B1 (priority 0, the one in use) and B2
/// (priority 1), both direct neighbors of A (secure links over loopback TCP, each through a TCP forwarder so the
/// link can be broken from outside). Four loops on A open a stream to the service continuously (policy
/// PriorityFailover), each an echo round trip of 16 bytes, 4,000 opens a second in all. Then B1 is killed, and the
/// scenario measures the time from the kill to the first round trip served by B2 (<c>failover_ms</c>), the opens
/// that failed after the kill, and the round trips broken after they had opened (<c>broken_streams</c>).
/// Kill modes: <c>goaway</c> disposes B1 (its links are drained with GOAWAY); <c>reset</c> resets B1's TCP
/// connections (RST, no GOAWAY, redials refused) and then disposes B1, as a crash would; <c>blackhole</c> silently
/// stops forwarding B1's traffic (only with <c>--mode blackhole</c>). By default goaway and reset are both run;
/// the headline is reset, the harsher of the two.
/// </summary>
internal static partial class Failover
{
    private const string Service = "fo-svc";
    private const int Loops = 4;
    private const int PayloadSize = 16;

    /// <summary>
    /// Opens per second from all loops together (each loop one per millisecond), so the load is the same on any
    /// machine and stays under the session flood guards; <c>--rate 0</c> runs unpaced. Each round trip ends cleanly:
    /// write, half-close, read the echo and its end of stream. With <c>--no-half-close</c> the stream is only disposed,
    /// which resets it (RESET_STREAM): past 2,000 a second the serving node's rapid-reset guard drops the link.
    /// </summary>
    private const double DefaultRate = 4000;

    /// <summary>Recorded as the failover time of a trial in which B2 served nothing within 30 s of the kill.</summary>
    private const double NoFailoverMs = 30_000;

    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        int trials = args.Quick ? 3 : 7;
        int modeAt = args.Rest.ToList().IndexOf("--mode");
        string[] modes = modeAt >= 0 && modeAt + 1 < args.Rest.Count ? [args.Rest[modeAt + 1]] : ["reset", "goaway"];
        if (modes.Any(m => m is not ("goaway" or "reset" or "blackhole")))
        {
            throw new ArgumentException("--mode is goaway, reset or blackhole");
        }

        bool halfClose = !args.Rest.Contains("--no-half-close");
        int rateAt = args.Rest.ToList().IndexOf("--rate");
        double rate = rateAt >= 0 && rateAt + 1 < args.Rest.Count ? double.Parse(args.Rest[rateAt + 1], System.Globalization.CultureInfo.InvariantCulture) : DefaultRate;

        await TrialAsync("goaway", rate, halfClose, warmUp: true); // JIT, first sockets
        Result result = new Result("failover");
        foreach (string mode in modes)
        {
            var outcomes = new List<TrialOutcome>();
            for (int i = 0; i < trials; i++)
            {
                TrialOutcome o = await TrialAsync(mode, rate, halfClose, warmUp: false);
                outcomes.Add(o);
                Console.WriteLine($"{mode} trial {i + 1}: failover {o.FailoverMs:0.0} ms, failed opens {o.FailedOpens}, broken round trips {o.BrokenStreams}, round trips before the kill {o.ServedBefore} (all by B1), after {o.ServedAfter}, slowest open+round trip after the kill {o.SlowestAfterMs:0.0} ms");
            }

            double[] times = [.. outcomes.Select(o => o.FailoverMs).Order()];
            string prefix = mode == modes[0] ? "" : mode + "_";
            if (prefix.Length == 0)
            {
                result.Add("kill_mode", mode);
            }

            result.Add(prefix + "failover_ms", times[^1], "0.0")
                .Add(prefix + "failover_ms_median", Stats.Median(times), "0.0")
                .Add(prefix + "failed_opens", outcomes.Sum(o => o.FailedOpens), "0")
                .Add(prefix + "failed_opens_worst", outcomes.Max(o => o.FailedOpens), "0")
                .Add(prefix + "broken_streams", outcomes.Sum(o => o.BrokenStreams), "0")
                .Add(prefix + "slowest_open_ms", outcomes.Max(o => o.SlowestAfterMs), "0.0");
            if (outcomes.Any(o => o.FailoverMs >= NoFailoverMs))
            {
                result.Add(prefix + "no_failover_trials", outcomes.Count(o => o.FailoverMs >= NoFailoverMs), "0");
            }
        }

        return result.Add("trials", trials, "0").Add("loops", Loops, "0").Add("opens_per_s", rate > 0 ? rate.ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "unpaced")
            .Add("stream_end", halfClose ? "half-close" : "dispose");
    }

    private static async Task<TrialOutcome> TrialAsync(string mode, double rate, bool halfClose, bool warmUp)
    {
        await using var cluster = new BenchCluster("a", "b1", "b2");
        await cluster.StartAsync("b1", setup: n => n.AddLocalService(new ServiceReplica(Service, "b1", [CoreSubprotocols.Echo], Priority: 0)));
        await cluster.StartAsync("b2", setup: n => n.AddLocalService(new ServiceReplica(Service, "b2", [CoreSubprotocols.Echo], Priority: 1)));
        await using TcpForwarder toB1 = TcpForwarder.Start(cluster["b1"].ListenEndPoint!);
        await using TcpForwarder toB2 = TcpForwarder.Start(cluster["b2"].ListenEndPoint!);
        FabricNode a = await cluster.StartAsync(
            "a",
            [cluster.PeerVia("b1", toB1.EndPoint), cluster.PeerVia("b2", toB2.EndPoint)],
            configure: o => o with { Routing = new RoutingOptions { Policy = RoutingPolicy.PriorityFailover } });
        NodeId b1 = cluster.Identity("b1").Id, b2 = cluster.Identity("b2").Id;
        await BenchCluster.WaitUntilAsync(() => a.Directory.FindReplicas(Service, CoreSubprotocols.Echo).Count(r => r.Hops == 1) == 2, TimeSpan.FromSeconds(10), "A learns both replicas");

        using var stop = new CancellationTokenSource();
        TimeSpan interval = rate > 0 ? TimeSpan.FromSeconds(Loops / rate) : TimeSpan.Zero;
        var records = new List<Record>[Loops];
        var loops = new Task[Loops];
        for (int i = 0; i < Loops; i++)
        {
            records[i] = [];
            List<Record> mine = records[i];
            loops[i] = Task.Run(() => OpenLoopAsync(a, mine, interval, halfClose, stop.Token));
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        long killed = Stopwatch.GetTimestamp();
        Task kill = Task.CompletedTask;
        switch (mode)
        {
            case "goaway":
                kill = cluster.StopAsync("b1").AsTask();
                break;
            case "reset":
                toB1.Cut();
                kill = cluster.StopAsync("b1").AsTask();
                break;
            case "blackhole":
                toB1.Stall();
                break;
        }

        // Run until B2 served a round trip, then a little longer to catch opens still failing.
        var limit = Stopwatch.StartNew();
        while (!ServedBy(records, b2, killed) && limit.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        await kill;

        Record[] all = [.. records.SelectMany(r => { lock (r) { return r.ToArray(); } })];
        Record[] after = [.. all.Where(r => r.At > killed)];
        Record? first = after.Where(r => r.Origin == b2).OrderBy(r => r.At).Cast<Record?>().FirstOrDefault();
        int servedBefore = all.Count(r => r.At <= killed && r.Origin is not null);
        if (all.Any(r => r.At <= killed && r.Origin is { } o && o != b1))
        {
            // The replica in use changed before the kill: say why, and stop (the measurement would be meaningless).
            Record[] before = [.. all.Where(r => r.At <= killed).OrderBy(r => r.At)];
            Record firstOff = before.First(r => r.Origin != b1);
            double window = Stopwatch.GetElapsedTime(before[0].Started, firstOff.At).TotalSeconds;
            int served = before.Count(r => r.At <= firstOff.At && r.Origin == b1);
            string errors = string.Join("; ", before.Where(r => r.Error is not null).GroupBy(r => r.Error).Select(g => $"{g.Count()} x {g.Key}"));
            throw new InvalidOperationException($"B2 served a round trip {Stopwatch.GetElapsedTime(firstOff.At, killed).TotalMilliseconds:0} ms before the kill, after B1 served {served} in {window:0.00} s ({served / window:0} per second); errors before the kill: {errors}");
        }

        if (!warmUp && first is null)
        {
            Console.WriteLine($"{mode}: B2 served nothing within 30 s of the kill");
        }

        foreach (IGrouping<string, Record> errors in after.Where(r => r.Error is not null).GroupBy(r => StreamNumber().Replace(r.Error!, "stream #")))
        {
            Console.WriteLine($"  {mode}: after the kill, {errors.Count()} x {errors.Key}");
        }

        return new TrialOutcome(
            first is { } f ? Stopwatch.GetElapsedTime(killed, f.At).TotalMilliseconds : NoFailoverMs,
            after.Count(r => r.OpenFailed),
            after.Count(r => r.Error is not null && !r.OpenFailed),
            servedBefore,
            after.Count(r => r.Origin is not null),
            after.Length == 0 ? 0 : after.Max(r => Stopwatch.GetElapsedTime(r.Started, r.At).TotalMilliseconds));
    }

    private static bool ServedBy(List<Record>[] records, NodeId origin, long after)
    {
        foreach (List<Record> list in records)
        {
            lock (list)
            {
                for (int i = list.Count - 1; i >= 0 && list[i].At > after; i--)
                {
                    if (list[i].Origin == origin)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static async Task OpenLoopAsync(FabricNode a, List<Record> records, TimeSpan interval, bool halfClose, CancellationToken stop)
    {
        byte[] payload = new byte[PayloadSize];
        byte[] reply = new byte[PayloadSize];
        Random.Shared.NextBytes(payload);
        long next = Stopwatch.GetTimestamp();
        long step = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        while (!stop.IsCancellationRequested)
        {
            if (step > 0)
            {
                next += step;
                TimeSpan wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, CancellationToken.None);
                }
                else if (wait < -10 * interval)
                {
                    next = Stopwatch.GetTimestamp(); // fell behind (a stall): do not burst to catch up
                }
            }

            RoutedStream stream;
            long started = Stopwatch.GetTimestamp();
            try
            {
                stream = await a.OpenServiceStreamAsync(Service, CoreSubprotocols.Echo, cancellationToken: CancellationToken.None);
            }
            catch (IOException ex)
            {
                Add(records, new Record(started, Stopwatch.GetTimestamp(), null, OpenFailed: true, ex.Message));
                await Task.Delay(1, CancellationToken.None); // a client retries, but not in a tight spin
                continue;
            }

            try
            {
                // A round trip that takes longer than 5 s counts as broken (a black-holed link never answers).
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await stream.WriteAsync(payload, timeout.Token);
                if (halfClose)
                {
                    stream.CompleteWrites(); // the echo ends when it reads our end of stream, and so does the stream: no reset
                }

                await stream.ReadExactlyAsync(reply, timeout.Token);
                if (halfClose && await stream.ReadAsync(reply, timeout.Token) != 0)
                {
                    throw new IOException("the echo sent more than it was sent");
                }
                Add(records, new Record(started, Stopwatch.GetTimestamp(), stream.Route.Origin, OpenFailed: false, null));
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
                Add(records, new Record(started, Stopwatch.GetTimestamp(), null, OpenFailed: false, $"round trip: {ex.GetType().Name}: {ex.Message}"));
            }
            finally
            {
                await stream.DisposeAsync();
            }
        }
    }

    private static void Add(List<Record> records, Record record)
    {
        lock (records)
        {
            records.Add(record);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"stream \d+")]
    private static partial System.Text.RegularExpressions.Regex StreamNumber();

    private readonly record struct Record(long Started, long At, NodeId? Origin, bool OpenFailed, string? Error);

    private readonly record struct TrialOutcome(double FailoverMs, int FailedOpens, int BrokenStreams, int ServedBefore, int ServedAfter, double SlowestAfterMs);
}
