using Fabric.Core.Security;

namespace Fabric.Core.Discovery;

/// <summary>One link's control stream to a neighbor, as the directory gossip sees it.</summary>
public interface IControlChannel
{
    /// <summary>The neighbor at the other end.</summary>
    NodeId Neighbor { get; }

    /// <summary>Current RTT of the link (added to the path RTT of what arrives over it).</summary>
    TimeSpan LinkRtt { get; }

    /// <summary>Queues a message without waiting; false when the channel is closed or overloaded.</summary>
    bool TrySend(byte[] message);
}
