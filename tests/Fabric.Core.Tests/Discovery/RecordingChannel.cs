using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>A control channel that keeps what is sent over it.</summary>
internal sealed class RecordingChannel(NodeId neighbor, TimeSpan linkRtt) : IControlChannel
{
    public NodeId Neighbor { get; } = neighbor;

    public TimeSpan LinkRtt { get; } = linkRtt;

    public List<byte[]> Sent { get; } = [];

    public bool Closed { get; set; }

    public bool TrySend(byte[] message)
    {
        if (Closed)
        {
            return false;
        }

        Sent.Add(message);
        return true;
    }
}
