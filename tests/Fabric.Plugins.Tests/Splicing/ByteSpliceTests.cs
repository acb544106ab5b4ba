using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Fabric.Plugins.Shared;

namespace Fabric.Plugins.Tests.Splicing;

/// <summary>
/// The byte splice the egresses join a fabric stream and a backend connection with: half-closes pass through one
/// direction at a time, and a failure of either direction ends the whole splice (the other one may never end).
/// </summary>
public sealed class ByteSpliceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task BackendResetWhileTheOtherSideIsSilent_SpliceEndsWithTheResetAndCancelsTheSilentRead()
    {
        (Socket backend, Socket peer) = await ConnectedPairAsync();
        using (backend)
        using (peer)
        {
            var silent = new PipeDuplex();
            await using var backendStream = new NetworkStream(backend, ownsSocket: false);
            Task splice = ByteSplice.RunAsync(silent, () => { }, backendStream, () => backend.Shutdown(SocketShutdown.Send), CancellationToken.None);

            // The backend dies with data unread (the kernel answers with RST), as a SIGKILLed server does.
            await silent.Incoming.Writer.WriteAsync(new byte[100]);
            await WaitUntilAsync(() => peer.Available >= 100);
            peer.LingerState = new LingerOption(true, 0);
            peer.Close();

            Task ended = await Task.WhenAny(splice, Task.Delay(Bound));
            Assert.True(ended == splice, "the splice still waits for the silent side after its backend was reset");
            Exception error = await Assert.ThrowsAnyAsync<Exception>(() => splice);
            Assert.True(error is IOException or SocketException, $"expected the reset, got {error.GetType().Name}: {error.Message}");
            Assert.True(silent.ReadCancelled, "the silent side's read was not cancelled");
        }
    }

    [Fact]
    public async Task BothSidesEndNormally_EveryByteCopied_EachEndPassedOn()
    {
        var a = new PipeDuplex();
        var b = new PipeDuplex();
        int endsToA = 0, endsToB = 0;
        Task splice = ByteSplice.RunAsync(a, () => endsToA++, b, () => endsToB++, CancellationToken.None);

        byte[] up = [.. Enumerable.Range(0, 200_000).Select(i => (byte)i)];
        byte[] down = [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7))];
        await a.Incoming.Writer.WriteAsync(up);
        await a.Incoming.Writer.CompleteAsync();

        // One direction ended; the other still flows (a half-close, not an end of the splice).
        await Task.Delay(50);
        Assert.False(splice.IsCompleted);
        await b.Incoming.Writer.WriteAsync(down);
        await b.Incoming.Writer.CompleteAsync();

        await splice.WaitAsync(Bound);
        Assert.Equal(up, b.Written.ToArray());
        Assert.Equal(down, a.Written.ToArray());
        Assert.Equal(1, endsToA);
        Assert.Equal(1, endsToB);
    }

    [Fact]
    public async Task CallerCancels_SpliceEndsWithOperationCanceled()
    {
        var a = new PipeDuplex();
        var b = new PipeDuplex();
        using var stop = new CancellationTokenSource();
        Task splice = ByteSplice.RunAsync(a, () => { }, b, () => { }, stop.Token);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => splice.WaitAsync(Bound));
        Assert.True(a.ReadCancelled && b.ReadCancelled);
    }

    private static async Task<(Socket Accepted, Socket Connected)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        Socket accepted = await listener.AcceptAsync();
        return (client, accepted);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Bound, "condition not met in time");
            await Task.Delay(5);
        }
    }

    /// <summary>A duplex stream: reads come from <see cref="Incoming"/> (the test writes them), writes are kept.</summary>
    private sealed class PipeDuplex : Stream
    {
        public Pipe Incoming { get; } = new();

        public MemoryStream Written { get; } = new();

        public bool ReadCancelled { get; private set; }

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                ReadResult result = await Incoming.Reader.ReadAsync(cancellationToken);
                int n = (int)Math.Min(buffer.Length, result.Buffer.Length);
                System.Buffers.BuffersExtensions.CopyTo(result.Buffer.Slice(0, n), buffer.Span);
                Incoming.Reader.AdvanceTo(result.Buffer.GetPosition(n));
                return n;
            }
            catch (OperationCanceledException)
            {
                ReadCancelled = true;
                throw;
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (Written)
            {
                Written.Write(buffer.Span);
            }

            return ValueTask.CompletedTask;
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
