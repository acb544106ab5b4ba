using System.Diagnostics;
using System.Text;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// A process a test starts (a gateway, a backend, a client): output kept for failure messages and optionally
/// handed line by line to a callback as it arrives; disposing kills the whole process tree.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _stdout = new();
    private readonly Action<string>? _onLine;

    private ChildProcess(string name, Process process, Action<string>? onLine)
    {
        Name = name;
        _process = process;
        _onLine = onLine;
        process.OutputDataReceived += (_, e) => Append(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => Append(e.Data, stdout: false);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything printed so far (stdout and stderr interleaved), each line prefixed with the name.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>What the process wrote to stdout so far, as it wrote it.</summary>
    public string Stdout
    {
        get
        {
            lock (_output)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>The last lines of <see cref="Output"/>, for assertion messages.</summary>
    public string Tail(int lines = 60)
    {
        string[] all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Starts <paramref name="file"/>; <paramref name="onLine"/> gets each stdout line as it arrives.</summary>
    public static ChildProcess Start(string name, string file, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null, Action<string>? onLine = null)
    {
        var info = new ProcessStartInfo(file)
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

        Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        return new ChildProcess(name, process, onLine);
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);

            // The asynchronous readers may still be delivering the last lines.
            _process.WaitForExit();
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL to the whole tree: the kernel closes its sockets, nothing is said on any protocol.</summary>
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
            // already reaped
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Append(string? line, bool stdout)
    {
        if (line is null)
        {
            return;
        }

        if (stdout)
        {
            _onLine?.Invoke(line);
        }

        lock (_output)
        {
            _output.Append(Name).Append(": ").AppendLine(line);
            if (stdout)
            {
                _stdout.AppendLine(line);
            }
        }
    }
}

/// <summary>The outcome of a finished process run by <see cref="Exec"/>.</summary>
internal sealed record ExecResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalMilliseconds:F0} ms\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>Runs a process to completion, with a deadline, optionally feeding its stdin or consuming its stdout as bytes.</summary>
internal static class Exec
{
    public static async Task<ExecResult> RunAsync(
        string file,
        IEnumerable<string> args,
        TimeSpan timeout,
        Func<Stream, Task>? stdin = null,
        Func<Stream, Task>? stdout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        try
        {
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            Task<string> text = stdout is null ? process.StandardOutput.ReadToEndAsync() : Task.FromResult("");
            Task consume = stdout is null ? Task.CompletedTask : stdout(process.StandardOutput.BaseStream);
            Task feed = Task.CompletedTask;
            if (stdin is not null)
            {
                feed = Task.Run(async () =>
                {
                    try
                    {
                        await stdin(process.StandardInput.BaseStream);
                    }
                    catch (IOException)
                    {
                        // the process stopped reading (it failed): its exit code and stderr say why
                    }
                    finally
                    {
                        try
                        {
                            process.StandardInput.Close();
                        }
                        catch (IOException)
                        {
                            // the process is gone
                        }
                    }
                });
            }

            await Task.WhenAll(process.WaitForExitAsync(), consume, feed, stderr, text).WaitAsync(timeout);
            process.WaitForExit();
            return new ExecResult(process.ExitCode, await text, await stderr, clock.Elapsed);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
            throw;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
    }
}
