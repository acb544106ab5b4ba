using Fabric.Core.Links;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Unit tests of the ready queue: strict priority between classes, FIFO rotation within one.</summary>
public sealed class SendSchedulerTests : IAsyncDisposable
{
    private readonly FabricSession _session = new(InMemoryLink.CreatePair().A, SessionRole.Initiator); // never started: only a stream owner
    private readonly SendScheduler _scheduler = new();
    private uint _nextId = 1;

    [Fact]
    public void Next_Empty_ReturnsNull()
    {
        Assert.True(_scheduler.IsEmpty);
        Assert.Null(_scheduler.Next());
    }

    [Fact]
    public void Next_SeveralClasses_ServesLowestClassValueFirst()
    {
        FabricStream bulk = Stream(TrafficClass.Bulk);
        FabricStream droppable = Stream(TrafficClass.Droppable);
        FabricStream reliable = Stream(TrafficClass.Reliable);
        FabricStream interactive = Stream(TrafficClass.Interactive);
        FabricStream control = Stream(TrafficClass.Control);
        foreach (FabricStream s in new[] { bulk, droppable, reliable, interactive, control })
        {
            _scheduler.Enqueue(s);
        }

        var order = new List<TrafficClass>();
        while (_scheduler.Next() is { } next)
        {
            order.Add(next.TrafficClass);
            _scheduler.Remove(next);
        }

        Assert.Equal([TrafficClass.Control, TrafficClass.Interactive, TrafficClass.Reliable, TrafficClass.Bulk, TrafficClass.Droppable], order);
        Assert.True(_scheduler.IsEmpty);
    }

    [Fact]
    public void Next_HigherClassBecomesReady_PreemptsAtOnce()
    {
        FabricStream bulk = Stream(TrafficClass.Bulk);
        _scheduler.Enqueue(bulk);
        Assert.Same(bulk, _scheduler.Next());
        FabricStream interactive = Stream(TrafficClass.Interactive);
        _scheduler.Enqueue(interactive);
        Assert.Same(interactive, _scheduler.Next());
        _scheduler.Remove(interactive);
        Assert.Same(bulk, _scheduler.Next());
    }

    [Fact]
    public void Rotate_WithinClass_RoundRobin()
    {
        FabricStream[] streams = [Stream(TrafficClass.Reliable), Stream(TrafficClass.Reliable), Stream(TrafficClass.Reliable)];
        foreach (FabricStream s in streams)
        {
            _scheduler.Enqueue(s);
        }

        var served = new List<uint>();
        for (int i = 0; i < 9; i++)
        {
            FabricStream next = _scheduler.Next()!;
            served.Add(next.Id);
            _scheduler.Rotate(next);
        }

        uint[] ids = [.. streams.Select(s => s.Id)];
        Assert.Equal([.. ids, .. ids, .. ids], served);
    }

    [Fact]
    public void Rotate_OnlyStreamOfItsClass_StaysHead()
    {
        FabricStream only = Stream(TrafficClass.Bulk);
        _scheduler.Enqueue(only);
        _scheduler.Rotate(only);
        Assert.Same(only, _scheduler.Next());
    }

    [Fact]
    public void Enqueue_Twice_QueuedOnce()
    {
        FabricStream a = Stream(TrafficClass.Reliable), b = Stream(TrafficClass.Reliable);
        _scheduler.Enqueue(a);
        _scheduler.Enqueue(b);
        _scheduler.Enqueue(a);
        _scheduler.Remove(a);
        Assert.Same(b, _scheduler.Next());
        _scheduler.Remove(b);
        Assert.True(_scheduler.IsEmpty);
    }

    [Fact]
    public void Remove_Middle_KeepsOrderAndResetsDeficit()
    {
        FabricStream a = Stream(TrafficClass.Bulk), b = Stream(TrafficClass.Bulk), c = Stream(TrafficClass.Bulk);
        _scheduler.Enqueue(a);
        _scheduler.Enqueue(b);
        _scheduler.Enqueue(c);
        b.Deficit = 1234;
        _scheduler.Remove(b);
        Assert.Equal(0, b.Deficit);
        Assert.False(b.InReadyQueue);
        _scheduler.Remove(b); // not queued: no-op
        Assert.Same(a, _scheduler.Next());
        _scheduler.Rotate(a);
        Assert.Same(c, _scheduler.Next());
        _scheduler.Rotate(c);
        Assert.Same(a, _scheduler.Next());
    }

    [Fact]
    public void Clear_AllClasses_Empty()
    {
        FabricStream[] streams = [Stream(TrafficClass.Control), Stream(TrafficClass.Bulk), Stream(TrafficClass.Bulk)];
        foreach (FabricStream s in streams)
        {
            _scheduler.Enqueue(s);
        }

        _scheduler.Clear();
        Assert.True(_scheduler.IsEmpty);
        Assert.All(streams, s => Assert.False(s.InReadyQueue));
        _scheduler.Enqueue(streams[1]); // usable afterwards
        Assert.Same(streams[1], _scheduler.Next());
    }

    public ValueTask DisposeAsync() => _session.DisposeAsync();

    private FabricStream Stream(TrafficClass trafficClass)
    {
        uint id = _nextId;
        _nextId += 2;
        return new FabricStream(_session, id, 0x0100, trafficClass, "s", isLocal: true, 64 * 1024, 64 * 1024);
    }
}
