using System.Net;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security;

public class HandshakeRateLimiterBucketTests
{
    [Fact]
    public void TryAcquire_Ipv6AddressesOfOneSlash64_ShareOneBucket()
    {
        var time = new ManualTimeProvider();
        var limiter = new HandshakeRateLimiter(ratePerSecond: 1, burst: 2, time);
        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::1")));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::2")));
        Assert.False(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:ffff::3")));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Fact]
    public void TryAcquire_Ipv4AddressesAndMappedForms_AreOneBucketPerAddress()
    {
        var time = new ManualTimeProvider();
        var limiter = new HandshakeRateLimiter(ratePerSecond: 1, burst: 1, time);
        Assert.True(limiter.TryAcquire(IPAddress.Parse("10.0.0.1")));
        Assert.False(limiter.TryAcquire(IPAddress.Parse("::ffff:10.0.0.1")));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("10.0.0.2")));
    }
}
