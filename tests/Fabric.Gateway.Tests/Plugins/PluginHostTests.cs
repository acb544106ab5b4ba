using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using System.Text;
using Fabric.Abstractions;
using Fabric.Core.Discovery;
using Fabric.Core.Routing;
using Fabric.Core.Subprotocols;
using Fabric.Gateway.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// <see cref="PluginHost"/> driven step by step like the gateway does (ConfigureServices, Configure, StartAsync with a
/// real node, StopAsync, UnloadAsync): a plugin that throws or hangs at any step fails alone, with the step in its
/// reason, and whatever it registered is undone; the fabric holds plugins to their manifest and to the trusted list;
/// plugins unload and keep private dependencies apart.
/// </summary>
public sealed class PluginHostTests
{
    private const ushort Good = 0x2F01;
    private const ushort Throws = 0x2F02;
    private const ushort Hangs = 0x2F04;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task StartAsync_GoodPlugin_RunningWithItsSubprotocolServiceAndHandler()
    {
        await using var h = new PluginHostHarness("good");
        string counter = h.Temp.File("counter.txt");
        await h.Set("good", "CounterFile", counter).Set("good", "Service", "echo-here").RunAsync();

        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
        Assert.Equal(["start"], PluginHostHarness.Lines(counter));
        Assert.Equal("test.good", h.Node!.Subprotocols.Find(Good)?.Name);
        ServiceReplica replica = Assert.Single(h.Node.LocalServices, r => r.Service == "echo-here");
        Assert.Equal([Good], replica.Subprotocols);

        // The handler it registered answers streams of its subprotocol.
        await using RoutedStream stream = await h.Node.OpenServiceStreamAsync("echo-here", Good).WaitAsync(Wait);
        await stream.WriteAsync("ping"u8.ToArray());
        await stream.FlushAsync();
        stream.CompleteWrites();
        using var reply = new MemoryStream();
        await stream.CopyToAsync(reply).WaitAsync(Wait);
        Assert.Equal("ping", Encoding.UTF8.GetString(reply.ToArray()));
    }

    [Fact]
    public async Task StopAsync_GoodPlugin_StoppedOnceAndRegistrationsUndone()
    {
        await using var h = new PluginHostHarness("good");
        string counter = h.Temp.File("counter.txt");
        await h.Set("good", "CounterFile", counter).RunAsync();
        Assert.NotNull(h.Node!.Subprotocols.Find(Good));

        await h.Host.StopAsync(CancellationToken.None).WaitAsync(Wait);
        await h.Host.StopAsync(CancellationToken.None).WaitAsync(Wait);

        Assert.Equal(PluginState.Stopped, h["good"].State);
        Assert.Equal(["start", "stop"], PluginHostHarness.Lines(counter));
        Assert.Null(h.Node.Subprotocols.Find(Good));
        Assert.DoesNotContain(h.Node.LocalServices, r => r.Service == "good-svc");
    }

    [Fact]
    public async Task ConfigureServices_PluginThrows_FailedAndNothingItRegisteredReachesTheHost()
    {
        await using var h = new PluginHostHarness("good", "throws-in-configure-services");
        h.Load();

        h.ConfigureServices();

        AssertFailed(h["throws-in-configure-services"], "configuring services failed", "boom in ConfigureServices");
        Assert.Equal(h.ServicesBeforePlugins, h.Services.Count);
        Assert.DoesNotContain(h.Services, d => FromPlugin(d.ServiceType) || FromPlugin(d.ImplementationType) || FromPlugin(d.ImplementationInstance?.GetType()));

        h.Configure();
        await h.StartNodeAsync();
        await h.StartPluginsAsync().WaitAsync(Wait);
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
        Assert.Equal(PluginState.Failed, h["throws-in-configure-services"].State);

        // Its hosted service (which throws at start: it would take the gateway down) is not in the host.
        Assert.DoesNotContain(h.App!.Services.GetServices<IHostedService>(), s => FromPlugin(s.GetType()));
    }

    [Fact]
    public async Task Configure_PluginThrows_FailedWithTheStepAndNeverStarted()
    {
        await using var h = new PluginHostHarness("good", "throws-at-start");
        await h.Set("throws-at-start", "Stage", "Configure").RunAsync();

        AssertFailed(h["throws-at-start"], "configuring the pipeline failed", "boom in Configure");
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
        Assert.Null(h.Node!.Subprotocols.Find(Throws));
    }

    [Fact]
    public async Task StartAsync_PluginThrows_FailedRegistrationsUndoneOthersRunning()
    {
        await using var h = new PluginHostHarness("good", "throws-at-start", "isolation-a");
        await h.RunAsync();

        AssertFailed(h["throws-at-start"], "starting failed", "InvalidOperationException", "boom at start");
        Assert.Null(h.Node!.Subprotocols.Find(Throws));
        Assert.DoesNotContain(h.Node.LocalServices, r => r.Service == "throws-svc");
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
        Assert.True(h["isolation-a"].State == PluginState.Running, h["isolation-a"].Failure);
        Assert.NotNull(h.Node.Subprotocols.Find(Good));
    }

    [Fact]
    public async Task StopAsync_PluginThrows_FailedWithTheStepAndRegistrationsUndone()
    {
        await using var h = new PluginHostHarness("good", "throws-at-start");
        await h.Set("throws-at-start", "Stage", "Stop").RunAsync();
        Assert.True(h["throws-at-start"].State == PluginState.Running, h["throws-at-start"].Failure);
        Assert.NotNull(h.Node!.Subprotocols.Find(Throws));
        Assert.Contains(h.Node.LocalServices, r => r.Service == "throws-svc");

        await h.Host.StopAsync(CancellationToken.None).WaitAsync(Wait);

        AssertFailed(h["throws-at-start"], "stopping failed", "boom at stop");
        Assert.Null(h.Node.Subprotocols.Find(Throws));
        Assert.DoesNotContain(h.Node.LocalServices, r => r.Service == "throws-svc");
        Assert.Equal(PluginState.Stopped, h["good"].State);
    }

    [Fact]
    public async Task StartAsync_PluginNeverFinishes_FailedTimedOutRegistrationsUndoneOthersRunning()
    {
        await using var h = new PluginHostHarness("good", "hangs-at-start", "isolation-a");
        h.Options.StartTimeoutSeconds = 1;

        await h.RunAsync();

        AssertFailed(h["hangs-at-start"], "starting failed", "timed out");
        Assert.Null(h.Node!.Subprotocols.Find(Hangs));
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
        Assert.True(h["isolation-a"].State == PluginState.Running, h["isolation-a"].Failure);
    }

    [Fact]
    public async Task StartAsync_PluginRegistersAfterItTimedOut_RegistrationRefused()
    {
        await using var h = new PluginHostHarness("hangs-at-start");
        string report = h.Temp.File("late.txt");
        h.Options.StartTimeoutSeconds = 0.5;
        h.Set("hangs-at-start", "LateMs", "3000").Set("hangs-at-start", "ReportFile", report);

        await h.RunAsync();
        AssertFailed(h["hangs-at-start"], "starting failed", "timed out");
        Assert.True(await PluginHostHarness.EventuallyAsync(() => File.Exists(report), Wait), "the plugin never tried its late registration");

        Assert.StartsWith("late registration refused", File.ReadAllText(report), StringComparison.Ordinal);
        Assert.DoesNotContain(h.Node!.LocalServices, r => r.Service == "late-svc");
    }

    [Fact]
    public async Task StartAsync_PluginBlocksTheCallingThread_FailedTimedOutWithoutHoldingTheHost()
    {
        await using var h = new PluginHostHarness("good", "hangs-at-start", "isolation-a");
        h.Options.StartTimeoutSeconds = 1;
        h.Set("hangs-at-start", "Mode", "block").Set("hangs-at-start", "BlockMs", "15000");
        h.Load();
        h.ConfigureServices();
        h.Configure();
        await h.StartNodeAsync();

        var clock = Stopwatch.StartNew();
        await Task.Run(h.StartPluginsAsync).WaitAsync(Wait);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"starting the plugins took {clock.Elapsed}: a plugin blocking its thread in StartAsync held the host past the 1 s timeout");
        AssertFailed(h["hangs-at-start"], "starting failed", "timed out");
        Assert.Null(h.Node!.Subprotocols.Find(Hangs));
        Assert.True(h["isolation-a"].State == PluginState.Running, h["isolation-a"].Failure);
    }

    [Theory]
    [InlineData("ConfigureServices", "configuring services failed")]
    [InlineData("Configure", "configuring the pipeline failed")]
    public async Task ConfigureSteps_PluginBlocks_FailedTimedOutWithoutHoldingTheHost(string stage, string step)
    {
        await using var h = new PluginHostHarness("good", "hangs-at-start");
        h.Options.StartTimeoutSeconds = 1;
        h.Set("hangs-at-start", "Stage", stage).Set("hangs-at-start", "BlockMs", "15000");
        h.Load();

        var clock = Stopwatch.StartNew();
        await Task.Run(() =>
        {
            h.ConfigureServices();
            h.Configure();
        }).WaitAsync(Wait);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"{stage} took {clock.Elapsed}: a plugin that blocks held the host past the 1 s timeout");
        AssertFailed(h["hangs-at-start"], step, "timed out");
        await h.StartNodeAsync();
        await h.StartPluginsAsync().WaitAsync(Wait);
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
        Assert.Null(h.Node!.Subprotocols.Find(Hangs));
    }

    [Fact]
    public async Task StopAsync_PluginNeverFinishes_FailedTimedOutRegistrationsUndoneOthersStopped()
    {
        await using var h = new PluginHostHarness("good", "hangs-at-start", "isolation-a");
        h.Options.StartTimeoutSeconds = 1;
        await h.Set("hangs-at-start", "Stage", "Stop").RunAsync();
        Assert.True(h["hangs-at-start"].State == PluginState.Running, h["hangs-at-start"].Failure);
        Assert.NotNull(h.Node!.Subprotocols.Find(Hangs));

        await h.Host.StopAsync(CancellationToken.None).WaitAsync(Wait);

        AssertFailed(h["hangs-at-start"], "stopping failed", "timed out");
        Assert.Null(h.Node.Subprotocols.Find(Hangs));
        Assert.Equal(PluginState.Stopped, h["good"].State);
        Assert.Equal(PluginState.Stopped, h["isolation-a"].State);
    }

    [Fact]
    public async Task StopAsync_HostBudgetRunsOut_NoExceptionFailedCutShortRegistrationsUndone()
    {
        // The host's own stop token ends before the plugin's timeout (30 s): StopAsync must not throw (the host
        // would crash with an unhandled exception at exit), and every plugin's registrations are still undone.
        await using var h = new PluginHostHarness("hangs-at-start", "good");
        await h.Set("hangs-at-start", "Stage", "Stop").RunAsync();
        Assert.True(h["hangs-at-start"].State == PluginState.Running, h["hangs-at-start"].Failure);

        using var budget = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await h.Host.StopAsync(budget.Token).WaitAsync(Wait);

        // The hanging plugin is cut short; the other one either stopped before the budget ran out or was cut short
        // after it, depending on the order; both have their registrations undone.
        AssertFailed(h["hangs-at-start"], "stopping cut short", "stop budget ran out");
        Assert.Contains(h["good"].State, new[] { PluginState.Stopped, PluginState.Failed });
        Assert.Null(h.Node!.Subprotocols.Find(Hangs));
        Assert.Null(h.Node.Subprotocols.Find(Good));
    }

    [Fact]
    public async Task Constructor_PluginBlocks_FailedTimedOutWithoutHoldingTheHost()
    {
        await using var h = new PluginHostHarness("good", "throws-in-constructor");
        File.WriteAllText(Path.Combine(h.PluginsRoot, "throws-in-constructor", "mode.txt"), "hang"); // blocks 10 s
        h.Options.StartTimeoutSeconds = 0.5;

        var clock = Stopwatch.StartNew();
        await Task.Run(h.Load).WaitAsync(Wait);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"loading took {clock.Elapsed}: a constructor that blocks held the host past the 0.5 s timeout");
        AssertFailed(h["throws-in-constructor"], "constructor", "timed out");
        Assert.Equal(PluginState.Loaded, h["good"].State);
    }

    [Fact]
    public async Task StartAsync_UntrustedPluginHandlesCoreId_FailsWithTheTrustedDriverMessage()
    {
        await using var h = new PluginHostHarness("core-id-claim", "good");
        await h.RunAsync(); // default Plugins:Trusted: the four drivers

        AssertFailed(h["core-id-claim"], "starting failed", "core subprotocol 0x0100", "Plugins:Trusted");
        Assert.Null(h.Node!.Subprotocols.Find(CoreSubprotocols.Http));
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
    }

    [Fact]
    public async Task StartAsync_TrustedPluginHandlesCoreId_Runs()
    {
        await using var h = new PluginHostHarness("core-id-claim");
        h.Options.Trusted = ["Core-Id-Claim"];

        await h.RunAsync();

        Assert.True(h["core-id-claim"].State == PluginState.Running, h["core-id-claim"].Failure);
        Assert.Equal("test.core-claim", h.Node!.Subprotocols.Find(CoreSubprotocols.Http)?.Name);
    }

    [Fact]
    public async Task StartAsync_PluginHandlesUnlistedId_FailsAndItsListedRegistrationIsUndone()
    {
        await using var h = new PluginHostHarness("unlisted-id", "good");
        await h.RunAsync();

        AssertFailed(h["unlisted-id"], "starting failed", "0x2f07", "does not list it");
        Assert.Null(h.Node!.Subprotocols.Find(0x2F07));
        Assert.Null(h.Node.Subprotocols.Find(0x2F06));
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);
    }

    [Fact]
    public async Task StartAsync_EveryTestPlugin_OnlyTheWellBehavedOnesRun()
    {
        await using var h = new PluginHostHarness([.. TestPluginFolders.All]);
        h.Options.StartTimeoutSeconds = 1;

        await h.RunAsync();

        string[] running = ["good", "isolation-a", "isolation-b", "leaky"];
        foreach (LoadedPlugin plugin in h.Host.Plugins)
        {
            if (running.Contains(plugin.Name))
            {
                Assert.True(plugin.State == PluginState.Running, $"{plugin.Name}: {plugin.Failure}");
            }
            else
            {
                Assert.True(plugin.State == PluginState.Failed, $"{plugin.Name} is {plugin.State}");
            }
        }

        Assert.Equal(TestPluginFolders.All.Count, h.Host.Plugins.Count);
        ushort[] registered = [.. h.Node!.Subprotocols.Descriptors.Select(d => d.Id).Where(id => id >= 0x2F00 && id < 0x3000).Order()];
        Assert.Equal([Good, (ushort)0x2F0A, (ushort)0x2F0B], registered);
    }

    [Fact]
    public async Task UnloadAsync_GoodPlugin_LoadContextIsCollected()
    {
        await using var h = new PluginHostHarness("good");
        string counter = h.Temp.File("counter.txt");
        await h.Set("good", "CounterFile", counter).RunAsync();
        Assert.True(h["good"].State == PluginState.Running, h["good"].Failure);

        WeakReference context = await UnloadAsync(h.Host, "good");

        Assert.True(await CollectedAsync(context), "the good plugin's load context is still alive after unloading: something the host holds refers to it");
        Assert.Equal(PluginState.Stopped, h["good"].State);
        Assert.Equal(["start", "stop"], PluginHostHarness.Lines(counter));
        Assert.Null(h.Node!.Subprotocols.Find(Good));
        Assert.DoesNotContain(h.Node.LocalServices, r => r.Service == "good-svc");
    }

    [Fact]
    public async Task UnloadAsync_NameAlsoOnAFailedDuplicate_UnloadsTheOneThatRuns()
    {
        await using var h = new PluginHostHarness("good");
        TestPluginFolders.CopyTo(h.PluginsRoot, "good", "good-twin"); // the same name: listed, failed
        await h.RunAsync();
        Assert.Equal([PluginState.Running, PluginState.Failed], h.Host.Plugins.Select(p => p.State));

        WeakReference context = await UnloadAsync(h.Host, "good");

        Assert.True(await CollectedAsync(context), "the running plugin's load context is still alive after unloading");
        Assert.Equal([PluginState.Stopped, PluginState.Failed], h.Host.Plugins.Select(p => p.State));
        Assert.Null(h.Node!.Subprotocols.Find(Good));
    }

    [Fact]
    public async Task UnloadAsync_UnknownName_ThrowsArgumentExceptionNamingIt()
    {
        await using var h = new PluginHostHarness("good");
        await h.RunAsync();

        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(() => h.Host.UnloadAsync("nope"));

        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(PluginState.Running, h["good"].State);
    }

    /// <summary>Why StopAsync must release everything: a subscription to a host event keeps the whole plugin alive.</summary>
    [Fact]
    public async Task UnloadAsync_PluginLeavesAHostEventSubscribed_LoadContextStaysAlive()
    {
        await using var h = new PluginHostHarness("leaky");
        await h.RunAsync();
        Assert.True(h["leaky"].State == PluginState.Running, h["leaky"].Failure);

        WeakReference context = await UnloadAsync(h.Host, "leaky");

        Assert.False(await CollectedAsync(context), "the leaky plugin unloaded although the node still holds its ReplicasChanged handler");
        Assert.Equal(PluginState.Stopped, h["leaky"].State);
    }

    [Fact]
    public async Task StartAsync_TwoPluginsCarryTwoVersionsOfOneDependency_EachSeesItsOwn()
    {
        await using var h = new PluginHostHarness("isolation-a", "isolation-b");
        await h.RunAsync();
        Assert.True(h["isolation-a"].State == PluginState.Running, h["isolation-a"].Failure);
        Assert.True(h["isolation-b"].State == PluginState.Running, h["isolation-b"].Failure);

        Assert.Equal(("Fabric.TestDep v1", "Fabric.TestDep v1", "1.0.0.0", "plugin:isolation-a"), Probe(h["isolation-a"]));
        Assert.Equal(("Fabric.TestDep v2", "Fabric.TestDep v2", "2.0.0.0", "plugin:isolation-b"), Probe(h["isolation-b"]));
        Assert.Contains(h["isolation-a"].LoadContext!.Assemblies, a => a.GetName() is { Name: "Fabric.TestDep" } n && n.Version == new Version(1, 0, 0, 0));
        Assert.Contains(h["isolation-b"].LoadContext!.Assemblies, a => a.GetName() is { Name: "Fabric.TestDep" } n && n.Version == new Version(2, 0, 0, 0));
        Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.GetName().Name == "Fabric.TestDep");
        Assert.Equal(new SubprotocolVersion(1, 0), h.Node!.Subprotocols.Find(0x2F0A)?.Version);
        Assert.Equal(new SubprotocolVersion(2, 0), h.Node.Subprotocols.Find(0x2F0B)?.Version);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task<WeakReference> UnloadAsync(PluginHost host, string name) => host.UnloadAsync(name);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<bool> CollectedAsync(WeakReference weak)
    {
        for (int i = 0; weak.IsAlive && i < 20; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            await Task.Delay(25);
        }

        return !weak.IsAlive;
    }

    /// <summary>What an isolation plugin sees of its private dependency, read by reflection (no shared type).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (string? StartedWith, string? Greeting, string? Version, string? Context) Probe(LoadedPlugin plugin)
    {
        object instance = plugin.Instance!;
        Type type = instance.GetType();
        return (
            (string?)type.GetProperty("StartedWith")!.GetValue(instance),
            (string?)type.GetProperty("Greeting")!.GetValue(null),
            (string?)type.GetProperty("DependencyVersion")!.GetValue(null),
            (string?)type.GetProperty("DependencyContext")!.GetValue(null));
    }

    private static bool FromPlugin(Type? type) => type is not null && AssemblyLoadContext.GetLoadContext(type.Assembly) is { IsCollectible: true };

    private static void AssertFailed(LoadedPlugin plugin, params string[] words)
    {
        Assert.True(plugin.State == PluginState.Failed, $"{plugin.Name} is {plugin.State}, expected Failed");
        Assert.NotNull(plugin.Failure);
        foreach (string word in words)
        {
            Assert.True(plugin.Failure.Contains(word, StringComparison.Ordinal), $"the failure of {plugin.Name} does not say '{word}': {plugin.Failure}");
        }
    }
}
