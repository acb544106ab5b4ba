namespace Fabric.Gateway.Configuration;

/// <summary>
/// Logs what happens to the watched configuration files: a reload that took effect, and a reload that failed (the
/// file is gone or does not parse), after which the last good content stays in force.
/// </summary>
internal sealed partial class ConfigurationFileLog(IConfiguration configuration, ILogger<ConfigurationFileLog> logger) : IHostedService
{
    private readonly List<LastGoodJsonFileProvider> _files = configuration is IConfigurationRoot root
        ? [.. root.Providers.OfType<LastGoodJsonFileProvider>()]
        : [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (LastGoodJsonFileProvider file in _files)
        {
            file.Reloaded += OnReloaded;
            file.ReloadFailed += OnReloadFailed;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (LastGoodJsonFileProvider file in _files)
        {
            file.Reloaded -= OnReloaded;
            file.ReloadFailed -= OnReloadFailed;
        }

        return Task.CompletedTask;
    }

    private void OnReloaded(LastGoodJsonFileProvider file) => Log.Reloaded(logger, file.Description);

    private void OnReloadFailed(LastGoodJsonFileProvider file, string why) => Log.ReloadFailed(logger, file.Description, why);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Configuration file {File} changed: reloaded")]
        public static partial void Reloaded(ILogger logger, string file);

        [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "Configuration file {File} could not be reloaded, the last good configuration stays in force: {Why}")]
        public static partial void ReloadFailed(ILogger logger, string file, string why);
    }
}
