namespace Fabric.Gateway.Configuration;

/// <summary>A configuration value is wrong; the message names the key and what is wrong with it.</summary>
public sealed class ConfigurationException(string key, string problem)
    : Exception($"Configuration error at '{key}': {problem}")
{
    /// <summary>The configuration key, e.g. <c>Fabric:Listen</c>.</summary>
    public string Key { get; } = key;

    /// <summary>What is wrong.</summary>
    public string Problem { get; } = problem;
}
