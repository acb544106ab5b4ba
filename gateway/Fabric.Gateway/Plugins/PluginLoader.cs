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
        => LoadAll(root, disabled, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Loads every plugin folder under <paramref name="root"/> except the disabled ones (never loaded: none of their
    /// code runs). A plugin constructor gets <paramref name="constructorTimeout"/>.
    /// </summary>
    public static IReadOnlyList<LoadedPlugin> LoadAll(string root, IReadOnlyCollection<string> disabled, TimeSpan constructorTimeout)
    {
        ArgumentNullException.ThrowIfNull(disabled);
        if (!System.IO.Directory.Exists(root))
        {
            return [];
        }

        var plugins = new List<LoadedPlugin>();
        foreach (string folder in System.IO.Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            // The name (from the manifest, else the folder's) decides before anything is loaded: a disabled plugin or
            // a second plugin of a name already in use runs no code, not even its constructor.
            string name = NameOf(folder);
            if (disabled.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (plugins.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase) && p.State != PluginState.Failed))
            {
                plugins.Add(Failed(folder, TryReadManifest(folder, out _), $"another plugin is already named '{name}'"));
                continue;
            }

            plugins.Add(Load(folder, constructorTimeout));
        }

        return plugins;
    }

    /// <summary>Loads one plugin folder. Never throws: problems end up in <see cref="LoadedPlugin.Failure"/>.</summary>
    public static LoadedPlugin Load(string folder) => Load(folder, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Loads one plugin folder; the plugin's constructor gets <paramref name="constructorTimeout"/>. Never throws:
    /// problems end up in <see cref="LoadedPlugin.Failure"/>.
    /// </summary>
    public static LoadedPlugin Load(string folder, TimeSpan constructorTimeout)
    {
        PluginManifest? manifest = TryReadManifest(folder, out string? unreadable);
        if (manifest is null)
        {
            return Failed(folder, null, unreadable!);
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

        var plugin = new LoadedPlugin(folder, manifest) { AllowedSubprotocols = subprotocols };
        Type? type = null;
        try
        {
            // The resolver reads the plugin's .deps.json here: a broken one throws, and fails only this plugin.
            plugin.LoadContext = new PluginLoadContext(manifest.Name, assemblyPath);
            Assembly assembly = plugin.LoadContext.LoadFromAssemblyPath(assemblyPath);

            // Public, concrete classes only: an internal helper deriving from GatewayPlugin is not an entry point.
            Type[] candidates = [.. assembly.GetTypes().Where(t => typeof(IGatewayPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false, IsVisible: true })];
            if (manifest.EntryType is { Length: > 0 } entry)
            {
                candidates = [.. candidates.Where(t => t.FullName == entry)];
                if (candidates.Length == 0)
                {
                    return Unload(plugin, $"entryType '{entry}' from plugin.json is not a public class implementing IGatewayPlugin in {manifest.Assembly}");
                }
            }

            if (candidates.Length != 1)
            {
                return Unload(plugin, candidates.Length == 0
                    ? $"no public class implementing IGatewayPlugin (contract {ContractVersion.Current}) in {manifest.Assembly}"
                    : $"{candidates.Length} plugin types in {manifest.Assembly}; name one with \"entryType\" in plugin.json");
            }

            type = candidates[0];
            plugin.Instance = Construct(type, constructorTimeout);
            plugin.State = PluginState.Loaded;
        }
        catch (TimeoutException)
        {
            return Unload(plugin, $"loading failed: the constructor of {type!.FullName} timed out");
        }
#pragma warning disable CA1031 // whatever a plugin's files or constructor throw fails that plugin, never the host
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Unload(plugin, ex is TargetInvocationException { InnerException: { } inner }
                ? $"loading failed: the constructor of {type?.FullName} threw {inner.GetType().Name}: {inner.Message}"
                : $"loading failed: {ex.Message}");
        }

        return plugin;
    }

    /// <summary>The plugin's name as the host knows it: the manifest's if it can be read, else the folder's.</summary>
    private static string NameOf(string folder)
        => TryReadManifest(folder, out _)?.Name is { Length: > 0 } name ? name : Path.GetFileName(folder);

    private static PluginManifest? TryReadManifest(string folder, out string? problem)
    {
        string manifestPath = Path.Combine(folder, "plugin.json");
        try
        {
            if (!File.Exists(manifestPath))
            {
                problem = $"no plugin.json in {folder}";
                return null;
            }

            PluginManifest? manifest = JsonSerializer.Deserialize<PluginManifest>(File.ReadAllText(manifestPath), ManifestJson);
            problem = manifest is null ? "plugin.json is empty" : null;
            return manifest;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            problem = $"plugin.json is not valid: {ex.Message}";
            return null;
        }
    }

    /// <summary>Runs the plugin's constructor, on another thread when it has a time limit (a constructor that blocks must not hold the host).</summary>
    private static IGatewayPlugin Construct(Type type, TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return (IGatewayPlugin)Activator.CreateInstance(type)!;
        }

        // A thread of its own, not the pool's: a constructor that blocks must not starve the host.
        Task<object?> construct = Task.Factory.StartNew(() => Activator.CreateInstance(type), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!construct.Wait(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout))
            {
                throw new TimeoutException();
            }
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException!);
        }

        return (IGatewayPlugin)construct.Result!;
    }

    /// <summary>Fails a plugin whose assembly was loaded, and unloads its context: nothing of it stays in memory.</summary>
    private static LoadedPlugin Unload(LoadedPlugin plugin, string reason)
    {
        plugin.Fail(reason);
        plugin.Instance = null;
        plugin.LoadContext?.Unload();
        plugin.LoadContext = null;
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

        if (manifest.Subprotocols is null)
        {
            return "manifest 'subprotocols' must be a list of hex ids such as [\"0x2201\"]";
        }

        foreach (string? text in manifest.Subprotocols)
        {
            string t = text?.Trim() ?? "";
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
