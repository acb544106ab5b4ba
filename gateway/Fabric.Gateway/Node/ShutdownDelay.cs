namespace Fabric.Gateway.Node;

/// <summary>
/// <c>Gateway:ShutdownDelaySeconds</c>: on SIGTERM the gateway first says it is not ready (<c>/readyz</c> answers 503)
/// and keeps serving for this long, before any listener or plugin stops, so a load balancer in front of it stops
/// sending traffic first. Meanwhile the node's replicas are already announced as draining to the other nodes.
/// </summary>
internal sealed partial class ShutdownDelay(TimeSpan delay, IHostApplicationLifetime lifetime, CancellationTokenSource listenersStopping, ILogger<ShutdownDelay> logger) : IHostedLifecycleService
{
    private CancellationTokenRegistration _stopping;
    private volatile bool _isStopping;

    /// <summary>True from the moment the host begins to stop.</summary>
    public bool Stopping => _isStopping;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(() => _isStopping = true);
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs before every hosted service's StopAsync (Kestrel's included): the listeners still serve. Then tells the
    /// plugins that the listeners stop next (<c>GatewayPluginContext.ListenersStopping</c>).
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _isStopping = true;
        try
        {
            if (delay > TimeSpan.Zero)
            {
                Log.Delaying(logger, delay.TotalSeconds);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // the host's stop budget ran out
        }
        finally
        {
            await listenersStopping.CancelAsync().ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await _stopping.DisposeAsync().ConfigureAwait(false);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Stopping: /readyz answers 503, still serving for {Seconds} s (Gateway:ShutdownDelaySeconds)")]
        public static partial void Delaying(ILogger logger, double seconds);
    }
}
