using Fabric.Core.Nodes;
using Fabric.Gateway.Configuration;
using Microsoft.Extensions.Primitives;

namespace Fabric.Gateway.Node;

/// <summary>
/// Re-reads <c>Fabric:Access</c> when the configuration changes (appsettings.json is watched) and gives the node
/// the new policy: streams it now denies are reset, the others stay. A broken policy is logged and not applied.
/// </summary>
internal sealed partial class AccessPolicyReloader(IConfiguration configuration, FabricNode node, ILogger<AccessPolicyReloader> logger) : IHostedService
{
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        return Task.CompletedTask;
    }

    private void Reload()
    {
        try
        {
            AccessSection access = configuration.GetSection($"{FabricSection.Name}:Access").Get<AccessSection>() ?? new AccessSection();
            node.AccessPolicy = FabricSectionReader.ReadAccessPolicy(access);
            Log.Reloaded(logger, node.AccessPolicy.RuleCount);
        }
        catch (ConfigurationException ex)
        {
            Log.Rejected(logger, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Access policy reloaded ({Rules} rules)")]
        public static partial void Reloaded(ILogger logger, int rules);

        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Access policy not reloaded: {Error}")]
        public static partial void Rejected(ILogger logger, string error);
    }
}
