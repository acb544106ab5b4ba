using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Fabric.Core.Discovery;
using Fabric.Core.Security;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Nodes;

/// <summary>
/// The control stream of one link (subprotocol 0x0001, CONTROL class): this node's MANIFEST first, then directory
/// gossip both ways. Sends go through a bounded outbox drained by one writer task, so gossip never waits on a slow
/// neighbor; a neighbor that lets the outbox fill, or floods messages, loses its control stream (and the link).
/// </summary>
internal sealed class ControlChannel : IControlChannel
{
    private const int OutboxCapacity = 200_000;

    private readonly FabricStream _stream;
    private readonly PeerConnection _connection;
    private readonly SubprotocolRegistry _registry;
    private readonly DirectoryGossip _gossip;
    private readonly DirectoryOptions _options;
    private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(OutboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    public ControlChannel(FabricStream stream, PeerConnection connection, SubprotocolRegistry registry, DirectoryGossip gossip, DirectoryOptions options)
    {
        _stream = stream;
        _connection = connection;
        _registry = registry;
        _gossip = gossip;
        _options = options;
    }

    public NodeId Neighbor => _connection.PeerId;

    public TimeSpan LinkRtt => _connection.Session.SmoothedRtt;

    public bool TrySend(byte[] message)
    {
        if (_outbox.Writer.TryWrite(message))
        {
            return true;
        }

        // Full (the neighbor does not read) or closed: this link's control stream is no longer useful.
        _stream.Abort(FabricErrorCode.EnhanceYourCalm);
        return false;
    }

    /// <summary>Runs until the stream or the node ends.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        TrySend(ControlMessage.Manifest(_registry.Manifest()));
        _gossip.AddChannel(this);
        Task writer = WriteLoopAsync();
        try
        {
            await ReadLoopAsync(stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // the link ended
        }
        catch (FormatException)
        {
            _stream.Abort(FabricErrorCode.ProtocolError);
        }
        finally
        {
            _gossip.RemoveChannel(this);
            _outbox.Writer.TryComplete();
            await writer.ConfigureAwait(false);
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync(CancellationToken stopping)
    {
        PipeReader reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        long windowStart = _options.TimeProvider.GetTimestamp();
        int inWindow = 0;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(stopping).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                try
                {
                    while (ControlMessage.TryRead(ref buffer, out ControlMessageType type, out ReadOnlySequence<byte> body))
                    {
                        if (_options.TimeProvider.GetElapsedTime(windowStart) >= TimeSpan.FromSeconds(1))
                        {
                            windowStart = _options.TimeProvider.GetTimestamp();
                            inWindow = 0;
                        }

                        if (++inWindow > _options.MaxMessagesPerSecondPerNeighbor)
                        {
                            throw new FormatException($"more than {_options.MaxMessagesPerSecondPerNeighbor} control messages per second");
                        }

                        if (type == ControlMessageType.Manifest)
                        {
                            _connection.Negotiated = _registry.Negotiate(ControlMessage.ReadManifest(body.ToArray()));
                        }
                        else
                        {
                            _gossip.OnMessage(this, type, body);
                        }
                    }

                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (await _outbox.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_outbox.Reader.TryRead(out byte[]? message))
                {
                    await _stream.WriteAsync(message).ConfigureAwait(false);
                }
            }

            _stream.CompleteWrites();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the stream ended; the read loop ends the channel
        }
    }
}
