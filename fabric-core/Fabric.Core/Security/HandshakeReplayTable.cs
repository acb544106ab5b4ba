namespace Fabric.Core.Security;

/// <summary>
/// Handshake replay protection per initiator (by node id). A HANDSHAKE_INIT is taken when its timestamp is no more
/// than <see cref="Window"/> older than the newest taken from that node and has not been taken before: an exact
/// replay is refused, and so is anything older than the window. The window (rather than "strictly newer") lets one
/// node run concurrent handshakes with another (two links, a redial racing an old one) without the later timestamp
/// arriving first locking out the earlier one. Entries are made only for peers that authenticated and are trusted,
/// so the table is bounded by the trusted peers, and capped besides.
/// </summary>
internal sealed class HandshakeReplayTable(int capacity = 100_000)
{
    /// <summary>How far behind the newest timestamp a new one may be.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private const int MaxRecentPerNode = 1024;
    private static readonly ulong WindowNanoseconds = (ulong)Window.Ticks * 100;

    private readonly Dictionary<NodeId, Entry> _entries = [];
    private readonly Lock _lock = new();

    public bool TryAdvance(NodeId initiator, ulong timestamp)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(initiator, out Entry? entry))
            {
                if (_entries.Count >= capacity)
                {
                    _entries.Remove(_entries.Keys.First());
                }

                _entries[initiator] = entry = new Entry();
            }
            else if (timestamp + WindowNanoseconds <= entry.Newest || entry.Recent.Contains(timestamp))
            {
                return false;
            }

            entry.Recent.Add(timestamp);
            if (timestamp > entry.Newest)
            {
                entry.Newest = timestamp;
                ulong floor = entry.Newest > WindowNanoseconds ? entry.Newest - WindowNanoseconds : 0;
                entry.Recent.RemoveWhere(t => t < floor);
            }

            if (entry.Recent.Count > MaxRecentPerNode)
            {
                entry.Recent.Remove(entry.Recent.Min());
            }

            return true;
        }
    }

    private sealed class Entry
    {
        public ulong Newest { get; set; }

        public HashSet<ulong> Recent { get; } = [];
    }
}
