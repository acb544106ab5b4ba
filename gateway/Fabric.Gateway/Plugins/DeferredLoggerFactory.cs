namespace Fabric.Gateway.Plugins;

/// <summary>
/// A logger factory handed to plugins before the host is built: loggers it creates write to nothing until
/// <see cref="Attach"/> gives them the host's factory, then to it.
/// </summary>
#pragma warning disable CA1001 // nothing to dispose: it forwards to the host's factory, which the host owns
internal sealed class DeferredLoggerFactory : ILoggerFactory
#pragma warning restore CA1001
{
    private volatile ILoggerFactory? _target;

    public void Attach(ILoggerFactory target) => _target = target;

    public ILogger CreateLogger(string categoryName) => new DeferredLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("plugins log through the host's providers");

    public void Dispose()
    {
    }

    private sealed class DeferredLogger(DeferredLoggerFactory factory, string category) : ILogger
    {
        private ILogger? _logger;

        private ILogger? Target => _logger ??= factory._target?.CreateLogger(category);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Target?.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Target?.IsEnabled(logLevel) ?? false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Target?.Log(logLevel, eventId, state, exception, formatter);
    }
}
