using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Fabric.Gateway.Tests;

/// <summary>
/// A process a test starts (a gateway, a backend, an interop server or client, a load tool): output kept line by line
/// for waits and failure messages and optionally handed to a callback as it arrives, POSIX signals by pid, and the
/// whole tree killed at dispose.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _all = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _lineArrived = new(0);
    private readonly Action<string>? _onLine;
    private bool _disposed;

    private ChildProcess(string name, Process process, Action<string>? onLine)
    {
        Name = name;
        _process = process;
        _onLine = onLine;
        Pid = process.Id;
        process.OutputDataReceived += (_, e) => OnLine(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, stdout: false);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything printed so far, both streams, each line prefixed by the process name.</summary>
    public string Output
    {
        get
        {
            lock (_all)
            {
                return _all.ToString();
            }
        }
    }

    /// <summary>The lines printed on stdout so far.</summary>
    public string[] StdoutLines
    {
        get
        {
            lock (_all)
            {
                return [.. _stdout];
            }
        }
    }

    /// <summary>What the process wrote to stdout so far, one line per line.</summary>
    public string Stdout => string.Concat(StdoutLines.Select(l => l + "\n"));

    /// <summary>The last lines of <see cref="Output"/>, for assertion messages.</summary>
    public string Tail(int lines = 60)
    {
        string[] all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="onLine"/> gets each stdout line as it arrives.</summary>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> args, string workingDirectory, IEnumerable<KeyValuePair<string, string?>>? environment = null, Action<string>? onLine = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string key, string? value) in environment ?? [])
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

        return new ChildProcess(name, Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}"), onLine);
    }

    /// <summary>Waits for a stdout line matching <paramref name="match"/>; fails with the output if the process exits first or time runs out.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        int seen = 0;
        while (true)
        {
            string[] lines = StdoutLines;
            for (; seen < lines.Length; seen++)
            {
                if (match(lines[seen]))
                {
                    return lines[seen];
                }
            }

            if (_process.HasExited && _outputClosed.Task.IsCompleted)
            {
                // Re-check lines that arrived between the snapshot and the exit.
                if (StdoutLines.Length > seen)
                {
                    continue;
                }

                Assert.Fail($"{Name} exited with {_process.ExitCode} before {what}:\n{Output}");
            }

            TimeSpan left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"{Name}: no {what} within {timeout.TotalSeconds} s:\n{Output}");
            }

            await _lineArrived.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>Waits for the exit and for the output streams to be read to the end; false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            await Task.WhenAll(_outputClosed.Task, _errorClosed.Task).WaitAsync(TimeSpan.FromSeconds(5));
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM: a graceful stop.</summary>
    public void Terminate() => Signal(SigTerm);

    /// <summary>Sends <paramref name="signal"/> to the process (not its children).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited && NativeMethods.Kill(Pid, signal) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (!_process.HasExited)
            {
                throw new InvalidOperationException($"kill({Pid}, {signal}) failed: errno {errno}");
            }
        }
    }

    /// <summary>SIGKILL to the process tree, then waits for it.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // gone between the check and the kill
            if (!_process.HasExited && NativeMethods.Kill(Pid, SigKill) != 0 && !_process.HasExited)
            {
                throw;
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Kill();
        _process.Dispose();
        _lineArrived.Dispose();
    }

    private void OnLine(string? line, bool stdout)
    {
        if (line is null)
        {
            (stdout ? _outputClosed : _errorClosed).TrySetResult();
            ReleaseWaiters();
            return;
        }

        if (stdout)
        {
            _onLine?.Invoke(line);
        }

        lock (_all)
        {
            if (stdout)
            {
                _stdout.Add(line);
            }

            _all.Append(Name).Append(stdout ? ": " : "! ").AppendLine(line);
        }

        if (stdout)
        {
            ReleaseWaiters();
        }
    }

    private void ReleaseWaiters()
    {
        try
        {
            _lineArrived.Release();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int Kill(int pid, int signal);
    }
}
