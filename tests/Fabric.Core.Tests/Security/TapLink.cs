using System.IO.Pipelines;
using Fabric.Core.Links;

namespace Fabric.Core.Tests.Security;

/// <summary>A carrier wrapper that records everything its owner sends (to assert silence or capture a handshake).</summary>
internal sealed class TapLink(IFabricLink inner) : IFabricLink
{
    private readonly RecordingPipeWriter _output = new(inner.Output);

    public PipeReader Input => inner.Input;

    public PipeWriter Output => _output;

    public string RemoteDescription => inner.RemoteDescription;

    /// <summary>Bytes sent through this end so far.</summary>
    public long BytesSent => _output.Count;

    /// <summary>A copy of the bytes sent so far.</summary>
    public byte[] Sent => _output.ToArray();

    public void Abort() => inner.Abort();

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
