using Fabric.Plugins.Grpc;

namespace Fabric.Plugins.Tests.Grpc;

public sealed class GrpcRouteTableTests
{
    private static readonly GrpcRouteTable Table = new(
    [
        new GrpcRouteOptions { Match = "*", Service = "catch-all" },
        new GrpcRouteOptions { Match = "acme.*", Service = "acme" },
        new GrpcRouteOptions { Match = "acme.billing.*", Service = "billing" },
        new GrpcRouteOptions { Match = "acme.billing.Invoices", Service = "invoices" },
        new GrpcRouteOptions { Match = "acme.billing.Invoices", Service = "ignored-duplicate" },
    ]);

    [Theory]
    [InlineData("acme.billing.Invoices", "invoices")]
    [InlineData("acme.billing.Payments", "billing")]
    [InlineData("acme.Users", "acme")]
    [InlineData("acmex.Users", "catch-all")]
    [InlineData("other.Svc", "catch-all")]
    public void Resolve_MostPreciseRouteWins(string grpcService, string expected)
    {
        (string service, bool routed) = Table.Resolve(grpcService);

        Assert.Equal(expected, service);
        Assert.True(routed);
    }

    [Fact]
    public void Resolve_NoRoute_TheGrpcServiceNameNotRouted()
    {
        var table = new GrpcRouteTable([new GrpcRouteOptions { Match = "acme.*", Service = "acme" }]);

        Assert.Equal(("grpc.testing.TestService", false), table.Resolve("grpc.testing.TestService"));
        Assert.True(Table.HasExactRoute("acme.billing.Invoices"));
        Assert.False(Table.HasExactRoute("acme.billing.Payments"));
    }
}
