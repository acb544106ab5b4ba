using System.Buffers;
using System.IO.Pipelines;
using Fabric.Core.Discovery;
using Fabric.Core.Links;
using Fabric.Core.Nodes;
using Fabric.Core.Security;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// A trusted peer that is not a <see cref="FabricNode"/>: it runs the real secure handshake and session to a node,
/// opens the link's control stream (subprotocol 0x0001) and writes whatever control bytes a test gives it. What the
/// node sends back is parsed and kept.
/// </summary>
internal sealed class FakeNeighbor : IAsyncDisposable
{
    private readonly FabricSession _session;
    private readonly FabricStream _control;
    private readonly Task _reader;
    private readonly List<(ControlMessageType Type, byte[] Body)> _received = [];

    private FakeNeighbor(FabricSession session, FabricStream control)
    {
        _session = session;
        _control = control;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Messages the node sent on the control stream.</summary>
    public IReadOnlyList<(ControlMessageType Type, byte[] Body)> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>True while the node has not closed or reset the control stream.</summary>
    public bool ControlOpen => !_reader.IsCompleted;

    public static async Task<FakeNeighbor> ConnectAsync(NodeIdentity identity, FabricTrust trust, FabricNode node)
    {
        TcpLink carrier = await TcpLink.ConnectAsync(node.ListenEndPoint!).AsTask().WaitAsync(TestTimeouts.Short);
        var endpoint = new SecureLinkEndpoint(identity, trust.WithPinnedKey(identity.PublicKey));
        SecureLink link = await endpoint.ConnectAsync(carrier, node.Identity.PublicKey).WaitAsync(TestTimeouts.Short);
        var session = new FabricSession(link, SessionRole.Initiator);
        session.Start();
        await session.Ready.WaitAsync(TestTimeouts.Short);
        FabricStream control = await session.OpenStreamAsync(CoreSubprotocols.Control, string.Empty, TrafficClass.Control).AsTask().WaitAsync(TestTimeouts.Short);
        return new FakeNeighbor(session, control);
    }

    /// <summary>Writes raw control-stream bytes.</summary>
    public Task SendAsync(byte[] bytes) => _control.WriteAsync(bytes).AsTask().WaitAsync(TestTimeouts.Short);

    /// <summary>Writes an ANNOUNCE of <paramref name="announcement"/> as if it came from <paramref name="hops"/> hops away.</summary>
    public Task AnnounceAsync(NodeAnnouncement announcement, int hops = 0) => SendAsync(ControlMessage.Announce(announcement, hops, TimeSpan.FromMilliseconds(1)));

    /// <summary>Writes an ANNOUNCE whose body is <paramref name="encoded"/> as given (no parsing, no checks).</summary>
    public Task AnnounceRawAsync(byte[] encoded, int hops = 0)
    {
        byte[] body = new byte[5 + encoded.Length];
        body[0] = (byte)hops;
        encoded.CopyTo(body, 5);
        return SendAsync(Frame(ControlMessageType.Announce, body));
    }

    public static byte[] Frame(ControlMessageType type, byte[] body)
    {
        byte[] message = new byte[ControlMessage.HeaderSize + body.Length];
        message[0] = (byte)type;
        message[1] = (byte)(body.Length >> 16);
        message[2] = (byte)(body.Length >> 8);
        message[3] = (byte)body.Length;
        body.CopyTo(message, ControlMessage.HeaderSize);
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        _session.Abort(FabricErrorCode.NoError, "fake neighbor done");
        await _session.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        await _reader.WaitAsync(TestTimeouts.Long);
    }

    private async Task ReadLoopAsync()
    {
        PipeReader reader = PipeReader.Create(_control, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                while (ControlMessage.TryRead(ref buffer, out ControlMessageType type, out ReadOnlySequence<byte> body))
                {
                    lock (_received)
                    {
                        _received.Add((type, body.ToArray()));
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or FormatException or InvalidOperationException)
        {
            // the node reset the stream or the session ended
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }
}
