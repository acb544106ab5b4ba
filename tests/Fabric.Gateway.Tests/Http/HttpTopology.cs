using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fabric.Core.Security;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// Base of the HTTP test fixtures: a temporary directory, node keys (made in process, pinned by every node), and
/// every process the fixture starts — gateways, backends — killed at dispose, also when starting failed half way.
/// </summary>
public abstract class HttpTopology : IAsyncLifetime
{
    /// <summary>Generous: the machine has two cores and is often busy.</summary>
    internal static readonly TimeSpan Startup = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, string> _publicKeys = [];
    private readonly List<HttpGateway> _gateways = [];
    private readonly List<ChildProcess> _peers = [];
    private bool _disposed;

    internal TempDirectory Temp { get; } = new();

    internal IReadOnlyList<HttpGateway> Gateways => _gateways;

    /// <summary>The last lines every process printed, for assertion messages.</summary>
    public string Diagnostics => string.Join("\n", _gateways.Select(g => $"--- {g.Name} (pid {g.Pid}{(g.HasExited ? ", exited" : "")})\n" + Tail(g.Output)).Concat(_peers.Select(p => $"--- {p.Name}\n" + p.Tail(20))));

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync()
    {
        if (_disposed)
        {
            return Task.CompletedTask;
        }

        _disposed = true;
        foreach (HttpGateway gateway in _gateways)
        {
            gateway.Dispose();
        }

        foreach (ChildProcess peer in _peers)
        {
            peer.Dispose();
        }

        try
        {
            Temp.Dispose();
        }
        catch (IOException)
        {
            // a process that was slow to die may still have had a file open; the directory is in /tmp
        }

        return Task.CompletedTask;
    }

    /// <summary>Starts the topology; everything started is killed by <see cref="DisposeAsync"/> even if this throws.</summary>
    protected abstract Task StartAsync();

    /// <summary>Makes a key file per node, all pinned by every node.</summary>
    internal void MakeKeys(params string[] names)
    {
        foreach (string name in names)
        {
            using NodeIdentity identity = NodeIdentity.Generate();
            identity.Save(KeyFile(name));
            _publicKeys[name] = Convert.ToBase64String(identity.PublicKey);
        }
    }

    internal string KeyFile(string name) => Temp.File($"{name}.key");

    internal string PublicKey(string name) => _publicKeys[name];

    /// <summary>
    /// The Fabric settings of one node: its listener, key, every key pinned, and the peers it dials (overriding the
    /// shipped self-peer at Fabric:Peers:0).
    /// </summary>
    internal IEnumerable<(string Key, string Value)> FabricSettings(string name, int fabricPort, params (string Name, int Port)[] peers)
    {
        yield return ("Fabric:Listen", $"127.0.0.1:{fabricPort}");
        yield return ("Fabric:Identity:KeyFile", KeyFile(name));
        int i = 0;
        foreach (string key in _publicKeys.Values)
        {
            yield return ($"Fabric:Trust:PinnedKeys:{i++}", key);
        }

        for (int p = 0; p < peers.Length; p++)
        {
            yield return ($"Fabric:Peers:{p}:Address", $"127.0.0.1:{peers[p].Port}");
            yield return ($"Fabric:Peers:{p}:PublicKey", PublicKey(peers[p].Name));
        }
    }

    internal HttpGateway StartGateway(string name, IEnumerable<(string Key, string Value)> settings, string? pluginsDirectory = null)
    {
        HttpGateway gateway = HttpGateway.Start(name, Temp.Path, settings, pluginsDirectory);
        _gateways.Add(gateway);
        return gateway;
    }

    /// <summary>Starts the python backend (see <see cref="PeerScripts.Backend"/>) and waits until it accepts connections.</summary>
    internal async Task<(ChildProcess Process, string Log)> StartPythonBackendAsync(string name, int port)
    {
        string script = Temp.File("backend.py");
        if (!File.Exists(script))
        {
            await File.WriteAllTextAsync(script, PeerScripts.Backend);
        }

        string log = Temp.File($"{name}.log");
        await File.WriteAllTextAsync(log, "");
        ChildProcess process = ChildProcess.Start(name, PeerScripts.Python, [script, port.ToString(System.Globalization.CultureInfo.InvariantCulture), name, log], Temp.Path);
        _peers.Add(process);
        await WaitListeningAsync(port, process, TimeSpan.FromSeconds(30));
        return (process, log);
    }

    /// <summary>Starts nginx on <paramref name="port"/> answering every request with 200 and logging each request line to the returned file.</summary>
    internal async Task<string> StartNginxRecorderAsync(string name, int port, (string Cert, string Key)? tls = null)
    {
        (string conf, string accessLog) = PeerScripts.NginxRecorder(Temp.Path, name, port, tls);
        ChildProcess process = ChildProcess.Start(name, PeerScripts.Nginx, ["-p", Temp.Path + "/", "-e", Temp.File(name + ".error.log"), "-c", conf], Temp.Path);
        _peers.Add(process);
        await WaitListeningAsync(port, process, TimeSpan.FromSeconds(30));
        return accessLog;
    }

    /// <summary>
    /// Polls <paramref name="probe"/> until it returns true; fails with every process's output after
    /// <paramref name="timeout"/>, or at once when a gateway exits that was not killed on purpose.
    /// </summary>
    internal async Task WaitUntilAsync(Func<Task<bool>> probe, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            foreach (HttpGateway gateway in _gateways.Where(g => g.HasExited && !_killed.Contains(g)))
            {
                Assert.Fail($"gateway {gateway.Name} exited with {gateway.ExitCode} while waiting for {what}\n{Diagnostics}");
            }

            try
            {
                if (await probe())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or System.Text.Json.JsonException)
            {
                last = ex.Message;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what} (last error: {last})\n{Diagnostics}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Kills a gateway on purpose (so <see cref="WaitUntilAsync"/> does not report it as a crash).</summary>
    internal void KillOnPurpose(HttpGateway gateway)
    {
        _killed.Add(gateway);
        gateway.Kill();
    }

    private readonly HashSet<HttpGateway> _killed = [];

    /// <summary>A client that talks to the proxy as it is: no proxy, no cookies, no redirects.</summary>
    internal static HttpClient NewClient(TimeSpan? timeout = null) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = timeout ?? TimeSpan.FromSeconds(30),
    };

    internal static async Task WaitListeningAsync(int port, ChildProcess process, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(process.HasExited, $"{process.Name} exited before listening on {port}:\n{process.Tail()}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(2));
                return;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
            }

            Assert.True(clock.Elapsed < timeout, $"{process.Name} did not listen on {port} within {timeout.TotalSeconds} s:\n{process.Tail()}");
            await Task.Delay(50);
        }
    }

    private static string Tail(string output, int lines = 40)
    {
        string[] all = output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}
