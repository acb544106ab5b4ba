using System.Buffers;

namespace Fabric.Plugins.Shared;

/// <summary>Joins two streams byte for byte: each direction copies until its end, then half-closes the other side.</summary>
internal static class ByteSplice
{
    private const int BufferSize = 64 * 1024;

    /// <summary>Copies both ways until both directions ended; each end is passed on with its half-close action.</summary>
    public static Task RunAsync(Stream a, Action endWritesToA, Stream b, Action endWritesToB, CancellationToken cancellationToken) =>
        Task.WhenAll(PumpAsync(a, b, endWritesToB, cancellationToken), PumpAsync(b, a, endWritesToA, cancellationToken));

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
