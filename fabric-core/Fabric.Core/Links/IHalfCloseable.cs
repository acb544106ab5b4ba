namespace Fabric.Core.Links;

/// <summary>A duplex stream whose writing direction can end while reading goes on (TCP's shutdown(SHUT_WR)).</summary>
public interface IHalfCloseable
{
    /// <summary>Ends the writing direction: the other side reads end of stream after what was written.</summary>
    void CompleteWrites();
}
