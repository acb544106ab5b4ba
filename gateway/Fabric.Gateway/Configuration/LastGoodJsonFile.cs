using System.Text.Json;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace Fabric.Gateway.Configuration;

/// <summary>
/// A watched JSON configuration file that keeps its last good content when a reload fails. .NET's own JSON file
/// provider empties itself when the file it reloads is missing or does not parse (an editor's save half done, a
/// typo), and every reader then sees the defaults: the proxy's routes vanish and the access policy's deny rules
/// with them. Here a failed reload changes nothing and is reported (<see cref="LastGoodJsonFileProvider.ReloadFailed"/>);
/// at startup a missing required file or a file that does not parse is an error, as with .NET's provider.
/// </summary>
internal sealed class LastGoodJsonFileSource : IConfigurationSource
{
    public required IFileProvider FileProvider { get; init; }

    /// <summary>The file's path inside <see cref="FileProvider"/>.</summary>
    public required string Path { get; init; }

    public bool Optional { get; init; }

    public bool ReloadOnChange { get; init; }

    /// <summary>Waited after a change is seen, so a write in progress can finish before the file is read.</summary>
    public TimeSpan ReloadDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new LastGoodJsonFileProvider(this);

    /// <summary>
    /// Puts a last-good source in the place of each of <paramref name="builder"/>'s JSON file sources (appsettings.json
    /// and its environment variant, as the host adds them), keeping their order and settings.
    /// </summary>
    public static void ReplaceJsonFileSources(IConfigurationBuilder builder, string contentRoot)
    {
        for (int i = 0; i < builder.Sources.Count; i++)
        {
            if (builder.Sources[i] is JsonConfigurationSource json && json.Path is { Length: > 0 } path)
            {
                builder.Sources[i] = new LastGoodJsonFileSource
                {
                    FileProvider = json.FileProvider ?? new PhysicalFileProvider(contentRoot),
                    Path = path,
                    Optional = json.Optional,
                    ReloadOnChange = json.ReloadOnChange,
                    ReloadDelay = TimeSpan.FromMilliseconds(json.ReloadDelay),
                };
            }
        }
    }
}

/// <summary>The provider of <see cref="LastGoodJsonFileSource"/>.</summary>
internal sealed class LastGoodJsonFileProvider : ConfigurationProvider, IDisposable
{
    private readonly LastGoodJsonFileSource _source;
    private readonly IDisposable? _watch;

    public LastGoodJsonFileProvider(LastGoodJsonFileSource source)
    {
        _source = source;
        if (source.ReloadOnChange)
        {
            _watch = ChangeToken.OnChange(() => source.FileProvider.Watch(source.Path), () =>
            {
                Thread.Sleep(source.ReloadDelay);
                Reload();
            });
        }
    }

    /// <summary>A reload failed; the argument says why (the last good content stays in force).</summary>
    public event Action<LastGoodJsonFileProvider, string>? ReloadFailed;

    /// <summary>A reload succeeded with content that differs from what was in force.</summary>
    public event Action<LastGoodJsonFileProvider>? Reloaded;

    /// <summary>The file as a path for messages.</summary>
    public string Description => _source.FileProvider.GetFileInfo(_source.Path).PhysicalPath ?? _source.Path;

    public override void Load()
    {
        if (Read() is { } data)
        {
            Data = data;
        }
        else if (!_source.Optional)
        {
            throw new FileNotFoundException($"The configuration file '{Description}' was not found and is not optional.");
        }
    }

    public void Dispose() => _watch?.Dispose();

    public override string ToString() => $"{GetType().Name} for '{_source.Path}' ({(_source.Optional ? "Optional" : "Required")})";

    private void Reload()
    {
        Dictionary<string, string?>? data;
        try
        {
            data = Read();
        }
        catch (InvalidDataException ex)
        {
            ReloadFailed?.Invoke(this, ex.Message);
            return;
        }

        if (data is null)
        {
            ReloadFailed?.Invoke(this, $"'{Description}' is gone");
            return;
        }

        if (data.Count == Data.Count && data.All(kv => Data.TryGetValue(kv.Key, out string? value) && value == kv.Value))
        {
            return; // touched, not changed
        }

        Data = data;
        OnReload();
        Reloaded?.Invoke(this);
    }

    /// <summary>The file's keys and values; null when the file does not exist. Throws <see cref="InvalidDataException"/> when it cannot be read or parsed.</summary>
    private Dictionary<string, string?>? Read()
    {
        IFileInfo file = _source.FileProvider.GetFileInfo(_source.Path);
        if (!file.Exists)
        {
            return null;
        }

        try
        {
            using Stream stream = file.CreateReadStream();
            return JsonParser.Parse(stream);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"'{Description}' could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>.NET's own JSON configuration parser, so keys and values come out exactly as with AddJsonFile.</summary>
    private sealed class JsonParser(JsonStreamConfigurationSource source) : JsonStreamConfigurationProvider(source)
    {
        public static Dictionary<string, string?> Parse(Stream stream)
        {
            var parser = new JsonParser(new JsonStreamConfigurationSource { Stream = stream });
            parser.Load(stream);
            return new Dictionary<string, string?>(parser.Data, StringComparer.OrdinalIgnoreCase);
        }
    }
}
