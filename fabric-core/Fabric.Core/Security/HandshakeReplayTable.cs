namespace Fabric.Core.Security;

/// <summary>
/// The newest handshake timestamp accepted from each initiator (by node id): a HANDSHAKE_INIT whose timestamp is
/// not newer is a replay. Entries are made only for peers that authenticated and are trusted, so the table is
/// bounded by the number of trusted peers (and capped besides).
/// </summary>
internal sealed class HandshakeReplayTable(int capacity = 100_000)
{
    private readonly Dictionary<NodeId, ulong> _latest = [];
    private readonly Lock _lock = new();

    public bool TryAdvance(NodeId initiator, ulong timestamp)
    {
        lock (_lock)
        {
            if (_latest.TryGetValue(initiator, out ulong last) && timestamp <= last)
            {
                return false;
            }

            if (_latest.Count >= capacity && !_latest.ContainsKey(initiator))
            {
                _latest.Remove(_latest.Keys.First());
            }

            _latest[initiator] = timestamp;
            return true;
        }
    }
}
