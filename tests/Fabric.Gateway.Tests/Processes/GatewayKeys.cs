namespace Fabric.Gateway.Tests.Processes;

/// <summary>Node keys for the gateway processes, made once per test class with the binary's own <c>keygen</c>.</summary>
public sealed class GatewayKeys : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, string> _publicKeys = [];

    /// <summary>The nodes keys are made for.</summary>
    public static readonly string[] Names = ["a", "r", "b"];

    /// <summary>The private key file of <paramref name="name"/>.</summary>
    public string KeyFile(string name) => _directory.File($"{name}.key");

    /// <summary>The base64 public key keygen printed for <paramref name="name"/>.</summary>
    public string PublicKey(string name) => _publicKeys[name];

    public async Task InitializeAsync()
    {
        string[] keys = await Task.WhenAll(Names.Select(n => GatewayProcess.KeygenAsync(KeyFile(n), _directory.Path)));
        for (int i = 0; i < Names.Length; i++)
        {
            _publicKeys[Names[i]] = keys[i];
        }
    }

    public Task DisposeAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}
