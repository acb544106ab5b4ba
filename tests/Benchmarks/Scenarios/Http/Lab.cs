using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Benchmarks.Scenarios.Http;

/// <summary>
/// The scenario's workspace: a temp directory (configs, keys, certificates, logs), the loopback ports handed out,
/// and every process started. Each process runs with its stdout and stderr appended to a log file in the directory.
/// Disposing kills every process still running (process tree) and deletes the directory; the processes are also
/// killed if the benchmark is interrupted (Ctrl+C, SIGTERM) or exits otherwise.
/// </summary>
internal sealed class Lab : IAsyncDisposable
{
    // Gate guards the lists below and every kill and deletion: a signal handler cleaning up waits for one in progress
    // on another thread (the runtime ends the process as soon as the handler returns).
    private static readonly Lock Gate = new();
    private static readonly List<ChildProcess> Live = [];
    private static readonly List<Lab> Open = [];
    private static readonly HashSet<Process> Commands = [];
    private static readonly List<PosixSignalRegistration> Signals = [];
    private static int _hooked;
    private static bool _abandoned;
    private readonly HashSet<int> _ports = [];
    private readonly bool _keep;

    private Lab(string directory, bool keep)
    {
        Directory = directory;
        _keep = keep;
    }

    /// <summary>The temp directory.</summary>
    public string Directory { get; }

    /// <summary>A new lab in a temp directory named <paramref name="prefix"/>&lt;random&gt;.</summary>
    public static Lab Create(bool keep, string prefix = "fabric-http-bench-")
    {
        if (Interlocked.Exchange(ref _hooked, 1) == 0)
        {
            // SIGTERM/SIGINT/SIGHUP end a console app without ProcessExit: clean up in the handlers, then let them end it.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Abandon();
            foreach (PosixSignal signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP })
            {
                Signals.Add(PosixSignalRegistration.Create(signal, _ => Abandon()));
            }
        }

        var lab = new Lab(System.IO.Directory.CreateTempSubdirectory(prefix).FullName, keep);
        lock (Gate)
        {
            Open.Add(lab);
        }

        return lab;
    }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>A loopback port free at the time of asking, never the same twice in one run.</summary>
    public int FreePort()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (_ports.Add(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no free loopback port");
    }

    /// <summary>Starts <paramref name="program"/> with its output in <c>&lt;name&gt;.log</c>.</summary>
    public ChildProcess Start(string name, string program, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? errorLog = null)
    {
        string log = PathOf(name + ".log");

        // sh execs the program (same pid) with both outputs appended to the log: nothing to drain, nothing lost.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = Directory };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$@\" >>\"$0\" 2>&1 </dev/null");
        info.ArgumentList.Add(log);
        info.ArgumentList.Add(program);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        SetEnvironment(info, environment);

        Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var child = new ChildProcess(name, process, log, errorLog);
        lock (Gate)
        {
            Live.Add(child);
            if (_abandoned)
            {
                KillAll();
                throw new OperationCanceledException("the benchmark is being interrupted");
            }
        }

        return child;
    }

    /// <summary>Waits until <paramref name="port"/> accepts connections; throws with the process's output if it exits or times out.</summary>
    public static async Task WaitListeningAsync(ChildProcess process, int port, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!await CanConnectAsync(port))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited before listening on port {port}:\n{process.Tail()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{process.Name} did not listen on port {port} within {timeout.TotalSeconds:0} s:\n{process.Tail()}");
            }

            await Task.Delay(50);
        }
    }

    public static async Task<bool> CanConnectAsync(int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync("127.0.0.1", port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Runs a short command to completion (kills it after <paramref name="timeout"/>); returns exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        SetEnvironment(info, environment);

        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        lock (Gate)
        {
            Commands.Add(process);
            if (_abandoned)
            {
                ChildProcess.KillTree(process);
                throw new OperationCanceledException("the benchmark is being interrupted");
            }
        }

        try
        {
            return await WaitAsync(process, program, args, timeout);
        }
        finally
        {
            lock (Gate)
            {
                Commands.Remove(process);
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> WaitAsync(Process process, string program, IEnumerable<string> args, TimeSpan timeout)
    {
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            ChildProcess.KillTree(process);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static void SetEnvironment(ProcessStartInfo info, IReadOnlyDictionary<string, string?>? environment)
    {
        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }
    }

    /// <summary>Kills one process of this lab (and its children) and waits for it.</summary>
    public static void Stop(ChildProcess? child)
    {
        if (child is null)
        {
            return;
        }

        lock (Gate)
        {
            child.Kill();
            Live.Remove(child);
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (Gate)
        {
            Close();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Kills every process, deletes the directory (under <see cref="Gate"/>).</summary>
    private void Close()
    {
        if (!Open.Remove(this))
        {
            return;
        }

        KillAll();
        if (_keep)
        {
            Console.WriteLine($"kept {Directory}");
            return;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"could not delete {Directory}: {ex.Message}");
        }
    }

    /// <summary>Interrupted or exiting with labs still open: kill every process, delete the directories.</summary>
    private static void Abandon()
    {
        lock (Gate)
        {
            _abandoned = true;
            foreach (Process command in Commands)
            {
                ChildProcess.KillTree(command);
            }

            foreach (Lab lab in Open.ToArray())
            {
                lab.Close();
            }

            KillAll();
        }
    }

    /// <summary>Kills every process started (under <see cref="Gate"/>).</summary>
    private static void KillAll()
    {
        foreach (ChildProcess child in Live)
        {
            child.Kill();
        }

        Live.Clear();
    }
}

/// <summary>One process the lab started.</summary>
internal sealed class ChildProcess(string name, Process process, string logFile, string? errorLog)
{
    public string Name { get; } = name;

    public int Id { get; } = process.Id;

    public string LogFile { get; } = logFile;

    public bool HasExited
    {
        get
        {
            try
            {
                return process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>The last lines of the process's output (and of its own error log, if it has one), for error messages.</summary>
    public string Tail(int lines = 15)
    {
        var text = new List<string>();
        foreach (string file in new[] { LogFile, errorLog }.OfType<string>())
        {
            try
            {
                string[] all = File.ReadAllLines(file);
                text.AddRange(all.Skip(Math.Max(0, all.Length - lines)).Select(l => $"  [{Name}] {l}"));
            }
            catch (IOException)
            {
            }
        }

        return text.Count == 0 ? $"  [{Name}] (no output)" : string.Join('\n', text);
    }

    public void Kill() => KillTree(process);

    public static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(10_000);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // never started, or already gone
        }
    }
}
