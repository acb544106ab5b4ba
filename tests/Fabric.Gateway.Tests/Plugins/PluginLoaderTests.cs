using System.Runtime.Loader;
using System.Text.Json.Nodes;
using Fabric.Abstractions;
using Fabric.Gateway.Plugins;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// <see cref="PluginLoader"/> against the test plugins (tests/TestPlugins): every check in docs/PLUGINS.md fails only the
/// plugin concerned, with a reason that names the problem; good plugins load next to bad ones.
/// </summary>
public sealed class PluginLoaderTests
{
    [Fact]
    public void Load_GoodPlugin_LoadedIntoItsOwnCollectibleContext()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("good"));

        Assert.True(plugin.State == PluginState.Loaded, plugin.Failure);
        Assert.Null(plugin.Failure);
        Assert.Equal("good", plugin.Name);
        Assert.Equal("1.2.3", plugin.Manifest!.Version);
        Assert.Equal([(ushort)0x2F01], plugin.AllowedSubprotocols);
        IGatewayPlugin instance = Assert.IsAssignableFrom<IGatewayPlugin>(plugin.Instance);
        Assert.Equal("Fabric.TestPlugins.Good.GoodPlugin", instance.GetType().FullName);

        // Its own collectible context; the contract it implements is the host's (one type identity).
        AssemblyLoadContext? context = AssemblyLoadContext.GetLoadContext(instance.GetType().Assembly);
        Assert.Same(plugin.LoadContext, context);
        Assert.Equal("plugin:good", context!.Name);
        Assert.True(context.IsCollectible);
        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(typeof(IGatewayPlugin).Assembly));
        Assert.DoesNotContain(context.Assemblies, a => a.GetName().Name == "Fabric.Abstractions");
    }

    [Fact]
    public void Load_WrongContractMajor_FailedNamingBothContractVersions()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("wrong-contract"));

        AssertFailed(plugin, "contract 2.0", $"provides {ContractVersion.Current}");
        Assert.Null(plugin.Instance);
        Assert.Null(plugin.LoadContext);
    }

    [Theory]
    [InlineData("1.2", "contract 1.2")]
    [InlineData("0.9", "contract 0.9")]
    [InlineData("one", "'contractVersion' 'one' is not a version")]
    [InlineData("1", "'contractVersion' '1' is not a version")]
    public void Load_ContractVersionNotProvided_FailedNamingTheVersion(string contract, string expected)
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "good");
        TestPluginFolders.EditManifest(folder, m => m["contractVersion"] = contract);

        AssertFailed(PluginLoader.Load(folder), expected);
    }

    [Fact]
    public void Load_MinHostVersionAboveGateway_FailedNamingBothVersions()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("too-new"));

        AssertFailed(plugin, "needs gateway 99.0", PluginLoader.HostVersion.ToString());
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void Load_MinHostVersionEqualToGateway_Loaded()
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "good");
        TestPluginFolders.EditManifest(folder, m => m["minHostVersion"] = PluginLoader.HostVersion.ToString(3));

        LoadedPlugin plugin = PluginLoader.Load(folder);

        Assert.True(plugin.State == PluginState.Loaded, plugin.Failure);
    }

    [Fact]
    public void Load_AssemblyNamedInManifestMissing_FailedNamingTheFile()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("missing-assembly"));

        AssertFailed(plugin, "Fabric.TestPlugins.MissingAssembly.Gone.dll", "does not exist");
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void Load_NoPublicPluginType_FailedSayingSo()
    {
        // The assembly has an abstract plugin base and an internal (non-public) plugin: neither is a plugin type.
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("no-plugin-type"));

        AssertFailed(plugin, "no public class implementing IGatewayPlugin", "Fabric.TestPlugins.NoPluginType.dll");
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void Load_TwoPluginTypesWithoutEntryType_FailedAskingForEntryType()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("two-plugin-types"));

        AssertFailed(plugin, "2 plugin types", "entryType");
        Assert.Null(plugin.Instance);
    }

    [Theory]
    [InlineData("Fabric.TestPlugins.TwoPluginTypes.FirstPlugin")]
    [InlineData("Fabric.TestPlugins.TwoPluginTypes.SecondPlugin")]
    public void Load_TwoPluginTypesWithEntryType_LoadsTheNamedOne(string entryType)
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "two-plugin-types");
        TestPluginFolders.EditManifest(folder, m => m["entryType"] = entryType);

        LoadedPlugin plugin = PluginLoader.Load(folder);

        Assert.True(plugin.State == PluginState.Loaded, plugin.Failure);
        Assert.Equal(entryType, plugin.Instance!.GetType().FullName);
    }

    [Fact]
    public void Load_EntryTypeNotInAssembly_FailedNamingTheEntryType()
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "two-plugin-types");
        TestPluginFolders.EditManifest(folder, m => m["entryType"] = "Fabric.TestPlugins.TwoPluginTypes.ThirdPlugin");

        AssertFailed(PluginLoader.Load(folder), "entryType", "Fabric.TestPlugins.TwoPluginTypes.ThirdPlugin");
    }

    [Fact]
    public void Load_FolderCarriesContractAssembly_FailedNamingTheCopy()
    {
        string source = TestPluginFolders.Of("carries-contract");
        Assert.True(File.Exists(Path.Combine(source, "Fabric.Abstractions.dll")), "the carries-contract plugin should have been built with its own copy of the contract");

        LoadedPlugin plugin = PluginLoader.Load(source);

        AssertFailed(plugin, "Fabric.Abstractions.dll", "Private");
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void Load_ManifestNotJson_FailedSayingPluginJsonIsInvalid()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("bad-manifest-json"));

        AssertFailed(plugin, "plugin.json is not valid");
        Assert.Null(plugin.Manifest);
        Assert.Equal("bad-manifest-json", plugin.Name); // the folder name stands in for the unreadable manifest
    }

    [Fact]
    public void Load_NoManifest_FailedSayingPluginJsonIsMissing()
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "good", "no-manifest");
        File.Delete(Path.Combine(folder, "plugin.json"));

        LoadedPlugin plugin = PluginLoader.Load(folder);

        AssertFailed(plugin, "no plugin.json");
        Assert.Equal("no-manifest", plugin.Name);
    }

    /// <summary>Manifests that are JSON but wrong: each must fail that plugin, never throw out of the loader.</summary>
    [Theory]
    [InlineData("null", "plugin.json is empty")]
    [InlineData("[]", "plugin.json is not valid")]
    [InlineData("""{"name":"a/b","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0"}""", "'name'")]
    [InlineData("""{"name":"","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0"}""", "'name'")]
    [InlineData("""{"name":null,"assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0"}""", "'name'")]
    [InlineData("""{"name":"good","assembly":"../good/Fabric.TestPlugins.Good.dll","contractVersion":"1.0"}""", "'assembly'")]
    [InlineData("""{"name":"good","assembly":"/etc/passwd","contractVersion":"1.0"}""", "'assembly'")]
    [InlineData("""{"name":"good","assembly":null,"contractVersion":"1.0"}""", "'assembly'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll"}""", "'contractVersion'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":null}""", "'contractVersion'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","minHostVersion":"soon"}""", "'minHostVersion'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","minHostVersion":null}""", "'minHostVersion'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","subprotocols":["2F01"]}""", "'2F01'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","subprotocols":["0x0000"]}""", "'0x0000'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","subprotocols":["0x10000"]}""", "'0x10000'")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","subprotocols":null}""", "subprotocols")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","subprotocols":[null]}""", "subprotocol")]
    [InlineData("""{"name":"good","assembly":"Fabric.TestPlugins.Good.dll","contractVersion":"1.0","subprotocols":"0x2F01"}""", "plugin.json is not valid")]
    public void Load_InvalidManifest_FailedNamingTheField(string json, string expected)
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "good");
        File.WriteAllText(Path.Combine(folder, "plugin.json"), json);

        LoadedPlugin plugin = PluginLoader.Load(folder);

        AssertFailed(plugin, expected);
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void Load_BrokenDepsJson_FailedInsteadOfThrowing()
    {
        using var temp = new TempDirectory();
        string folder = TestPluginFolders.CopyTo(temp.Path, "good");
        File.WriteAllText(Path.Combine(folder, "Fabric.TestPlugins.Good.deps.json"), "{ this is not json");

        LoadedPlugin plugin = PluginLoader.Load(folder);

        AssertFailed(plugin, "loading failed");
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void Load_ConstructorThrows_FailedWithTheExceptionAndTheType()
    {
        LoadedPlugin plugin = PluginLoader.Load(TestPluginFolders.Of("throws-in-constructor"));

        AssertFailed(plugin, "boom in constructor", "ThrowsInConstructorPlugin");
        Assert.Null(plugin.Instance);
    }

    [Fact]
    public void LoadAll_EveryTestPlugin_GoodOnesLoadInSpiteOfTheBadOnes()
    {
        using var temp = new TempDirectory();
        foreach (string folder in TestPluginFolders.All)
        {
            TestPluginFolders.CopyTo(temp.Path, folder);
        }

        IReadOnlyList<LoadedPlugin> plugins = PluginLoader.LoadAll(temp.Path, []);

        Assert.Equal(TestPluginFolders.All.Count, plugins.Count);
        string[] loaded = ["core-id-claim", "good", "hangs-at-start", "isolation-a", "isolation-b", "leaky", "throws-at-start", "throws-in-configure-services", "unlisted-id"];
        string[] failed = ["bad-manifest-json", "carries-contract", "missing-assembly", "no-plugin-type", "throws-in-constructor", "too-new", "two-plugin-types", "wrong-contract"];
        Assert.Equal(loaded.Length + failed.Length, plugins.Count);
        foreach (string name in loaded)
        {
            LoadedPlugin plugin = plugins.Single(p => p.Name == name);
            Assert.True(plugin.State == PluginState.Loaded, $"{name}: {plugin.Failure}");
            Assert.NotNull(plugin.Instance);
        }

        foreach (string name in failed)
        {
            LoadedPlugin plugin = plugins.Single(p => p.Name == name);
            Assert.Equal(PluginState.Failed, plugin.State);
            Assert.False(string.IsNullOrWhiteSpace(plugin.Failure), name);
            Assert.Null(plugin.Instance);
        }

        // In folder order, whatever failed on the way.
        Assert.Equal(plugins.Select(p => Path.GetFileName(p.Directory)).Order(StringComparer.Ordinal), plugins.Select(p => Path.GetFileName(p.Directory)));
    }

    [Fact]
    public void LoadAll_DisabledPlugin_SkippedWithoutRunningItsCode()
    {
        using var temp = new TempDirectory();
        TestPluginFolders.CopyTo(temp.Path, "good");
        string recorder = TestPluginFolders.CopyTo(temp.Path, "throws-in-constructor");
        File.WriteAllText(Path.Combine(recorder, "mode.txt"), "record"); // its constructor leaves constructed.log

        IReadOnlyList<LoadedPlugin> plugins = PluginLoader.LoadAll(temp.Path, ["THROWS-in-constructor"]);

        LoadedPlugin only = Assert.Single(plugins);
        Assert.Equal("good", only.Name);
        Assert.Equal(PluginState.Loaded, only.State);
        Assert.False(File.Exists(Path.Combine(recorder, "constructed.log")), "a disabled plugin's constructor ran: the loader loaded it before looking at Plugins:Disabled");
    }

    [Fact]
    public void LoadAll_DisabledPluginWithBrokenManifest_SkippedByFolderName()
    {
        using var temp = new TempDirectory();
        TestPluginFolders.CopyTo(temp.Path, "bad-manifest-json");
        TestPluginFolders.CopyTo(temp.Path, "good");

        IReadOnlyList<LoadedPlugin> plugins = PluginLoader.LoadAll(temp.Path, ["bad-manifest-json"]);

        Assert.Equal(["good"], plugins.Select(p => p.Name));
    }

    [Fact]
    public void LoadAll_TwoPluginsWithTheSameName_SecondFailsWithoutRunningItsCode()
    {
        using var temp = new TempDirectory();
        TestPluginFolders.CopyTo(temp.Path, "good", "a-good");
        string twin = TestPluginFolders.CopyTo(temp.Path, "throws-in-constructor", "b-twin");
        File.WriteAllText(Path.Combine(twin, "mode.txt"), "record");
        TestPluginFolders.EditManifest(twin, m => m["name"] = "GOOD"); // names compare case-insensitively

        IReadOnlyList<LoadedPlugin> plugins = PluginLoader.LoadAll(temp.Path, []);

        Assert.Equal(2, plugins.Count);
        Assert.Equal(PluginState.Loaded, plugins[0].State);
        AssertFailed(plugins[1], "another plugin is already named 'GOOD'");
        Assert.False(File.Exists(Path.Combine(twin, "constructed.log")), "the duplicate's constructor ran");
    }

    [Fact]
    public void LoadAll_SameNameAfterAFailedOne_TheWorkingOneLoads()
    {
        using var temp = new TempDirectory();
        string broken = TestPluginFolders.CopyTo(temp.Path, "wrong-contract", "a-broken");
        TestPluginFolders.EditManifest(broken, m => m["name"] = "good");
        TestPluginFolders.CopyTo(temp.Path, "good", "b-good");

        IReadOnlyList<LoadedPlugin> plugins = PluginLoader.LoadAll(temp.Path, []);

        Assert.Equal([PluginState.Failed, PluginState.Loaded], plugins.Select(p => p.State));
        Assert.Contains("contract 2.0", plugins[0].Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadAll_MissingDirectory_NoPlugins()
    {
        Assert.Empty(PluginLoader.LoadAll(Path.Combine(Path.GetTempPath(), "fabric-no-such-plugins-" + Guid.NewGuid().ToString("N")), []));
    }

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
