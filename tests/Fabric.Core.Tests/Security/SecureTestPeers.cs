using System.IO.Pipelines;
using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security;

/// <summary>Shared set-up for the secure-link tests: carrier pairs (in-memory or loopback TCP) and completed handshakes.</summary>
internal static class SecureTestPeers
{
    /// <summary>Options for an initiator that is expected to fail: it gives up quickly.</summary>
    public static readonly SecureLinkOptions QuickTimeout = new() { HandshakeTimeout = TimeSpan.FromMilliseconds(750) };

    /// <summary>Two connected carriers: in memory, or a real TCP connection over 127.0.0.1.</summary>
    public static async Task<(IFabricLink Initiator, IFabricLink Responder)> CarrierPairAsync(bool overTcp)
    {
        if (!overTcp)
        {
            var (a, b) = InMemoryLink.CreatePair();
            return (a, b);
        }

        TcpLinkListener listener = TcpLinkListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            ValueTask<TcpLink> accept = listener.AcceptAsync();
            TcpLink client = await TcpLink.ConnectAsync(listener.LocalEndPoint).WaitAsync(TestTimeouts.Short);
            TcpLink server = await accept.WaitAsync(TestTimeouts.Short);
            return (client, server);
        }
        finally
        {
            await listener.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
    }

    /// <summary>Two endpoints that pin each other's keys.</summary>
    public static (SecureLinkEndpoint A, SecureLinkEndpoint B) PinnedEndpoints(NodeIdentity a, NodeIdentity b, SecureLinkOptions? optionsA = null, SecureLinkOptions? optionsB = null)
        => (new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [b.PublicKey]), optionsA),
            new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [a.PublicKey]), optionsB));

    /// <summary>Runs both sides of a handshake that must succeed.</summary>
    public static async Task<(SecureLink Initiator, SecureLink Responder)> HandshakeAsync(
        SecureLinkEndpoint initiator, SecureLinkEndpoint responder, IFabricLink initiatorCarrier, IFabricLink responderCarrier, IPAddress? source = null, byte[]? responderKey = null)
    {
        Task<SecureLink?> accept = responder.AcceptAsync(responderCarrier, source ?? IPAddress.Loopback);
        SecureLink a = await initiator.ConnectAsync(initiatorCarrier, responderKey ?? responder.Identity.PublicKey).WaitAsync(TestTimeouts.Short);
        SecureLink? b = await accept.WaitAsync(TestTimeouts.Short);
        Assert.NotNull(b);
        return (a, b);
    }

    /// <summary>Runs a handshake that the responder must drop: returns the initiator's failure; asserts the responder sent nothing.</summary>
    public static async Task<HandshakeFailure> DroppedHandshakeAsync(
        SecureLinkEndpoint initiator, SecureLinkEndpoint responder, byte[] responderKey, bool overTcp = false, IPAddress? source = null)
    {
        var (ci, cr) = await CarrierPairAsync(overTcp);
        var tap = new TapLink(cr);
        try
        {
            Task<SecureLink?> accept = responder.AcceptAsync(tap, source ?? IPAddress.Loopback);
            Task<SecureLink> connect = initiator.ConnectAsync(ci, responderKey);
            SecureLink? dropped = await accept.WaitAsync(TestTimeouts.Short);
            Assert.Null(dropped);
            var failure = await Assert.ThrowsAsync<SecureHandshakeException>(() => connect.WaitAsync(TestTimeouts.Short));
            Assert.Equal(0, tap.BytesSent);
            Assert.Equal(0, await PendingInputBytesAsync(ci.Input));
            return failure.Failure;
        }
        finally
        {
            await ci.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
            await tap.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
    }

    /// <summary>Disposes links (or anything else) in order, each with a timeout.</summary>
    public static async Task DisposeAllAsync(params IAsyncDisposable?[] items)
    {
        foreach (IAsyncDisposable? item in items)
        {
            if (item is not null)
            {
                await item.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
            }
        }
    }

    /// <summary>Bytes waiting unread in <paramref name="input"/> right now (0 when it has ended empty).</summary>
    public static async Task<long> PendingInputBytesAsync(PipeReader input)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        try
        {
            ReadResult result = await input.ReadAsync(cts.Token).AsTask().WaitAsync(TestTimeouts.Short);
            long length = result.Buffer.Length;
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            return length;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
    }

    /// <summary>Sends <paramref name="payload"/> one way over a secure link pair and checks it arrives intact.</summary>
    public static async Task AssertCarriesAsync(SecureLink from, SecureLink to, byte[] payload)
    {
        await from.Output.WriteAsync(payload).AsTask().WaitAsync(TestTimeouts.Short);
        var received = new MemoryStream();
        while (received.Length < payload.Length)
        {
            ReadResult result = await to.Input.ReadAsync().AsTask().WaitAsync(TestTimeouts.Short);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            to.Input.AdvanceTo(result.Buffer.End);
            Assert.False(result.IsCompleted && received.Length < payload.Length, "link ended early");
        }

        Assert.Equal(payload, received.ToArray());
    }

    /// <summary>Reads the first record of <paramref name="bytes"/> (prefix + body).</summary>
    public static byte[] FirstRecord(byte[] bytes)
    {
        uint body = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
        return bytes.AsSpan(0, RecordPrefix.Size + (int)body).ToArray();
    }

    /// <summary>Writes raw bytes into a carrier and flushes.</summary>
    public static async Task SendRawAsync(IFabricLink carrier, ReadOnlyMemory<byte> bytes)
    {
        await carrier.Output.WriteAsync(bytes).AsTask().WaitAsync(TestTimeouts.Short);
    }

    /// <summary>Concatenates sequences (for readability in tests).</summary>
    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
