namespace Fabric.Core.Sessions;

/// <summary>
/// Chooses which stream's data goes next: strict priority between traffic classes (lower class value first),
/// deficit round robin between streams of one class. A stream is queued while it has buffered data and credit.
/// Intrusive lists (links live on the stream) so queuing allocates nothing. Guarded by the session lock.
/// </summary>
internal sealed class SendScheduler
{
    private const int ClassCount = (int)TrafficClass.Droppable + 1;

    private readonly FabricStream?[] _heads = new FabricStream?[ClassCount];
    private readonly FabricStream?[] _tails = new FabricStream?[ClassCount];

    public bool IsEmpty
    {
        get
        {
            foreach (FabricStream? head in _heads)
            {
                if (head is not null)
                {
                    return false;
                }
            }

            return true;
        }
    }

    public void Enqueue(FabricStream stream)
    {
        if (stream.InReadyQueue)
        {
            return;
        }

        int c = (int)stream.TrafficClass;
        stream.InReadyQueue = true;
        stream.ReadyNext = null;
        stream.ReadyPrev = _tails[c];
        if (_tails[c] is { } tail)
        {
            tail.ReadyNext = stream;
        }
        else
        {
            _heads[c] = stream;
        }

        _tails[c] = stream;
    }

    public void Remove(FabricStream stream)
    {
        if (!stream.InReadyQueue)
        {
            return;
        }

        int c = (int)stream.TrafficClass;
        if (stream.ReadyPrev is { } prev)
        {
            prev.ReadyNext = stream.ReadyNext;
        }
        else
        {
            _heads[c] = stream.ReadyNext;
        }

        if (stream.ReadyNext is { } next)
        {
            next.ReadyPrev = stream.ReadyPrev;
        }
        else
        {
            _tails[c] = stream.ReadyPrev;
        }

        stream.ReadyNext = stream.ReadyPrev = null;
        stream.InReadyQueue = false;
        stream.Deficit = 0;
    }

    /// <summary>The stream to serve next: the head of the highest-priority non-empty class.</summary>
    public FabricStream? Next()
    {
        for (int c = 0; c < ClassCount; c++)
        {
            if (_heads[c] is { } head)
            {
                return head;
            }
        }

        return null;
    }

    /// <summary>Moves the head of its class to the tail (its deficit for this round is spent).</summary>
    public void Rotate(FabricStream stream)
    {
        int c = (int)stream.TrafficClass;
        if (_heads[c] != stream || _tails[c] == stream)
        {
            return;
        }

        Remove(stream);
        Enqueue(stream);
    }

    public void Clear()
    {
        for (int c = 0; c < ClassCount; c++)
        {
            while (_heads[c] is { } head)
            {
                Remove(head);
            }
        }
    }
}
