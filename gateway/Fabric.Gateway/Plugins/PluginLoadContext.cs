using System.Reflection;
using System.Runtime.Loader;

namespace Fabric.Gateway.Plugins;

/// <summary>
/// One plugin's assembly load context. Resolution order: the contract assembly and everything the host itself runs
/// on (its trusted platform assemblies: the .NET and ASP.NET shared frameworks) come from the default context, so
/// types unify between host and plugin; everything else from the plugin's own folder through its .deps.json
/// (<see cref="AssemblyDependencyResolver"/>), so two plugins may carry different versions of a library; native
/// libraries likewise. Collectible, so a stopped plugin can be unloaded.
/// </summary>
internal sealed class PluginLoadContext : AssemblyLoadContext
{
    private static readonly Lazy<HashSet<string>> HostAssemblies = new(() =>
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
        {
            foreach (string path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                names.Add(Path.GetFileNameWithoutExtension(path));
            }
        }

        return names;
    });

    private readonly AssemblyDependencyResolver _resolver;

    public PluginLoadContext(string name, string mainAssemblyPath)
        : base($"plugin:{name}", isCollectible: true)
    {
        _resolver = new AssemblyDependencyResolver(mainAssemblyPath);
    }

    /// <summary>Assemblies always taken from the host: the plugin contract.</summary>
    public static IReadOnlySet<string> SharedContract { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Fabric.Abstractions" };

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        string? name = assemblyName.Name;
        if (name is not null && (SharedContract.Contains(name) || HostAssemblies.Value.Contains(name)))
        {
            return null; // the default context: one copy of the type for host and plugin
        }

        string? path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string? path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
