using Fabric.Plugins.Grpc;

namespace Fabric.Plugins.Tests.Grpc;

/// <summary>Every wrong value of Plugins:Settings:grpc is refused naming its key.</summary>
public sealed class GrpcDriverValidationTests
{
    public static TheoryData<string, string> BadSettings => new()
    {
        { "Listen:0", "Listen=nonsense" },
        { "Listen:0", "Listen=tcp://127.0.0.1:1" },
        { "Listen:0", "Listen=h2c://127.0.0.1:0" },
        { "CertificatePath", "Listen=https://127.0.0.1:5001" },
        { "Routes:0:Match", "Match=a/b" },
        { "Routes:0:Match", "Match=a.*.b" },
        { "Routes:0:Match", "Match=" },
        { "Routes:0:Service", "RouteService=" },
        { "Services:0:Name", "Name=" },
        { "Services:0:Backend", "Backend=ftp://127.0.0.1:21" },
        { "Services:0:Backend", "Backend=http://127.0.0.1" },
        { "Services:0:Backend", "Backend=http://127.0.0.1:80/path" },
        { "Services:1:Instance", "Duplicate" },
        { "Services:0:Weight", "Weight=0" },
        { "MaxMessageBytes", "MaxMessageBytes=0" },
        { "MaxRetries", "MaxRetries=11" },
        { "MaxConnections", "MaxConnections=0" },
        { "IdleTimeoutSeconds", "IdleTimeoutSeconds=0" },
        { "HealthCheckSeconds", "HealthCheckSeconds=-1" },
        { "DefaultDeadlineSeconds", "DefaultDeadlineSeconds=NaN" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Validate_BadValue_ErrorNamesTheKey(string key, string change)
    {
        GrpcDriverOptions options = Valid();
        Apply(options, change);

        ArgumentException error = Assert.Throws<ArgumentException>(() => GrpcDriverValidation.Validate(options));

        Assert.Contains($"'Plugins:Settings:grpc:{key}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GoodSettings_Listeners()
    {
        var listen = GrpcDriverValidation.Validate(Valid());

        Assert.Equal([("h2c", 50051), ("http", 50052)], listen.Select(l => (l.Scheme, l.EndPoint.Port)));
    }

    private static GrpcDriverOptions Valid() => new()
    {
        Listen = ["h2c://127.0.0.1:50051", "http://localhost:50052"],
        Routes = [new GrpcRouteOptions { Match = "grpc.testing.*", Service = "interop" }],
        Services = [new GrpcBackendOptions { Name = "interop", Instance = "r1", Backend = "http://127.0.0.1:6001" }],
    };

    private static void Apply(GrpcDriverOptions options, string change)
    {
        string[] parts = change.Split('=', 2);
        string value = parts.Length > 1 ? parts[1] : "";
        switch (parts[0])
        {
            case "Listen": options.Listen = [value]; break;
            case "Match": options.Routes[0].Match = value; break;
            case "RouteService": options.Routes[0].Service = value; break;
            case "Name": options.Services[0].Name = value; break;
            case "Backend": options.Services[0].Backend = value; break;
            case "Duplicate": options.Services.Add(new GrpcBackendOptions { Name = "interop", Instance = "r1", Backend = "http://127.0.0.1:6002" }); break;
            case "Weight": options.Services[0].Weight = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "MaxMessageBytes": options.MaxMessageBytes = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "MaxRetries": options.MaxRetries = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "MaxConnections": options.MaxConnections = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "IdleTimeoutSeconds": options.IdleTimeoutSeconds = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "HealthCheckSeconds": options.HealthCheckSeconds = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "DefaultDeadlineSeconds": options.DefaultDeadlineSeconds = double.NaN; break;
            default: throw new ArgumentException(change);
        }
    }
}
