using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Fabric.Core.Links;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security;

/// <summary>
/// A man in the middle between two carriers. Left to right it forwards whole records (8-byte prefix + body), so the
/// test can insert bytes exactly at a record boundary and can see every record that went by; right to left it
/// copies bytes as they come.
/// </summary>
internal sealed class RecordRelay : IAsyncDisposable
{
    // Far above any test's length: the pumps only wait this long so that nothing can hang forever.
    private static readonly TimeSpan PumpTimeout = TimeSpan.FromSeconds(60);

    private readonly IFabricLink _left;
    private readonly IFabricLink _right;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _sync = new();
    private readonly List<byte[]> _forwarded = [];
    private readonly Task _leftToRight;
    private readonly Task _rightToLeft;

    /// <summary>Starts relaying between <paramref name="left"/> (the sender's side) and <paramref name="right"/>.</summary>
    public RecordRelay(IFabricLink left, IFabricLink right)
    {
        _left = left;
        _right = right;
        _leftToRight = Task.Run(ForwardRecordsAsync);
        _rightToLeft = Task.Run(CopyBackAsync);
    }

    /// <summary>Records forwarded left to right so far.</summary>
    public IReadOnlyList<byte[]> Forwarded
    {
        get
        {
            lock (_sync)
            {
                return [.. _forwarded];
            }
        }
    }

    /// <summary>The transport records forwarded left to right so far.</summary>
    public IReadOnlyList<byte[]> TransportRecords => [.. Forwarded.Where(r => r[0] == (byte)SecureRecordType.Transport)];

    /// <summary>Writes <paramref name="bytes"/> to the right side between two forwarded records.</summary>
    public async Task InjectAsync(byte[] bytes)
    {
        Assert.True(await _gate.WaitAsync(TestTimeouts.Short), "relay busy");
        try
        {
            await _right.Output.WriteAsync(bytes).AsTask().WaitAsync(TestTimeouts.Short);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _left.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await _right.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        try
        {
            await Task.WhenAll(_leftToRight, _rightToLeft).WaitAsync(TestTimeouts.Short);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // the carriers were torn down under the pumps
        }

        _gate.Dispose();
    }

    private async Task ForwardRecordsAsync()
    {
        try
        {
            while (true)
            {
                ReadResult result = await _left.Input.ReadAsync().AsTask().WaitAsync(PumpTimeout);
                ReadOnlySequence<byte> buffer = result.Buffer;
                while (TryTakeRecord(ref buffer, out byte[] record))
                {
                    lock (_sync)
                    {
                        _forwarded.Add(record);
                    }

                    if (!await _gate.WaitAsync(PumpTimeout))
                    {
                        throw new TimeoutException("relay gate");
                    }

                    try
                    {
                        await _right.Output.WriteAsync(record).AsTask().WaitAsync(PumpTimeout);
                    }
                    finally
                    {
                        _gate.Release();
                    }
                }

                _left.Input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        finally
        {
            // Like a middlebox whose other side went away: end this side too (a FIN in memory, a reset over TCP).
            await _right.Output.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
            _right.Abort();
        }
    }

    private async Task CopyBackAsync()
    {
        try
        {
            while (true)
            {
                ReadResult result = await _right.Input.ReadAsync().AsTask().WaitAsync(PumpTimeout);
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    await _left.Output.WriteAsync(segment).AsTask().WaitAsync(PumpTimeout);
                }

                _right.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        finally
        {
            await _left.Output.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
            _left.Abort();
        }
    }

    private static bool TryTakeRecord(ref ReadOnlySequence<byte> buffer, out byte[] record)
    {
        record = [];
        if (buffer.Length < RecordPrefix.Size)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[RecordPrefix.Size];
        buffer.Slice(0, RecordPrefix.Size).CopyTo(prefix);
        long total = RecordPrefix.Size + (long)BinaryPrimitives.ReadUInt32BigEndian(prefix[4..]);
        if (buffer.Length < total)
        {
            return false;
        }

        record = buffer.Slice(0, total).ToArray();
        buffer = buffer.Slice(total);
        return true;
    }
}
