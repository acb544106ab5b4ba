using Fabric.Core.Nodes;
using Fabric.Gateway;
using Fabric.Gateway.Commands;
using Fabric.Gateway.Configuration;
using Fabric.Gateway.Node;
using Fabric.Gateway.Plugins;

if (GatewayCommands.IsCommand(args))
{
    return GatewayCommands.Run(args, Console.Out);
}

// Content root = the build output, where the shipped appsettings.json is copied: the same configuration loads
// whatever the working directory. Environment variables and the command line override it the ASP.NET way.
WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

FabricSettings fabric;
try
{
    FabricSection section = builder.Configuration.GetSection(FabricSection.Name).Get<FabricSection>() ?? new FabricSection();
    fabric = FabricSectionReader.Read(section);
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

builder.Services.AddSingleton(fabric);
builder.Services.AddSingleton(sp =>
{
    var node = new FabricNode(fabric.Identity, fabric.Trust, fabric.Node, fabric.PreviousIdentities, sp.GetRequiredService<ILoggerFactory>());
    foreach (Fabric.Core.Discovery.ServiceReplica replica in fabric.Services)
    {
        node.AddLocalService(replica);
    }

    return node;
});
builder.Services.AddHostedService<FabricNodeHost>();
builder.Services.AddHostedService<AccessPolicyReloader>();

// Plugins (the drivers included) load before the host is built so they can add services and listeners.
PluginsSection pluginOptions = builder.Configuration.GetSection(PluginsSection.Name).Get<PluginsSection>() ?? new PluginsSection();
var plugins = new PluginHost(pluginOptions, AppContext.BaseDirectory, builder.Configuration);
builder.Services.AddSingleton(plugins);
plugins.ConfigureServices(builder.Services);
builder.Services.AddHostedService<PluginLifecycle>();

WebApplication app = builder.Build();
plugins.Configure(app);
app.MapGet("/healthz", () => Results.Text("ok\n"));
app.MapGet("/links", (FabricNode node) => Results.Json(node.Connections.Select(c => new
{
    peer = c.PeerId.ToString(),
    peerShort = c.PeerId.ShortForm,
    name = c.PeerName,
    remote = c.Remote,
    dialed = c.Dialed,
    authenticated = c.Authenticated,
    state = c.Session.State.ToString(),
    streams = c.Session.ActiveStreamCount,
    rttMicroseconds = c.Session.SmoothedRtt.TotalMicroseconds,
}), GatewayJson.Options));
app.MapGet("/plugins", (PluginHost host) => Results.Json(host.Plugins.Select(p => new
{
    name = p.Name,
    version = p.Manifest?.Version,
    state = p.State.ToString(),
    failure = p.Failure,
    subprotocols = p.Manifest?.Subprotocols,
    directory = p.Directory,
}), GatewayJson.Options));
app.MapGet("/directory", (FabricNode node) => Results.Json(node.Directory.Origins().Select(o => new
{
    node = o.Announcement.Origin.ToString(),
    name = o.Announcement.Name,
    roles = o.Announcement.Roles,
    capabilities = o.Announcement.Capabilities.Select(Fabric.Core.Subprotocols.SubprotocolDescriptor.CapabilityTagFor),
    pressure = o.Announcement.Pressure,
    sequence = o.Announcement.Sequence,
    nextHop = o.NextHop.ShortForm,
    hops = o.Hops,
    rttMicroseconds = o.Rtt.TotalMicroseconds,
}), GatewayJson.Options));
app.MapGet("/services", (FabricNode node) => Results.Json(node.Directory.AllReplicas().Select(r => new
{
    service = r.Replica.Service,
    replica = r.Key,
    node = r.OriginName,
    subprotocols = r.Replica.Subprotocols.Select(id => $"0x{id:x4}"),
    health = r.Replica.Health.ToString(),
    weight = r.Replica.Weight,
    priority = r.Replica.Priority,
    hops = r.Hops,
    nextHop = r.NextHop.ShortForm,
    rttMicroseconds = r.Rtt.TotalMicroseconds,
    pressure = r.Pressure,
    local = r.IsLocal,
    expires = r.IsLocal ? (DateTimeOffset?)null : r.ExpiresAt,
}), GatewayJson.Options));

await app.RunAsync();
return 0;
