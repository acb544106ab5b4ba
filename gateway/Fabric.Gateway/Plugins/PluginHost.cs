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

    /// <summary>Loads the plugins of <paramref name="options"/>'s folder.</summary>
    public PluginHost(PluginsSection options, string baseDirectory, IConfiguration configuration)
    {
        _options = options;
        _configuration = configuration;
        Directory = Path.IsPathRooted(options.Directory) ? options.Directory : Path.Combine(baseDirectory, options.Directory);
        Plugins = PluginLoader.LoadAll(Directory, options.Disabled);
        foreach (LoadedPlugin plugin in Plugins)
        {
            if (plugin.State == PluginState.Loaded)
            {
                plugin.Context = new GatewayPluginContext(plugin.Manifest!, plugin.Directory, configuration.GetSection($"{PluginsSection.Name}:Settings:{plugin.Name}"), configuration, _loggers);
            }
        }
    }

    /// <summary>The plugin folder in use.</summary>
    public string Directory { get; }

    /// <summary>Every plugin found, with its state.</summary>
    public IReadOnlyList<LoadedPlugin> Plugins { get; }

    /// <inheritdoc/>
    public void Dispose() => _loggers.Dispose();

    /// <summary>Lets each plugin register services.</summary>
    public void ConfigureServices(IServiceCollection services)
    {
        foreach (LoadedPlugin plugin in Active())
        {
            Guard(plugin, "configuring services", () => plugin.Instance!.ConfigureServices(services, plugin.Context!));
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
            var fabric = new FabricFacade(node, plugin, _options.Trusted.Contains(plugin.Name, StringComparer.OrdinalIgnoreCase));
            try
            {
                await plugin.Instance!.StartAsync(fabric, cancellationToken).WaitAsync(TimeSpan.FromSeconds(_options.StartTimeoutSeconds), cancellationToken).ConfigureAwait(false);
                plugin.State = PluginState.Running;
                Log.PluginStarted(_logger, plugin.Name, plugin.Manifest!.Version);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                Fail(plugin, $"starting failed: {Describe(ex)}");
                Undo(plugin);
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
        LoadedPlugin plugin = Plugins.Single(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
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
            await plugin.Instance!.StopAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(_options.StartTimeoutSeconds), cancellationToken).ConfigureAwait(false);
            plugin.State = PluginState.Stopped;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Fail(plugin, $"stopping failed: {Describe(ex)}");
        }
        finally
        {
            Undo(plugin);
            if (plugin.Instance is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    private List<LoadedPlugin> Active() => [.. Plugins.Where(p => p.State is PluginState.Loaded or PluginState.Running)];

    private void Guard(LoadedPlugin plugin, string step, Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // a plugin's failure is reported and contained; the host must not go down with it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(plugin, $"{step} failed: {Describe(ex)}");
        }
    }

    private void Fail(LoadedPlugin plugin, string reason)
    {
        plugin.Fail(reason);
        Log.PluginFailed(_logger, plugin.Name, reason);
    }

    private static void Undo(LoadedPlugin plugin)
    {
        foreach (IDisposable registration in plugin.Registrations)
        {
            registration.Dispose();
        }

        plugin.Registrations.Clear();
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
