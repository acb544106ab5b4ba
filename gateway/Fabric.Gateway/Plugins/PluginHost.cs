using System.Runtime.CompilerServices;
using Fabric.Abstractions;
using Fabric.Core.Nodes;

namespace Fabric.Gateway.Plugins;

/// <summary>
/// Drives the plugins through the host's life: configure services, configure the pipeline, start with the fabric,
/// stop. Each step runs under its own guard and timeout: a plugin that throws or hangs is marked failed with the
/// reason, its registrations are undone, and everything else carries on.
/// </summary>
public sealed partial class PluginHost : IDisposable
{
    private readonly PluginsSection _options;
    private readonly IConfiguration _configuration;
    private readonly DeferredLoggerFactory _loggers = new();
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Loads the plugins of <paramref name="options"/>'s folder; <paramref name="listenersStopping"/> is what plugins see as <see cref="GatewayPluginContext.ListenersStopping"/>.</summary>
    public PluginHost(PluginsSection options, string baseDirectory, IConfiguration configuration, CancellationToken listenersStopping = default)
    {
        _options = options;
        _configuration = configuration;
        Directory = Path.IsPathRooted(options.Directory) ? options.Directory : Path.Combine(baseDirectory, options.Directory);
        Plugins = PluginLoader.LoadAll(Directory, options.Disabled, Timeout);
        foreach (LoadedPlugin plugin in Plugins)
        {
            if (plugin.State == PluginState.Loaded)
            {
                plugin.Context = new GatewayPluginContext(plugin.Manifest!, plugin.Directory, configuration.GetSection($"{PluginsSection.Name}:Settings:{plugin.Name}"), configuration, _loggers, listenersStopping);
            }
        }
    }

    /// <summary>The plugin folder in use.</summary>
    public string Directory { get; }

    /// <summary>Every plugin found, with its state.</summary>
    public IReadOnlyList<LoadedPlugin> Plugins { get; }

    /// <inheritdoc/>
    public void Dispose() => _loggers.Dispose();

    /// <summary>
    /// Lets each plugin register services. A plugin works on a copy of the collection, taken over only when it
    /// finishes in time: what a plugin that throws or hangs registered (a hosted service, a listener) never reaches
    /// the host.
    /// </summary>
    public void ConfigureServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (LoadedPlugin plugin in Active())
        {
            IServiceCollection staged = new ServiceCollection();
            foreach (ServiceDescriptor descriptor in services)
            {
                staged.Add(descriptor);
            }

            if (Guard(plugin, "configuring services", () => plugin.Instance!.ConfigureServices(staged, plugin.Context!)))
            {
                services.Clear();
                foreach (ServiceDescriptor descriptor in staged)
                {
                    services.Add(descriptor);
                }
            }
        }
    }

    /// <summary>Lets each plugin add to the request pipeline; also connects plugin loggers to the host.</summary>
    public void Configure(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _loggers.Attach(app.Services.GetRequiredService<ILoggerFactory>());
        _logger = app.Services.GetRequiredService<ILogger<PluginHost>>();
        foreach (LoadedPlugin plugin in Plugins)
        {
            if (plugin.State == PluginState.Failed)
            {
                Log.PluginFailed(_logger, plugin.Name, plugin.Failure!);
            }
        }

        foreach (LoadedPlugin plugin in Active())
        {
            Guard(plugin, "configuring the pipeline", () => plugin.Instance!.Configure(app, plugin.Context!));
        }
    }

    /// <summary>Starts every plugin that is still healthy, giving each its view of the fabric.</summary>
    public async Task StartAsync(FabricNode node, CancellationToken cancellationToken)
    {
        foreach (LoadedPlugin plugin in Active())
        {
            var fabric = new FabricFacade(node, plugin, _options.EffectiveTrusted.Contains(plugin.Name, StringComparer.OrdinalIgnoreCase));
            try
            {
                // On a thread of its own: a StartAsync that blocks before its first await must not hold the host either.
                await OnOwnThread(() => plugin.Instance!.StartAsync(fabric, cancellationToken)).WaitAsync(Timeout, cancellationToken).ConfigureAwait(false);
                plugin.State = PluginState.Running;
                Log.PluginStarted(_logger, plugin.Name, plugin.Manifest!.Version);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Fail(plugin, $"starting failed: {Describe(ex)}");
                plugin.UndoRegistrations();
            }
        }
    }

    /// <summary>Stops every running plugin and undoes its registrations.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (LoadedPlugin plugin in Plugins.Reverse())
        {
            await StopOneAsync(plugin, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops a plugin, drops every reference the host holds to it and unloads its load context. Returns a weak
    /// reference to the context: once the plugin released everything (statics, timers, event handlers), a GC
    /// collects it — the way to prove an unload.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public async Task<WeakReference> UnloadAsync(string name, CancellationToken cancellationToken = default)
    {
        // A name may appear twice (a duplicate is listed, failed): unload the one that loaded.
        LoadedPlugin plugin = Plugins.Where(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).OrderBy(p => p.LoadContext is null).FirstOrDefault()
            ?? throw new ArgumentException($"no plugin named '{name}'", nameof(name));
        await StopOneAsync(plugin, cancellationToken).ConfigureAwait(false);
        var weak = new WeakReference(plugin.LoadContext);
        plugin.LoadContext?.Unload();
        plugin.LoadContext = null;
        plugin.Instance = null;
        plugin.Context = null;
        return weak;
    }

    private async Task StopOneAsync(LoadedPlugin plugin, CancellationToken cancellationToken)
    {
        if (plugin.State != PluginState.Running)
        {
            return;
        }

        try
        {
            await OnOwnThread(() => plugin.Instance!.StopAsync(cancellationToken)).WaitAsync(Timeout, cancellationToken).ConfigureAwait(false);
            plugin.State = PluginState.Stopped;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's stop budget ran out: say so, and still undo this plugin's registrations and stop the others.
            Fail(plugin, "stopping cut short: the host's stop budget ran out");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Fail(plugin, $"stopping failed: {Describe(ex)}");
        }
        finally
        {
            plugin.UndoRegistrations();
            if (plugin.Instance is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    private List<LoadedPlugin> Active() => [.. Plugins.Where(p => p.State is PluginState.Loaded or PluginState.Running)];

    /// <summary>The time each plugin gets for each step.</summary>
    private TimeSpan Timeout => TimeSpan.FromSeconds(Math.Max(0, _options.StartTimeoutSeconds));

    /// <summary>
    /// Runs the synchronous part of a plugin's step on a dedicated thread (not the pool's: a plugin that blocks must
    /// not starve the host), so that the caller can give up on it after the timeout.
    /// </summary>
    private static Task OnOwnThread(Func<Task> step)
        => Task.Factory.StartNew(step, CancellationToken.None, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();

    /// <summary>
    /// Runs a synchronous step of a plugin on a thread of its own, within the timeout: one that throws or does not
    /// finish fails that plugin (a blocked thread is left behind), and the host goes on. True when the step succeeded.
    /// </summary>
    private bool Guard(LoadedPlugin plugin, string step, Action action)
    {
        try
        {
            if (!OnOwnThread(() =>
            {
                action();
                return Task.CompletedTask;
            }).Wait(Timeout))
            {
                throw new TimeoutException();
            }

            return true;
        }
#pragma warning disable CA1031 // a plugin's failure is reported and contained; the host must not go down with it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(plugin, $"{step} failed: {Describe(ex is AggregateException { InnerExceptions: [Exception inner] } ? inner : ex)}");
            return false;
        }
    }

    private void Fail(LoadedPlugin plugin, string reason)
    {
        plugin.Fail(reason);
        Log.PluginFailed(_logger, plugin.Name, reason);
    }

    private static string Describe(Exception ex) => ex is TimeoutException ? "timed out" : $"{ex.GetType().Name}: {ex.Message}";

    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Plugin {Plugin} {Version} started")]
        public static partial void PluginStarted(ILogger logger, string plugin, string version);

        [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Plugin {Plugin} failed: {Reason} (the gateway and the other plugins keep running)")]
        public static partial void PluginFailed(ILogger logger, string plugin, string reason);
    }
}
