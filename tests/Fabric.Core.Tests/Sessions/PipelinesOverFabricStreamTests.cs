using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>PipeReader.Create / PipeWriter.Create over FabricStream: an echo through pipes both ways.</summary>
public class PipelinesOverFabricStreamTests
{
    [Fact]
    public async Task PipeReaderAndWriter_OverFabricStream_EchoWithHalfClose()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        // Echo side: everything read from b goes back out; end of input ends the output (half-close).
        Task echo = Task.Run(async () =>
        {
            PipeReader reader = PipeReader.Create(b, new StreamPipeReaderOptions(leaveOpen: true));
            PipeWriter writer = PipeWriter.Create(b, new StreamPipeWriterOptions(leaveOpen: true));
            await reader.CopyToAsync(writer).WaitAsync(TestTimeouts.Long);
            await writer.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
            await reader.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
            b.CompleteWrites();
        });

        byte[] payload = RandomNumberGenerator.GetBytes(700_000);
        PipeWriter output = PipeWriter.Create(a, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
        PipeReader input = PipeReader.Create(a, new StreamPipeReaderOptions(bufferSize: 8192, leaveOpen: true));
        Task send = Task.Run(async () =>
        {
            int offset = 0;
            while (offset < payload.Length)
            {
                Memory<byte> memory = output.GetMemory(1);
                int n = Math.Min(memory.Length, Math.Min(10_007, payload.Length - offset));
                payload.AsMemory(offset, n).CopyTo(memory);
                output.Advance(n);
                offset += n;
                FlushResult flush = await output.FlushAsync().AsTask().WaitAsync(TestTimeouts.Short);
                Assert.False(flush.IsCompleted);
            }

            await output.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
            a.CompleteWrites();
        });

        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            ReadResult result = await input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Long);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await input.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await Task.WhenAll(send, echo).WaitAsync(TestTimeouts.Short);
        Assert.Equal(payload, received.WrittenSpan.ToArray());
        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "stream left both tables");
    }

    [Fact]
    public async Task PipeWriterComplete_WithoutLeaveOpen_DisposesStreamGracefully()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        byte[] payload = RandomNumberGenerator.GetBytes(300_000);

        PipeWriter writer = PipeWriter.Create(a); // completing it disposes the FabricStream: CLOSE after the data
        await writer.WriteAsync(payload).AsTask().WaitAsync(TestTimeouts.Short);
        await writer.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);

        PipeReader reader = PipeReader.Create(b);
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            ReadResult result = await reader.ReadAsync().AsTask().WaitAsync(TestTimeouts.Long);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
        Assert.Equal(payload, received.WrittenSpan.ToArray());
        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "stream left both tables");
    }
}
