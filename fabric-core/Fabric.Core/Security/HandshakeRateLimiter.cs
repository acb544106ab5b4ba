using System.Collections.Concurrent;
using System.Net;

namespace Fabric.Core.Security;

/// <summary>Token bucket per source address for incoming handshakes; stale buckets are pruned as the table grows.</summary>
internal sealed class HandshakeRateLimiter(double ratePerSecond, int burst, TimeProvider time)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Bucket> _buckets = new();

    public bool TryAcquire(IPAddress? source)
    {
        source = Bucketed(source);
        long now = time.GetTimestamp();
        if (_buckets.Count > PruneAbove)
        {
            Prune(now);
        }

        Bucket bucket = _buckets.GetOrAdd(source, static (_, s) => new Bucket(s.burst, s.now), (burst, now));
        lock (bucket)
        {
            double elapsed = time.GetElapsedTime(bucket.Updated, now).TotalSeconds;
            bucket.Tokens = Math.Min(burst, bucket.Tokens + (elapsed * ratePerSecond));
            bucket.Updated = now;
            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens -= 1;
            return true;
        }
    }

    /// <summary>
    /// The bucket an address counts against: the address itself for IPv4, its /64 for IPv6 (a host controls the
    /// low 64 bits and could otherwise take a fresh bucket per address, as WireGuard also notes).
    /// </summary>
    internal static IPAddress Bucketed(IPAddress? source)
    {
        if (source is null)
        {
            return IPAddress.None;
        }

        if (source.IsIPv4MappedToIPv6)
        {
            return source.MapToIPv4();
        }

        if (source.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return source;
        }

        Span<byte> bytes = stackalloc byte[16];
        source.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    private void Prune(long now)
    {
        foreach ((IPAddress address, Bucket bucket) in _buckets)
        {
            if (time.GetElapsedTime(bucket.Updated, now).TotalSeconds * ratePerSecond >= burst)
            {
                _buckets.TryRemove(address, out _);
            }
        }
    }

    private sealed class Bucket(double tokens, long updated)
    {
        public double Tokens { get; set; } = tokens;

        public long Updated { get; set; } = updated;
    }
}
