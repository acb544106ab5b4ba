using System.Text.Json.Nodes;

namespace Fabric.Gateway.Tests.Plugins;

/// <summary>
/// The test plugins (tests/TestPlugins), which the test project's build copies into testplugins/&lt;folder&gt;/ beside
/// the tests without referencing them; helpers to lay them out in a plugin directory of a test's own.
/// </summary>
internal static class TestPluginFolders
{
    /// <summary>Where the build put them.</summary>
    public static string Root { get; } = Path.Combine(AppContext.BaseDirectory, "testplugins");

    /// <summary>Every test plugin folder name.</summary>
    public static IReadOnlyList<string> All => [.. Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>The built folder of one plugin (read-only: copy it before changing anything).</summary>
    public static string Of(string folder)
    {
        string path = Path.Combine(Root, folder);
        Assert.True(File.Exists(Path.Combine(path, "plugin.json")), $"test plugin '{folder}' was not built into {Root}");
        return path;
    }

    /// <summary>Copies the plugin <paramref name="folder"/> into <paramref name="root"/> (as <paramref name="as"/>); returns the copy.</summary>
    public static string CopyTo(string root, string folder, string? @as = null)
    {
        string source = Of(folder);
        string target = Path.Combine(root, @as ?? folder);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination, overwrite: true);
        }

        return target;
    }

    /// <summary>Edits a copied plugin's plugin.json.</summary>
    public static void EditManifest(string pluginFolder, Action<JsonObject> edit)
    {
        string path = Path.Combine(pluginFolder, "plugin.json");
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(manifest);
        File.WriteAllText(path, manifest.ToJsonString());
    }
}
