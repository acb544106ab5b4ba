using System.Net;
using Fabric.Core.Security;

namespace Fabric.Core.Routing;

/// <summary>
/// A routed stream as a subprotocol handler receives it: the bytes (a duplex <see cref="System.IO.Stream"/>,
/// end-to-end decrypted when it came through relays), and who and what it is for.
/// </summary>
public sealed class FabricStreamContext
{
    internal FabricStreamContext(Stream stream, RoutePreamble preamble, NodeId origin, string? originName, bool relayed, Action<Sessions.FabricErrorCode> abort)
    {
        Stream = stream;
        Subprotocol = preamble.Subprotocol;
        Service = preamble.Service;
        Instance = preamble.Instance;
        Source = preamble.Source;
        Origin = origin;
        OriginName = originName;
        Relayed = relayed;
        _abort = abort;
    }

    private readonly Action<Sessions.FabricErrorCode> _abort;

    /// <summary>The stream's bytes, both ways.</summary>
    public Stream Stream { get; }

    /// <summary>The subprotocol the stream speaks.</summary>
    public ushort Subprotocol { get; }

    /// <summary>The service the stream is for.</summary>
    public string Service { get; }

    /// <summary>The instance of the service the opener chose ("" from an opener that did not say: any instance).</summary>
    public string Instance { get; }

    /// <summary>The client address the ingress node saw (null when it did not say).</summary>
    public IPEndPoint? Source { get; }

    /// <summary>The node that opened the stream (authenticated).</summary>
    public NodeId Origin { get; }

    /// <summary>That node's name, if known.</summary>
    public string? OriginName { get; }

    /// <summary>True when the stream came through relay nodes.</summary>
    public bool Relayed { get; }

    /// <summary>Ends this side's writing; the opener reads end of stream.</summary>
    public void CompleteWrites()
    {
        if (Stream is Links.IHalfCloseable halfCloseable)
        {
            halfCloseable.CompleteWrites();
        }
    }

    /// <summary>Resets the stream with <paramref name="code"/> (RESET_STREAM reaches the opener, through relays too).</summary>
    public void Abort(Sessions.FabricErrorCode code) => _abort(code);
}
