using System.IO.Pipelines;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Xunit;

namespace Fabric.Core.Tests.Links;

/// <summary>Disposing over a carrier that was reset releases everything instead of throwing.</summary>
public sealed class DuplexPipeStreamTests
{
    [Fact]
    public async Task Dispose_WriterFailsToComplete_ReaderCompletedAndOwnerReleased()
    {
        var input = new Pipe();
        bool released = false;
        var stream = new DuplexPipeStream(input.Reader, new FailingWriter(), () => released = true);

        stream.Dispose();

        Assert.True(released);
        input.Writer.GetSpan(1)[0] = 1;
        input.Writer.Advance(1);
        Assert.True((await input.Writer.FlushAsync()).IsCompleted); // the reading side was completed
    }

    [Fact]
    public void SecureLinkWriter_CompleteWhenTheCarrierFails_PassesTheFailureOnInsteadOfThrowing()
    {
        var carrier = new FailingWriter { FailAdvance = true };
        using var sealer = new RecordSealer(CipherSuite.ChaCha20Poly1305, new byte[32], 1, new RecordLimits(), TimeProvider.System);
        var writer = new SecureLinkWriter(carrier, sealer, new SecureLinkStatistics());
        writer.GetSpan(10)[..10].Fill(7);
        writer.Advance(10);

        writer.Complete();

        Assert.IsType<IOException>(carrier.CompletedWith);
    }

    private sealed class FailingWriter : PipeWriter
    {
        private readonly byte[] _buffer = new byte[128 * 1024];

        public bool FailAdvance { get; init; }

        public Exception? CompletedWith { get; private set; }

        public override void Advance(int bytes)
        {
            if (FailAdvance)
            {
                throw new IOException("stream reset");
            }
        }

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
            CompletedWith = exception;
            if (!FailAdvance)
            {
                throw new IOException("stream reset");
            }
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => throw new IOException("stream reset");

        public override Memory<byte> GetMemory(int sizeHint = 0) => _buffer;

        public override Span<byte> GetSpan(int sizeHint = 0) => _buffer;
    }
}
