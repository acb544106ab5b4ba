using Fabric.Core.Nodes;
using Fabric.Core.Subprotocols;
using Fabric.Gateway.Node;
using Fabric.Gateway.Plugins;

namespace Fabric.Gateway.Admin;

/// <summary>The admin API, on its own (loopback) listener: health, metrics, links, directory, services, plugins.</summary>
internal static class AdminApi
{
    public static void Map(IApplicationBuilder branch)
    {
        branch.UseRouting();
        branch.UseEndpoints(endpoints =>
        {
            endpoints.MapGet("/healthz", () => Results.Text("ok\n"));
            endpoints.MapGet("/metrics", (MetricsEndpoint metrics) => metrics.Answer());
            endpoints.MapGet("/readyz", (FabricNode node, PluginHost plugins, ShutdownDelay shutdown) =>
            {
                if (shutdown.Stopping)
                {
                    return Results.Text("stopping\n", statusCode: StatusCodes.Status503ServiceUnavailable);
                }

                // Ready: the fabric listener is up and every plugin runs (a failed driver means traffic would fail).
                if (node.ListenEndPoint is null && node.Options.Listen is not null)
                {
                    return Results.Text("starting: the fabric listener is not up\n", statusCode: StatusCodes.Status503ServiceUnavailable);
                }

                LoadedPlugin[] notRunning = [.. plugins.Plugins.Where(p => p.State != PluginState.Running)];
                return notRunning.Length == 0
                    ? Results.Text("ready\n")
                    : Results.Text(
                        string.Concat(notRunning.Select(p => $"plugin {p.Name}: {p.State}{(p.Failure is null ? "" : $" ({p.Failure})")}\n")),
                        statusCode: StatusCodes.Status503ServiceUnavailable);
            });
            endpoints.MapGet("/links", (FabricNode node) => Results.Json(node.Connections.Select(c => new
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
                negotiated = c.Negotiated.Agreed.Select(d => $"0x{d.Id:x4} {d.Name} {d.Version}"),
                cipher = c.SecureLink?.Suite.ToString() ?? "none (plaintext)",
                records = c.SecureLink is { } secure
                    ? new
                    {
                        sealedCount = secure.Statistics.RecordsSealed,
                        sealedBytes = secure.Statistics.BytesSealed,
                        openedCount = secure.Statistics.RecordsOpened,
                        openedBytes = secure.Statistics.BytesOpened,
                        rejected = secure.Statistics.RejectedTotal,
                        keyUpdatesSent = secure.KeyUpdates.Sent,
                        keyUpdatesReceived = secure.KeyUpdates.Received,
                    }
                    : null,
            }), GatewayJson.Options));
            endpoints.MapGet("/directory", (FabricNode node) => Results.Json(node.Directory.Origins().Select(o => new
            {
                node = o.Announcement.Origin.ToString(),
                name = o.Announcement.Name,
                roles = o.Announcement.Roles,
                capabilities = o.Announcement.Capabilities.Select(SubprotocolDescriptor.CapabilityTagFor),
                pressure = o.Announcement.Pressure,
                sequence = o.Announcement.Sequence,
                nextHop = o.NextHop.ShortForm,
                hops = o.Hops,
                rttMicroseconds = o.Rtt.TotalMicroseconds,
            }), GatewayJson.Options));
            endpoints.MapGet("/services", (FabricNode node) => Results.Json(node.Directory.AllReplicas().Select(r => new
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
            endpoints.MapGet("/plugins", (PluginHost host) => Results.Json(host.Plugins.Select(p => new
            {
                name = p.Name,
                version = p.Manifest?.Version,
                state = p.State.ToString(),
                failure = p.Failure,
                subprotocols = p.Manifest?.Subprotocols,
                directory = p.Directory,
            }), GatewayJson.Options));
        });
    }
}
