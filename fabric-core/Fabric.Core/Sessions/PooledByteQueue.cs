using System.Buffers;

namespace Fabric.Core.Sessions;

/// <summary>
/// A byte FIFO built from <see cref="ArrayPool{T}"/> chunks. It holds no array while empty, so an idle stream
/// costs nothing here, and it allocates nothing in steady state (the chunk ring is kept once grown).
/// Not thread-safe: the owner guards it with its lock.
/// </summary>
internal struct PooledByteQueue
{
    public const int ChunkSize = 16 * 1024;

    private Chunk[]? _ring;
    private int _head;   // index of the oldest chunk
    private int _count;  // chunks in use
    private long _length;

    public readonly long Length => _length;

    public readonly bool IsEmpty => _length == 0;

    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            ref Chunk tail = ref TailWithSpace();
            int n = Math.Min(data.Length, tail.Array.Length - tail.End);
            data[..n].CopyTo(tail.Array.AsSpan(tail.End));
            tail.End += n;
            _length += n;
            data = data[n..];
        }
    }

    public void Append(in ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            Append(data.FirstSpan);
            return;
        }

        foreach (ReadOnlyMemory<byte> segment in data)
        {
            Append(segment.Span);
        }
    }

    /// <summary>Copies up to <c>destination.Length</c> bytes from the front without consuming them.</summary>
    public readonly int Peek(Span<byte> destination)
    {
        int copied = 0;
        for (int i = 0; i < _count && copied < destination.Length; i++)
        {
            Chunk c = _ring![(_head + i) % _ring.Length];
            int n = Math.Min(destination.Length - copied, c.End - c.Start);
            c.Array.AsSpan(c.Start, n).CopyTo(destination[copied..]);
            copied += n;
        }

        return copied;
    }

    /// <summary>Drops <paramref name="count"/> bytes from the front, returning emptied chunks to the pool.</summary>
    public void Consume(long count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _length);

        _length -= count;
        while (count > 0)
        {
            ref Chunk head = ref _ring![_head];
            int n = (int)Math.Min(count, head.End - head.Start);
            head.Start += n;
            count -= n;
            if (head.Start == head.End)
            {
                ReturnHead();
            }
        }
    }

    /// <summary>Copies and consumes up to <c>destination.Length</c> bytes.</summary>
    public int Read(Span<byte> destination)
    {
        int n = Peek(destination);
        Consume(n);
        return n;
    }

    /// <summary>Returns every chunk to the pool; the queue is empty afterwards.</summary>
    public void Clear()
    {
        while (_count > 0)
        {
            ReturnHead();
        }

        _length = 0;
    }

    private void ReturnHead()
    {
        ref Chunk head = ref _ring![_head];
        ArrayPool<byte>.Shared.Return(head.Array);
        head = default;
        _head = (_head + 1) % _ring.Length;
        _count--;
        if (_count == 0)
        {
            _head = 0;
        }
    }

    private ref Chunk TailWithSpace()
    {
        if (_count > 0)
        {
            ref Chunk tail = ref _ring![(_head + _count - 1) % _ring.Length];
            if (tail.End < tail.Array.Length)
            {
                return ref tail;
            }
        }

        if (_ring is null)
        {
            _ring = new Chunk[4];
        }
        else if (_count == _ring.Length)
        {
            var grown = new Chunk[_ring.Length * 2];
            for (int i = 0; i < _count; i++)
            {
                grown[i] = _ring[(_head + i) % _ring.Length];
            }

            _ring = grown;
            _head = 0;
        }

        ref Chunk fresh = ref _ring[(_head + _count) % _ring.Length];
        fresh = new Chunk { Array = ArrayPool<byte>.Shared.Rent(ChunkSize) };
        _count++;
        return ref fresh;
    }

    private struct Chunk
    {
        public byte[] Array;
        public int Start;
        public int End;
    }
}
