using System.Diagnostics;
using System.Text;

namespace Fabric.Gateway.Tests.Http;

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
