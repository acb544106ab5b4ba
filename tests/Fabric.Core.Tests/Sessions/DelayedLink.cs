using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Threading.Channels;
using Fabric.Core.Links;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// An in-memory link whose every byte arrives a fixed delay after it was flushed, in each direction, with no
/// bandwidth limit (a long fat pipe): what the sender flushes is timestamped and delivered when its time comes,
/// while later bytes keep flowing behind it.
/// </summary>
internal sealed class DelayedLink : IFabricLink
{
    private readonly Pipe _outgoing; // our Output writes here; a pump delays it into the peer's incoming pipe
    private readonly Pipe _incoming; // our Input reads here

    private DelayedLink(Pipe outgoing, Pipe incoming, string description)
    {
        _outgoing = outgoing;
        _incoming = incoming;
        RemoteDescription = description;
    }

    public PipeReader Input => _incoming.Reader;

    public PipeWriter Output => _outgoing.Writer;

    public string RemoteDescription { get; }

    /// <summary>Creates two connected ends; each direction delays delivery by <paramref name="oneWayDelay"/>.</summary>
    public static (DelayedLink A, DelayedLink B) CreatePair(TimeSpan oneWayDelay)
    {
        var options = new PipeOptions(pauseWriterThreshold: 64 * 1024 * 1024, resumeWriterThreshold: 32 * 1024 * 1024, useSynchronizationContext: false);
        Pipe aOut = new(options), aIn = new(options), bOut = new(options), bIn = new(options);
        _ = PumpAsync(aOut.Reader, bIn.Writer, oneWayDelay);
        _ = PumpAsync(bOut.Reader, aIn.Writer, oneWayDelay);
        return (new DelayedLink(aOut, aIn, "delayed:b"), new DelayedLink(bOut, bIn, "delayed:a"));
    }

    public void Abort()
    {
        _incoming.Reader.CancelPendingRead();
        _outgoing.Writer.CancelPendingFlush();
    }

    public ValueTask DisposeAsync()
    {
        _outgoing.Writer.Complete();
        _incoming.Reader.Complete();
        return default;
    }

    private static async Task PumpAsync(PipeReader source, PipeWriter destination, TimeSpan delay)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Task deliver = DeliverAsync(queue.Reader, destination);
        try
        {
            while (true)
            {
                ReadResult result = await source.ReadAsync();
                if (!result.Buffer.IsEmpty)
                {
                    long due = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
                    queue.Writer.TryWrite((due, result.Buffer.ToArray()));
                }

                source.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (InvalidOperationException)
        {
            // the session completed its end while the pump read
        }
        finally
        {
            queue.Writer.TryComplete();
            await source.CompleteAsync();
            await deliver;
        }
    }

    private static async Task DeliverAsync(ChannelReader<(long Due, byte[] Bytes)> queue, PipeWriter destination)
    {
        try
        {
            while (await queue.WaitToReadAsync())
            {
                bool unflushed = false;
                while (queue.TryPeek(out var item))
                {
                    TimeSpan wait;
                    while ((wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), item.Due)) > TimeSpan.Zero)
                    {
                        if (unflushed && (await destination.FlushAsync()).IsCompleted)
                        {
                            return;
                        }

                        unflushed = false;
                        await Task.Delay(wait); // may wake a little early (millisecond timer): check again
                    }

                    queue.TryRead(out _);
                    destination.Write(item.Bytes);
                    unflushed = true;
                }

                if (unflushed && (await destination.FlushAsync()).IsCompleted)
                {
                    return;
                }
            }
        }
        catch (InvalidOperationException)
        {
            // the receiving session is gone
        }
        finally
        {
            await destination.CompleteAsync();
        }
    }
}
