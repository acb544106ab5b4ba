namespace Fabric.Core.Sessions;

/// <summary>Counters of one session, safe to read from any thread.</summary>
public sealed class FabricSessionStatistics
{
    private readonly long[] _dataBytesSentByClass = new long[(int)TrafficClass.Droppable + 1];
    private long _framesReceived;
    private long _bytesReceived;
    private long _controlBytesSent;
    private long _streamsOpenedLocally;
    private long _streamsOpenedByPeer;
    private long _streamsRefused;
    private long _protocolErrors;
    private long _floodsDetected;
    private long _writesDropped;
    private long _windowGrowths;

    /// <summary>Frames received, all types.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>Payload bytes received, all frame types.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Bytes of control frames sent (headers included).</summary>
    public long ControlBytesSent => Interlocked.Read(ref _controlBytesSent);

    /// <summary>Streams this side opened.</summary>
    public long StreamsOpenedLocally => Interlocked.Read(ref _streamsOpenedLocally);

    /// <summary>Streams the peer opened and this side accepted.</summary>
    public long StreamsOpenedByPeer => Interlocked.Read(ref _streamsOpenedByPeer);

    /// <summary>Streams the peer opened and this side refused (limits, draining, backlog).</summary>
    public long StreamsRefused => Interlocked.Read(ref _streamsRefused);

    /// <summary>Protocol violations by the peer (each ends the session).</summary>
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    /// <summary>Flood caps exceeded by the peer.</summary>
    public long FloodsDetected => Interlocked.Read(ref _floodsDetected);

    /// <summary>Writes dropped on droppable streams.</summary>
    public long WritesDropped => Interlocked.Read(ref _writesDropped);

    /// <summary>Times a stream receive window doubled.</summary>
    public long WindowGrowths => Interlocked.Read(ref _windowGrowths);

    /// <summary>DATA payload bytes sent in one traffic class.</summary>
    public long DataBytesSent(TrafficClass trafficClass) => Interlocked.Read(ref _dataBytesSentByClass[(int)trafficClass]);

    internal void OnFrameReceived(int payloadLength)
    {
        Interlocked.Increment(ref _framesReceived);
        Interlocked.Add(ref _bytesReceived, payloadLength);
        Diagnostics.FabricTelemetry.OnReceived(payloadLength);
    }

    internal void OnDataSent(TrafficClass trafficClass, int bytes)
    {
        Interlocked.Add(ref _dataBytesSentByClass[(int)trafficClass], bytes);
        Diagnostics.FabricTelemetry.OnDataSent(trafficClass, bytes);
    }

    internal void OnControlSent(int bytes) => Interlocked.Add(ref _controlBytesSent, bytes);

    internal void OnStreamOpened(bool local)
    {
        Interlocked.Increment(ref local ? ref _streamsOpenedLocally : ref _streamsOpenedByPeer);
        Diagnostics.FabricTelemetry.OnStreamOpened(local);
    }

    internal void OnStreamRefused()
    {
        Interlocked.Increment(ref _streamsRefused);
        Diagnostics.FabricTelemetry.OnStreamRefused();
    }

    internal void OnProtocolError()
    {
        Interlocked.Increment(ref _protocolErrors);
        Diagnostics.FabricTelemetry.OnProtocolError();
    }

    internal void OnFloodDetected() => Interlocked.Increment(ref _floodsDetected);

    internal void OnWriteDropped() => Interlocked.Increment(ref _writesDropped);

    internal void OnWindowGrown() => Interlocked.Increment(ref _windowGrowths);
}
