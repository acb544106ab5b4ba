using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Fabric.Core.Diagnostics;

/// <summary>
/// The fabric's metrics, meter <c>Fabric.Core</c> (docs/telemetry.md lists every instrument). Counters are kept as
/// process-wide totals that sessions and links already update with one interlocked add, and are read by observable
/// instruments when a listener (dotnet-counters, OpenTelemetry) collects: the data path makes no instrument call
/// per frame. RTT goes to a histogram once per PONG.
/// </summary>
public static class FabricTelemetry
{
    /// <summary>The meter name to subscribe to.</summary>
    public const string MeterName = "Fabric.Core";

    private static readonly string[] ClassNames = ["control", "interactive", "reliable", "bulk", "droppable"];
    private static readonly long[] BytesSentByClass = new long[ClassNames.Length];
    private static readonly long[] HandshakeFailures = new long[(int)HandshakeFailure.Timeout + 1];
    private static readonly ConcurrentDictionary<FabricNode, byte> Nodes = new();
    private static long s_bytesReceived;
    private static long s_streamsLocal;
    private static long s_streamsRemote;
    private static long s_streamsRefused;
    private static long s_protocolErrors;
    private static long s_handshakes;
    private static long s_recordsRejected;

    private static readonly Meter Meter = new(MeterName, "1.0");

    private static readonly Histogram<double> Rtt = Meter.CreateHistogram<double>(
        "fabric.session.rtt", "s", "Round-trip time of fabric links, measured by PING/PONG.");

    static FabricTelemetry()
    {
        Meter.CreateObservableCounter("fabric.session.streams_opened", StreamsOpened, "{stream}", "Streams opened, by who opened them.");
        Meter.CreateObservableCounter("fabric.session.streams_refused", () => Interlocked.Read(ref s_streamsRefused), "{stream}", "Streams peers opened that this node refused (limits, draining).");
        Meter.CreateObservableCounter("fabric.session.bytes_sent", BytesSent, "By", "DATA payload bytes sent, by traffic class.");
        Meter.CreateObservableCounter("fabric.session.bytes_received", () => Interlocked.Read(ref s_bytesReceived), "By", "Frame payload bytes received.");
        Meter.CreateObservableCounter("fabric.session.protocol_errors", () => Interlocked.Read(ref s_protocolErrors), "{error}", "Sessions ended by a peer's protocol violation.");
        Meter.CreateObservableUpDownCounter("fabric.link.active", ActiveLinks, "{link}", "Links up.");
        Meter.CreateObservableCounter("fabric.link.handshakes", () => Interlocked.Read(ref s_handshakes), "{handshake}", "Secure handshakes completed.");
        Meter.CreateObservableCounter("fabric.link.handshake_failures", Failures, "{handshake}", "Handshakes failed or dropped, by reason.");
        Meter.CreateObservableCounter("fabric.link.records_rejected", () => Interlocked.Read(ref s_recordsRejected), "{record}", "Records refused (bad tag, replay, stale key).");
        Meter.CreateObservableGauge("fabric.directory.replicas", Replicas, "{replica}", "Service replicas known, by health.");
        Meter.CreateObservableGauge("fabric.directory.origins", () => Nodes.Keys.Sum(n => (long)n.Directory.OriginCount), "{node}", "Nodes known to the directory.");
    }

    internal static void Register(FabricNode node) => Nodes[node] = 0;

    internal static void Unregister(FabricNode node) => Nodes.TryRemove(node, out _);

    internal static void OnStreamOpened(bool local) => Interlocked.Increment(ref local ? ref s_streamsLocal : ref s_streamsRemote);

    internal static void OnStreamRefused() => Interlocked.Increment(ref s_streamsRefused);

    internal static void OnDataSent(TrafficClass trafficClass, int bytes) => Interlocked.Add(ref BytesSentByClass[(int)trafficClass], bytes);

    internal static void OnReceived(int bytes) => Interlocked.Add(ref s_bytesReceived, bytes);

    internal static void OnProtocolError() => Interlocked.Increment(ref s_protocolErrors);

    internal static void OnRtt(TimeSpan rtt)
    {
        if (Rtt.Enabled)
        {
            Rtt.Record(rtt.TotalSeconds);
        }
    }

    internal static void OnHandshake() => Interlocked.Increment(ref s_handshakes);

    internal static void OnHandshakeFailure(HandshakeFailure failure) => Interlocked.Increment(ref HandshakeFailures[(int)failure]);

    internal static void OnRecordRejected() => Interlocked.Increment(ref s_recordsRejected);

    private static IEnumerable<Measurement<long>> StreamsOpened()
    {
        yield return new Measurement<long>(Interlocked.Read(ref s_streamsLocal), new KeyValuePair<string, object?>("fabric.stream.opener", "local"));
        yield return new Measurement<long>(Interlocked.Read(ref s_streamsRemote), new KeyValuePair<string, object?>("fabric.stream.opener", "peer"));
    }

    private static IEnumerable<Measurement<long>> BytesSent()
    {
        for (int i = 0; i < ClassNames.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref BytesSentByClass[i]), new KeyValuePair<string, object?>("fabric.traffic_class", ClassNames[i]));
        }
    }

    private static IEnumerable<Measurement<long>> Failures()
    {
        for (int i = 0; i < HandshakeFailures.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref HandshakeFailures[i]), new KeyValuePair<string, object?>("fabric.handshake.failure", ((HandshakeFailure)i).ToString()));
        }
    }

    private static long ActiveLinks() => Nodes.Keys.Sum(n => (long)n.Connections.Count);

    private static IEnumerable<Measurement<long>> Replicas()
    {
        var counts = new long[(int)ReplicaHealth.Unhealthy + 1];
        foreach (FabricNode node in Nodes.Keys)
        {
            foreach (ReplicaRoute route in node.Directory.AllReplicas())
            {
                counts[(int)route.Replica.Health]++;
            }
        }

        for (int i = 0; i < counts.Length; i++)
        {
            yield return new Measurement<long>(counts[i], new KeyValuePair<string, object?>("fabric.replica.health", ((ReplicaHealth)i).ToString().ToLowerInvariant()));
        }
    }
}
