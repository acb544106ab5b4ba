using System.Text;
using Fabric.Gateway.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace Fabric.Gateway.Tests.Configuration;

public class LastGoodJsonFileTests
{
    private const string Good = """{ "Fabric": { "Access": { "Rules": [ { "Services": [ "web" ], "Action": "Deny" } ] } }, "A": "1" }""";

    [Fact]
    public void Load_ReadsKeysExactlyAsDotNetsJsonProvider()
    {
        var files = new OneFile(Good);
        IConfigurationRoot ours = new ConfigurationBuilder().Add(Source(files)).Build();
        IConfigurationRoot theirs = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Good))).Build();

        Assert.Equal(theirs.AsEnumerable().OrderBy(kv => kv.Key), ours.AsEnumerable().OrderBy(kv => kv.Key));
        Assert.Equal("Deny", ours["Fabric:Access:Rules:0:Action"]);
    }

    [Fact]
    public void Load_AtStartup_BrokenFileThrows_MissingRequiredFileThrows_MissingOptionalFileIsEmpty()
    {
        Assert.Throws<InvalidDataException>(() => new ConfigurationBuilder().Add(Source(new OneFile("{ \"A\": "))).Build());
        Assert.Throws<FileNotFoundException>(() => new ConfigurationBuilder().Add(Source(new OneFile(null))).Build());
        IConfigurationRoot optional = new ConfigurationBuilder().Add(Source(new OneFile(null), optional: true)).Build();
        Assert.Empty(optional.AsEnumerable());
    }

    [Fact]
    public void Reload_Changed_TakesTheNewContentAndSignalsItOnce()
    {
        var files = new OneFile(Good);
        IConfigurationRoot root = new ConfigurationBuilder().Add(Source(files)).Build();
        LastGoodJsonFileProvider provider = root.Providers.OfType<LastGoodJsonFileProvider>().Single();
        int reloaded = 0, tokens = 0;
        provider.Reloaded += _ => reloaded++;
        using IDisposable _ = ChangeToken.OnChange(root.GetReloadToken, () => tokens++);

        files.Change("""{ "A": "2" }""");

        Assert.Equal("2", root["A"]);
        Assert.Null(root["Fabric:Access:Rules:0:Action"]);
        Assert.Equal(1, reloaded);
        Assert.Equal(1, tokens);
    }

    [Theory]
    [InlineData("{ \"Fabric\": { \"Access\": ")] // a save half done
    [InlineData("{ \"A\": 1 } trailing")]
    [InlineData("")]
    [InlineData(null)] // gone (an editor's save by rename, a wrong deploy)
    public void Reload_BrokenOrMissing_KeepsTheLastGoodContentAndReportsWhy(string? content)
    {
        var files = new OneFile(Good);
        IConfigurationRoot root = new ConfigurationBuilder().Add(Source(files)).Build();
        LastGoodJsonFileProvider provider = root.Providers.OfType<LastGoodJsonFileProvider>().Single();
        var failures = new List<string>();
        int tokens = 0;
        provider.ReloadFailed += (_, why) => failures.Add(why);
        using IDisposable _ = ChangeToken.OnChange(root.GetReloadToken, () => tokens++);

        files.Change(content);

        Assert.Equal("Deny", root["Fabric:Access:Rules:0:Action"]);
        Assert.Equal("1", root["A"]);
        Assert.Equal(0, tokens); // readers are not told to re-read anything
        string why = Assert.Single(failures);
        Assert.Contains("settings.json", why, StringComparison.Ordinal);

        // Once fixed, the file is taken again.
        files.Change("""{ "A": "3" }""");
        Assert.Equal("3", root["A"]);
        Assert.Equal(1, tokens);
    }

    [Fact]
    public void Reload_TouchedButUnchanged_SignalsNothing()
    {
        var files = new OneFile(Good);
        IConfigurationRoot root = new ConfigurationBuilder().Add(Source(files)).Build();
        int tokens = 0;
        using IDisposable _ = ChangeToken.OnChange(root.GetReloadToken, () => tokens++);

        files.Change(Good.Replace(" ", "  ", StringComparison.Ordinal));

        Assert.Equal(0, tokens);
    }

    [Fact]
    public void ReplaceJsonFileSources_PutsALastGoodSourceInEachJsonFileSourcesPlace()
    {
        var builder = new ConfigurationBuilder();
        builder.AddInMemoryCollection([new("A", "0")]);
        builder.Add(new JsonConfigurationSource { Path = "appsettings.json", Optional = true, ReloadOnChange = true, FileProvider = new OneFile(null) });
        builder.AddInMemoryCollection([new("A", "9")]);

        LastGoodJsonFileSource.ReplaceJsonFileSources(builder, AppContext.BaseDirectory);

        LastGoodJsonFileSource replaced = Assert.IsType<LastGoodJsonFileSource>(builder.Sources[1]);
        Assert.Equal("appsettings.json", replaced.Path);
        Assert.True(replaced.Optional);
        Assert.True(replaced.ReloadOnChange);
        Assert.Equal("9", builder.Build()["A"]); // the order is kept
    }

    private static LastGoodJsonFileSource Source(OneFile files, bool optional = false) => new()
    {
        FileProvider = files,
        Path = "settings.json",
        Optional = optional,
        ReloadOnChange = true,
        ReloadDelay = TimeSpan.Zero,
    };

    /// <summary>A file provider holding one file whose content the test sets (null: no file), and fires its watch on each change.</summary>
    private sealed class OneFile(string? content) : IFileProvider
    {
        private string? _content = content;
        private CancellationTokenSource _changed = new();

        public void Change(string? content)
        {
            _content = content;
            CancellationTokenSource fired = _changed;
            _changed = new CancellationTokenSource();
            fired.Cancel(); // the provider reloads synchronously, inside this call
            fired.Dispose();
        }

        public IFileInfo GetFileInfo(string subpath) => new Info(subpath, _content);

        public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

        public IChangeToken Watch(string filter) => new CancellationChangeToken(_changed.Token);

        private sealed class Info(string name, string? content) : IFileInfo
        {
            public bool Exists => content is not null;

            public long Length => content is null ? -1 : Encoding.UTF8.GetByteCount(content);

            public string? PhysicalPath => "/config/" + name;

            public string Name => name;

            public DateTimeOffset LastModified => DateTimeOffset.UnixEpoch;

            public bool IsDirectory => false;

            public Stream CreateReadStream() => new MemoryStream(Encoding.UTF8.GetBytes(content ?? throw new FileNotFoundException(name)));
        }
    }
}
