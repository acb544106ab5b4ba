using System.IO.Pipelines;

namespace Fabric.Core.Links;

/// <summary>
/// An <see cref="IFabricLink"/> over any duplex <see cref="Stream"/>: lets a secure link run inside a fabric stream
/// (the end-to-end encryption of relayed streams).
/// </summary>
public sealed class StreamLink(Stream stream, string description, Action? abort = null) : IFabricLink
{
    /// <inheritdoc/>
    public PipeReader Input { get; } = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));

    /// <inheritdoc/>
    public PipeWriter Output { get; } = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));

    /// <inheritdoc/>
    public string RemoteDescription { get; } = description;

    /// <inheritdoc/>
    public void Abort()
    {
        if (abort is not null)
        {
            abort();
        }
        else
        {
            stream.Dispose();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
    }
}
