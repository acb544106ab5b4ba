using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>One direction of an in-memory link: what its owner sends waits here until the network delivers it.</summary>
internal sealed class SimChannel(GossipNetwork network, SimNode owner, SimNode peer, TimeSpan linkRtt) : IControlChannel
{
    public SimNode Owner { get; } = owner;

    public SimNode Peer { get; } = peer;

    public NodeId Neighbor => Peer.Id;

    public TimeSpan LinkRtt { get; } = linkRtt;

    /// <summary>The peer's channel back to the owner (where delivered messages arrive from).</summary>
    public SimChannel? Reverse { get; set; }

    public bool Closed { get; set; }

    /// <summary>Sent, not yet delivered, in order, each with the network-wide send number.</summary>
    public Queue<(long Number, byte[] Message)> Pending { get; } = new();

    public bool TrySend(byte[] message)
    {
        if (Closed)
        {
            return false;
        }

        network.OnSend(this, message);
        Pending.Enqueue((network.NextNumber(), message));
        return true;
    }
}
