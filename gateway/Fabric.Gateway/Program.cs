using System.Net;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Gateway;
using Fabric.Gateway.Admin;
using Fabric.Gateway.Commands;
using Fabric.Gateway.Configuration;
using Fabric.Gateway.Node;
using Fabric.Gateway.Plugins;
using Fabric.Samples.Backend;

if (GatewayCommands.IsCommand(args))
{
    return GatewayCommands.Run(args, Console.Out);
}

// Content root = the build output, where the shipped appsettings.json is copied: the same configuration loads
// whatever the working directory. Environment variables and the command line override it the ASP.NET way.
WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

// A node's own file (samples/multi-node) replaces appsettings.json: .NET configuration merges arrays by index, so a
// file layered on top could not remove a peer or a service the shipped defaults list. Environment variables and the
// command line still override it.
if (builder.Configuration[$"{GatewaySection.Name}:ConfigFile"] is { Length: > 0 } configFile)
{
    try
    {
        foreach (IConfigurationSource json in builder.Configuration.Sources.Where(s => s is Microsoft.Extensions.Configuration.Json.JsonConfigurationSource).ToList())
        {
            builder.Configuration.Sources.Remove(json);
        }

        // Reloaded when it changes (the access policy applies at once), by polling this one file: a directory watcher
        // would wake on every write beside it, logs included. A reload that fails keeps the last good content.
        string path = Path.GetFullPath(configFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"file '{path}' does not exist");
        }

        var directory = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetDirectoryName(path)!)
        {
            UsePollingFileWatcher = true,
            UseActivePolling = true,
        };
        ((IConfigurationBuilder)builder.Configuration).Add(new LastGoodJsonFileSource { FileProvider = directory, Path = Path.GetFileName(path), ReloadOnChange = true });
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddCommandLine(args);
    }
    catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException)
    {
        Console.Error.WriteLine($"Configuration error at '{GatewaySection.Name}:ConfigFile': {ex.Message} {ex.InnerException?.Message}");
        return 2;
    }
}
else
{
    // appsettings.json (and its environment variant) likewise keep their last good content when a reload fails.
    LastGoodJsonFileSource.ReplaceJsonFileSources(builder.Configuration, AppContext.BaseDirectory);
}

FabricSettings fabric;
OpenTelemetry.Metrics.MeterProvider? telemetry;
PrometheusScrape? metricsScrape;
IPEndPoint admin;
IPEndPoint? sampleBackend;
IPEndPoint? sampleBackendH2c;
GatewayLimits limits;
TimeSpan shutdownDelay;
try
{
    fabric = FabricSectionReader.Read(builder.Configuration.GetSection(FabricSection.Name).Get<FabricSection>() ?? new FabricSection());
    GatewaySection gateway = builder.Configuration.GetSection(GatewaySection.Name).Get<GatewaySection>() ?? new GatewaySection();
    admin = FabricSectionReader.ParseEndPoint($"{GatewaySection.Name}:AdminListen", gateway.AdminListen);
    sampleBackend = string.IsNullOrWhiteSpace(gateway.SampleBackendListen) ? null : FabricSectionReader.ParseEndPoint($"{GatewaySection.Name}:SampleBackendListen", gateway.SampleBackendListen);
    (telemetry, metricsScrape) = TelemetryExport.Start(builder.Configuration.GetSection(TelemetrySection.Name).Get<TelemetrySection>() ?? new TelemetrySection());
    sampleBackendH2c = string.IsNullOrWhiteSpace(gateway.SampleBackendListenH2c) ? null : FabricSectionReader.ParseEndPoint($"{GatewaySection.Name}:SampleBackendListenH2c", gateway.SampleBackendListenH2c);
    limits = GatewayLimits.Read(gateway.Limits);
    shutdownDelay = double.IsNaN(gateway.ShutdownDelaySeconds) || gateway.ShutdownDelaySeconds is < 0 or > 300
        ? throw new ConfigurationException($"{GatewaySection.Name}:ShutdownDelaySeconds", "must be 0..300")
        : TimeSpan.FromSeconds(gateway.ShutdownDelaySeconds);
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
catch (InvalidOperationException ex)
{
    // The binder names the key it could not convert.
    Console.Error.WriteLine($"Configuration error: {ex.Message}");
    return 2;
}

// Explicit listeners: the admin API and the sample backend here, the drivers' own (proxy, MQTT, SMTP) in their plugins.
builder.WebHost.ConfigureKestrel(kestrel =>
{
    limits.Apply(kestrel);
    kestrel.Listen(admin);
    if (sampleBackend is not null)
    {
        kestrel.Listen(sampleBackend);
    }

    if (sampleBackendH2c is not null)
    {
        kestrel.Listen(sampleBackendH2c, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
    }
});

builder.Services.AddSingleton(fabric);
builder.Services.AddSingleton(new MetricsEndpoint(metricsScrape));
builder.Services.AddSingleton(sp =>
{
    var node = new FabricNode(fabric.Identity, fabric.Trust, fabric.Node, fabric.PreviousIdentities, sp.GetRequiredService<ILoggerFactory>());
    foreach (ServiceReplica replica in fabric.Services)
    {
        node.AddLocalService(replica);
    }

    return node;
});
builder.Services.AddHostedService<FabricNodeHost>();
builder.Services.AddHostedService<AccessPolicyReloader>();
builder.Services.AddHostedService<ConfigurationFileLog>();

// Cancelled once the shutdown delay is over, just before the listeners stop: plugins close what would never end.
using var listenersStopping = new CancellationTokenSource();
builder.Services.AddSingleton(sp => new ShutdownDelay(shutdownDelay, sp.GetRequiredService<IHostApplicationLifetime>(), listenersStopping, sp.GetRequiredService<ILogger<ShutdownDelay>>()));
builder.Services.AddHostedService(sp => sp.GetRequiredService<ShutdownDelay>());

// The host's stop budget covers the shutdown delay, the fabric's drain (Fabric:Session:DrainTimeoutSeconds) and the
// plugins' own stops.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownDelay + fabric.Node.Session.DrainTimeout + TimeSpan.FromSeconds(15));

// Plugins (the drivers included) load before the host is built so they can add services and listeners.
PluginsSection pluginOptions = builder.Configuration.GetSection(PluginsSection.Name).Get<PluginsSection>() ?? new PluginsSection();
using var plugins = new PluginHost(pluginOptions, AppContext.BaseDirectory, builder.Configuration, listenersStopping.Token);
builder.Services.AddSingleton(plugins);
plugins.ConfigureServices(builder.Services);
builder.Services.AddHostedService<PluginLifecycle>();

WebApplication app = builder.Build();

// Requests are told apart by the port they arrived on: the admin API and the sample backend answer only on theirs;
// everything else belongs to the drivers (the reverse proxy).
app.MapWhen(context => IsLocal(context, admin), branch => AdminApi.Map(branch));
if (sampleBackend is not null || sampleBackendH2c is not null)
{
    app.MapWhen(context => IsLocal(context, sampleBackend) || IsLocal(context, sampleBackendH2c), branch => SampleBackend.Map(branch, fabric.Node.Name));
}

app.UseRouting();
plugins.Configure(app);
await app.RunAsync();
telemetry?.Dispose();
return 0;

static bool IsLocal(HttpContext context, IPEndPoint? endPoint) => endPoint is not null && context.Connection.LocalPort == endPoint.Port;
