using System.IO.Pipelines;
using System.Net.Sockets;

namespace Fabric.Core.Links;

/// <summary>
/// The TCP link's output: a stream pipe writer that, when completed, also shuts down the socket's sending
/// direction (FIN). The session completes its output once its last frame (GOAWAY) is out; the peer must see the
/// link end then, not only when the socket is finally disposed, or both sides wait for each other until the close
/// grace period runs out and the connection ends with a reset.
/// </summary>
internal sealed class SendShutdownPipeWriter(PipeWriter inner, Socket socket) : PipeWriter
{
    private int _completed;

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override void Complete(Exception? exception = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            inner.Complete(exception);
            ShutdownSend();
        }
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            await inner.CompleteAsync(exception).ConfigureAwait(false);
            ShutdownSend();
        }
    }

    private void ShutdownSend()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // already reset or disposed: the peer learns of the end anyway
        }
    }
}
