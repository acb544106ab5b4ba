using System.Net;

namespace Fabric.Plugins.Grpc;

/// <summary>Checks <c>Plugins:Settings:grpc</c>; every error names its key.</summary>
internal static class GrpcDriverValidation
{
    private const string Prefix = "Plugins:Settings:grpc";

    /// <summary>Throws <see cref="ArgumentException"/> naming the key; returns the listeners.</summary>
    public static List<(IPEndPoint EndPoint, string Scheme)> Validate(GrpcDriverOptions options)
    {
        var listen = new List<(IPEndPoint, string)>();
        for (int i = 0; i < options.Listen.Count; i++)
        {
            string text = options.Listen[i].Trim().Replace("localhost", "127.0.0.1", StringComparison.OrdinalIgnoreCase);
            int separator = text.IndexOf("://", StringComparison.Ordinal);
            string scheme = separator >= 0 ? text[..separator].ToLowerInvariant() : "";
            text = separator >= 0 ? text[(separator + 3)..].TrimEnd('/') : text;
            if (scheme is not ("h2c" or "http" or "https") || !IPEndPoint.TryParse(text, out IPEndPoint? endPoint) || endPoint.Port == 0)
            {
                throw Error($"Listen:{i}", $"'{options.Listen[i]}' is not h2c://host:port (gRPC), http://host:port (gRPC-Web) or https://host:port");
            }

            if (scheme == "https" && !File.Exists(options.CertificatePath))
            {
                throw Error("CertificatePath", $"https listener {options.Listen[i]} needs a PEM certificate file ('{options.CertificatePath}' does not exist)");
            }

            listen.Add((endPoint, scheme));
        }

        for (int i = 0; i < options.Routes.Count; i++)
        {
            GrpcRouteOptions route = options.Routes[i];
            string match = route.Match.Trim();
            bool valid = match == "*" || (match.Length > 0 && !match.Contains('/', StringComparison.Ordinal) && !match.Contains(' ', StringComparison.Ordinal)
                && (match.IndexOf('*', StringComparison.Ordinal) < 0 || (match.EndsWith(".*", StringComparison.Ordinal) && match.IndexOf('*', StringComparison.Ordinal) == match.Length - 1 && match.Length > 2)));
            if (!valid)
            {
                throw Error($"Routes:{i}:Match", $"'{route.Match}' is not a gRPC service name (package.Service), a package prefix (package.*) or *");
            }

            if (string.IsNullOrWhiteSpace(route.Service) || route.Service.Length > 255)
            {
                throw Error($"Routes:{i}:Service", "the fabric service the route sends calls to is required (1..255 characters)");
            }
        }

        var seen = new HashSet<(string, string)>();
        for (int i = 0; i < options.Services.Count; i++)
        {
            GrpcBackendOptions service = options.Services[i];
            if (string.IsNullOrWhiteSpace(service.Name) || service.Name.Length > 255)
            {
                throw Error($"Services:{i}:Name", "a service name (1..255 characters) is required");
            }

            if (!seen.Add((service.Name, service.Instance)))
            {
                throw Error($"Services:{i}:Instance", $"service '{service.Name}' already has a backend with instance '{service.Instance}' on this node (give each backend its own Instance)");
            }

            if (!Uri.TryCreate(service.Backend, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort && !service.Backend.Contains(":" + uri.Port, StringComparison.Ordinal) || uri.AbsolutePath != "/")
            {
                throw Error($"Services:{i}:Backend", $"'{service.Backend}' is not http://host:port (h2c) or https://host:port");
            }

            if (service.Weight is < 1 or > 10_000)
            {
                throw Error($"Services:{i}:Weight", "must be 1..10000");
            }
        }

        Range(options.MaxMessageBytes, 1, 256 * 1024 * 1024, "MaxMessageBytes");
        Range(options.MaxConcurrentCalls, 1, 1_000_000, "MaxConcurrentCalls");
        Range(options.MaxStreamsPerConnection, 1, 100_000, "MaxStreamsPerConnection");
        Range(options.MaxConnections, 1, 1_000_000, "MaxConnections");
        Range(options.MaxRetries, 0, 10, "MaxRetries");
        Seconds(options.DefaultDeadlineSeconds, allowZero: true, "DefaultDeadlineSeconds");
        Seconds(options.MaxDeadlineSeconds, allowZero: true, "MaxDeadlineSeconds");
        Seconds(options.IdleTimeoutSeconds, allowZero: false, "IdleTimeoutSeconds");
        Seconds(options.EjectSeconds, allowZero: true, "EjectSeconds");
        Seconds(options.HealthCheckSeconds, allowZero: true, "HealthCheckSeconds");
        Seconds(options.BackendConnectTimeoutSeconds, allowZero: false, "BackendConnectTimeoutSeconds");
        return listen;
    }

    private static void Range(int value, int min, int max, string key)
    {
        if (value < min || value > max)
        {
            throw Error(key, $"{value} is outside {min}..{max}");
        }
    }

    private static void Seconds(double value, bool allowZero, string key)
    {
        if (double.IsNaN(value) || value < 0 || (!allowZero && value == 0) || value > 7 * 24 * 3600)
        {
            throw Error(key, $"{value} is not a number of seconds in {(allowZero ? "0" : "(0")}..604800");
        }
    }

    private static ArgumentException Error(string key, string message) => new($"Configuration error at '{Prefix}:{key}': {message}");
}
