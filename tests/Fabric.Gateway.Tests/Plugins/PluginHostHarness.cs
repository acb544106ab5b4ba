using Fabric.Core.Nodes;
using Fabric.Core.Security;
using Fabric.Gateway.Plugins;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// Drives a <see cref="PluginHost"/> the way Program.cs does, one step at a time: a plugin directory of the test's own
/// (copies of test plugins), an in-memory configuration, the services of a slim web application builder, the built
/// application, and a real, started <see cref="FabricNode"/> (no listener, no peers).
/// </summary>
internal sealed class PluginHostHarness : IAsyncDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly Dictionary<string, string?> _settings = [];
    private WebApplicationBuilder? _builder;

    public PluginHostHarness(params string[] plugins)
    {
        Directory.CreateDirectory(PluginsRoot);
        foreach (string plugin in plugins)
        {
            TestPluginFolders.CopyTo(PluginsRoot, plugin);
        }
    }

    /// <summary>The temporary folder (for files the plugins write).</summary>
    public TempDirectory Temp => _temp;

    public string PluginsRoot => Path.Combine(_temp.Path, "plugins");

    /// <summary>The Plugins section; Directory is set at <see cref="Load"/>. Short start timeout by default.</summary>
    public PluginsSection Options { get; } = new() { StartTimeoutSeconds = 5 };

    public PluginHost Host { get; private set; } = null!;

    public IServiceCollection Services => _builder!.Services;

    public int ServicesBeforePlugins { get; private set; }

    public WebApplication? App { get; private set; }

    public FabricNode? Node { get; private set; }

    public LoadedPlugin this[string name] => Host.Plugins.Single(p => p.Name == name);

    /// <summary>Sets <c>Plugins:Settings:&lt;plugin&gt;:&lt;key&gt;</c>.</summary>
    public PluginHostHarness Set(string plugin, string key, string value)
    {
        _settings[$"Plugins:Settings:{plugin}:{key}"] = value;
        return this;
    }

    /// <summary>Finds and loads the plugins (the PluginHost constructor).</summary>
    public PluginHostHarness Load()
    {
        Options.Directory = PluginsRoot;
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(_settings).Build();
        Host = new PluginHost(Options, _temp.Path, configuration);
        return this;
    }

    public void ConfigureServices()
    {
        _builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = _temp.Path });
        ServicesBeforePlugins = _builder.Services.Count;
        Host.ConfigureServices(_builder.Services);
    }

    public void Configure()
    {
        App = _builder!.Build();
        Host.Configure(App);
    }

    public async Task StartNodeAsync()
    {
        Node = new FabricNode(NodeIdentity.Generate(), new FabricTrust(), new FabricNodeOptions { Name = "plugin-test", Listen = null });
        await Node.StartAsync();
    }

    public Task StartPluginsAsync() => Host.StartAsync(Node!, CancellationToken.None);

    /// <summary>Every step, as the gateway runs them.</summary>
    public async Task<PluginHostHarness> RunAsync()
    {
        Load();
        ConfigureServices();
        Configure();
        await StartNodeAsync();
        await StartPluginsAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return this;
    }

    /// <summary>The lines a plugin appended to a file (empty when it wrote none).</summary>
    public static string[] Lines(string file) => File.Exists(file) ? File.ReadAllLines(file) : [];

    /// <summary>Waits until <paramref name="condition"/> holds or the time runs out; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan within)
    {
        DateTime deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Host is not null)
            {
                await Host.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
                Host.Dispose();
            }
        }
        finally
        {
            if (App is not null)
            {
                await App.DisposeAsync();
            }

            if (Node is not null)
            {
                await Node.DisposeAsync();
            }

            try
            {
                _temp.Dispose();
            }
            catch (IOException)
            {
                // A plugin thread still blocked on purpose may hold a file: the OS temp folder keeps it.
            }
        }
    }
}
