using System.Buffers;

namespace Fabric.Plugins.Shared;

/// <summary>
/// Joins two streams byte for byte: each direction copies until its end, then half-closes the other side. A direction
/// that fails (a reset connection, an aborted fabric stream) ends the whole splice at once: the other direction may
/// be waiting for bytes that will never come (a peer that keeps its half open until it hears back), so it is
/// cancelled, and the failure is what <see cref="RunAsync"/> throws, so the caller can abort both sides.
/// </summary>
internal static class ByteSplice
{
    private const int BufferSize = 64 * 1024;

    /// <summary>Copies both ways until both directions ended or one failed; each end is passed on with its half-close action.</summary>
    public static async Task RunAsync(Stream a, Action endWritesToA, Stream b, Action endWritesToB, CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? firstFailure = null;

        async Task DirectionAsync(Stream from, Stream to, Action endWrites)
        {
            try
            {
                await PumpAsync(from, to, endWrites, failed.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (!failed.IsCancellationRequested || ex is not OperationCanceledException)
                {
                    Interlocked.CompareExchange(ref firstFailure, ex, null);
                }

                await failed.CancelAsync().ConfigureAwait(false);
            }
        }

        await Task.WhenAll(DirectionAsync(a, b, endWritesToB), DirectionAsync(b, a, endWritesToA)).ConfigureAwait(false);
        if (firstFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstFailure);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Copies <paramref name="from"/> into <paramref name="to"/> until its end, then calls <paramref name="endWrites"/>.</summary>
    public static async Task PumpAsync(Stream from, Stream to, Action endWrites, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }

            await to.FlushAsync(cancellationToken).ConfigureAwait(false);
            endWrites();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
