using Fabric.Core.Nodes;
using Fabric.Gateway;
using Fabric.Gateway.Commands;
using Fabric.Gateway.Configuration;
using Fabric.Gateway.Node;

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
builder.Services.AddSingleton(sp => new FabricNode(fabric.Identity, fabric.Trust, fabric.Node, fabric.PreviousIdentities, sp.GetRequiredService<ILoggerFactory>()));
builder.Services.AddHostedService<FabricNodeHost>();

WebApplication app = builder.Build();
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
await app.RunAsync();
return 0;
