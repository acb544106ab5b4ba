namespace Fabric.Core.Links;

/// <summary>
/// Implemented by link writers that group bytes into records (the secure link). The session calls
/// <see cref="EndRecord"/> after urgent frames (control, interactive) when bulk data follows in the same flush, so
/// the urgent frames travel in a small record of their own that the peer can open before the bulk record arrives.
/// </summary>
public interface IRecordBoundary
{
    /// <summary>Closes the record being filled; what is written next starts a new one.</summary>
    void EndRecord();
}
