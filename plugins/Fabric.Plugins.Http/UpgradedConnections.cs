using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fabric.Plugins.Http;

/// <summary>
/// Closes proxied upgraded connections (WebSocket over HTTP/1.1 Upgrade or HTTP/2 extended CONNECT) when the gateway's
/// listeners stop. Kestrel lets an ordinary request finish, but an upgraded one is a tunnel that never ends on its
/// own: without this, a single open WebSocket holds the gateway's stop until the host's stop budget runs out. During
/// <c>Gateway:ShutdownDelaySeconds</c> they still work; clients reconnect elsewhere, as after any proxy restart.
/// </summary>
internal static class UpgradedConnections
{
    public static Func<HttpContext, RequestDelegate, Task> CloseWhen(CancellationToken listenersStopping) => async (context, next) =>
    {
        if (context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest != true
            && context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect != true)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        using CancellationTokenRegistration closing = listenersStopping.Register(static c => ((HttpContext)c!).Abort(), context);
        await next(context).ConfigureAwait(false);
    };
}
