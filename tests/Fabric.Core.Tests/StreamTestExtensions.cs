using Fabric.Core.Sessions;

namespace Fabric.Core.Tests;

/// <summary>Small read helpers for <see cref="FabricStream"/> with a timeout on every await.</summary>
internal static class StreamTestExtensions
{
    /// <summary>Reads to end of stream.</summary>
    public static async Task<byte[]> ReadToEndAsync(this Stream stream, TimeSpan? timeout = null)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(timeout ?? TestTimeouts.Long);
        return all.ToArray();
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (fails at end of stream).</summary>
    public static async Task<byte[]> ReadBytesAsync(this Stream stream, int count, TimeSpan? timeout = null)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).WaitAsync(timeout ?? TestTimeouts.Long);
        return buffer;
    }

    /// <summary>Opens a stream on <paramref name="opener"/> and accepts it on <paramref name="acceptor"/>.</summary>
    public static async Task<(FabricStream Local, FabricStream Remote)> OpenPairAsync(this FabricSession opener, FabricSession acceptor, TrafficClass trafficClass = TrafficClass.Reliable, string target = "t")
    {
        FabricStream local = await opener.OpenStreamAsync(0x0100, target, trafficClass).WaitAsync(TestTimeouts.Short);
        FabricStream? remote = await acceptor.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(remote);
        Assert.Equal(local.Id, remote.Id);
        return (local, remote);
    }
}
