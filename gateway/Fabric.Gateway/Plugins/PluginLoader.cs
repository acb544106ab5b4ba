using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Fabric.Abstractions;

namespace Fabric.Gateway.Plugins;

/// <summary>
/// Finds plugins (one folder each, with a plugin.json), checks their manifests against this host, and loads each into
/// its own <see cref="PluginLoadContext"/>. A bad plugin (missing file, wrong contract version, no plugin type,
/// constructor that throws) is reported and skipped: it never stops the host or the other plugins.
/// </summary>
public static class PluginLoader
{
    private static readonly JsonSerializerOptions ManifestJson = new() { PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>This gateway's version, compared with each manifest's MinHostVersion.</summary>
    public static Version HostVersion { get; } = typeof(PluginLoader).Assembly.GetName().Version ?? new Version(0, 0);

    /// <summary>Loads every plugin folder under <paramref name="root"/> except the disabled ones.</summary>
    public static IReadOnlyList<LoadedPlugin> LoadAll(string root, IReadOnlyCollection<string> disabled)
    {
        if (!System.IO.Directory.Exists(root))
        {
            return [];
        }

        var plugins = new List<LoadedPlugin>();
        foreach (string folder in System.IO.Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            LoadedPlugin plugin = Load(folder);
            if (disabled.Contains(plugin.Name, StringComparer.OrdinalIgnoreCase))
            {
                plugin.LoadContext?.Unload();
                continue;
            }

            if (plugins.Any(p => string.Equals(p.Name, plugin.Name, StringComparison.OrdinalIgnoreCase) && p.State != PluginState.Failed) && plugin.State != PluginState.Failed)
            {
                plugin.Fail($"another plugin is already named '{plugin.Name}'");
            }

            plugins.Add(plugin);
        }

        return plugins;
    }

    /// <summary>Loads one plugin folder. Never throws: problems end up in <see cref="LoadedPlugin.Failure"/>.</summary>
    public static LoadedPlugin Load(string folder)
    {
        string manifestPath = Path.Combine(folder, "plugin.json");
        PluginManifest? manifest = null;
        try
        {
            if (!File.Exists(manifestPath))
            {
                return Failed(folder, null, $"no plugin.json in {folder}");
            }

            manifest = JsonSerializer.Deserialize<PluginManifest>(File.ReadAllText(manifestPath), ManifestJson);
            if (manifest is null)
            {
                return Failed(folder, null, "plugin.json is empty");
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return Failed(folder, null, $"plugin.json is not valid: {ex.Message}");
        }

        string? problem = Validate(manifest, out HashSet<ushort> subprotocols);
        if (problem is not null)
        {
            return Failed(folder, manifest, problem);
        }

        string assemblyPath = Path.GetFullPath(Path.Combine(folder, manifest.Assembly));
        if (!File.Exists(assemblyPath))
        {
            return Failed(folder, manifest, $"assembly '{manifest.Assembly}' named in plugin.json does not exist");
        }

        if (File.Exists(Path.Combine(folder, "Fabric.Abstractions.dll")))
        {
            // A second copy of the contract would be a second type identity: reference it with Private=false.
            return Failed(folder, manifest, "the plugin folder carries its own Fabric.Abstractions.dll; reference the contract with <Private>false</Private>");
        }

        var context = new PluginLoadContext(manifest.Name, assemblyPath);
        var plugin = new LoadedPlugin(folder, manifest) { LoadContext = context, AllowedSubprotocols = subprotocols };
        try
        {
            Assembly assembly = context.LoadFromAssemblyPath(assemblyPath);
            Type[] candidates = [.. assembly.GetTypes().Where(t => typeof(IGatewayPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })];
            if (manifest.EntryType is { Length: > 0 } entry)
            {
                candidates = [.. candidates.Where(t => t.FullName == entry)];
            }

            if (candidates.Length != 1)
            {
                plugin.Fail(candidates.Length == 0
                    ? $"no public class implementing IGatewayPlugin (contract {ContractVersion.Current}) in {manifest.Assembly}"
                    : $"{candidates.Length} plugin types in {manifest.Assembly}; name one with \"entryType\" in plugin.json");
                return plugin;
            }

            plugin.Instance = (IGatewayPlugin)Activator.CreateInstance(candidates[0])!;
            plugin.State = PluginState.Loaded;
        }
        catch (Exception ex) when (ex is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or BadImageFormatException or TargetInvocationException or MissingMethodException or TypeLoadException or InvalidCastException)
        {
            plugin.Fail($"loading failed: {(ex is TargetInvocationException { InnerException: { } inner } ? inner.Message : ex.Message)}");
        }

        return plugin;
    }

    private static string? Validate(PluginManifest manifest, out HashSet<ushort> subprotocols)
    {
        subprotocols = [];
        if (string.IsNullOrWhiteSpace(manifest.Name) || !manifest.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
        {
            return "manifest 'name' must be letters, digits, '-', '.' or '_'";
        }

        if (string.IsNullOrWhiteSpace(manifest.Assembly) || Path.IsPathRooted(manifest.Assembly) || manifest.Assembly.Contains("..", StringComparison.Ordinal))
        {
            return "manifest 'assembly' must name a file inside the plugin folder";
        }

        if (!Version.TryParse(manifest.ContractVersion, out Version? contract))
        {
            return $"manifest 'contractVersion' '{manifest.ContractVersion}' is not a version such as 1.0";
        }

        if (contract.Major != ContractVersion.Current.Major || contract.Minor > ContractVersion.Current.Minor)
        {
            return $"built for plugin contract {contract}; this gateway provides {ContractVersion.Current}";
        }

        if (!Version.TryParse(manifest.MinHostVersion, out Version? minHost))
        {
            return $"manifest 'minHostVersion' '{manifest.MinHostVersion}' is not a version";
        }

        if (minHost > HostVersion)
        {
            return $"needs gateway {minHost} or later; this is {HostVersion}";
        }

        foreach (string text in manifest.Subprotocols)
        {
            string t = text.Trim();
            if (!t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || !ushort.TryParse(t.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ushort id) || id == 0)
            {
                return $"manifest subprotocol '{text}' is not a hex id such as 0x2201";
            }

            subprotocols.Add(id);
        }

        return null;
    }

    private static LoadedPlugin Failed(string folder, PluginManifest? manifest, string reason)
    {
        var plugin = new LoadedPlugin(folder, manifest);
        plugin.Fail(reason);
        return plugin;
    }
}
