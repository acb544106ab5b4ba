using Fabric.Core.Framing;

namespace Fabric.Core.Sessions;

/// <summary>An outbound control frame waiting for the writer. Values are resolved when it is written.</summary>
internal readonly record struct ControlItem(FrameType Type, uint StreamId, ulong Value, FabricStream? Stream);

/// <summary>
/// FIFO of control frames, served before any DATA. Bounded: a peer that makes us queue control frames
/// (pongs, credit, resets) without reading them gets the session dropped instead of unbounded memory.
/// Guarded by the session lock.
/// </summary>
internal sealed class ControlQueue(int capacity)
{
    private ControlItem[] _items = new ControlItem[16];
    private int _head;
    private int _count;

    public int Count => _count;

    public bool TryEnqueue(in ControlItem item)
    {
        if (_count == capacity)
        {
            return false;
        }

        if (_count == _items.Length)
        {
            var grown = new ControlItem[Math.Min(capacity, _items.Length * 2)];
            for (int i = 0; i < _count; i++)
            {
                grown[i] = _items[(_head + i) % _items.Length];
            }

            _items = grown;
            _head = 0;
        }

        _items[(_head + _count) % _items.Length] = item;
        _count++;
        return true;
    }

    public bool TryDequeue(out ControlItem item)
    {
        if (_count == 0)
        {
            item = default;
            return false;
        }

        item = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        _count--;
        return true;
    }

    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        _count = 0;
    }
}
