using Fabric.Abstractions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.TestPlugins.HangsAtStart;

/// <summary>
/// Registers subprotocol 0x2F04 at start, then never finishes StartAsync. Settings (<c>Plugins:Settings:hangs-at-start</c>):
/// <list type="bullet">
/// <item><c>Stage</c>: where it hangs: ConfigureServices, Configure, Start (default) or Stop.</item>
/// <item><c>Mode</c>: "async" (default: a task that never completes; ConfigureServices and Configure always block) or
/// "block" (blocks the calling thread for <c>BlockMs</c>, 10 s by default, then returns a task that never completes).</item>
/// <item><c>LateMs</c> and <c>ReportFile</c>: hanging at start in async mode, after that delay try to host "late-svc" and
/// write "late registration accepted" or "late registration refused: ..." to the file.</item>
/// </list>
/// It ignores cancellation on purpose.
/// </summary>
public sealed class HangsAtStartPlugin : GatewayPlugin
{
    public static readonly SubprotocolInfo Subprotocol = new(0x2F04, "test.hangs", new Version(1, 0), new Version(1, 0));

    private string _stage = "Start";
    private string _mode = "async";
    private int _blockMs = 10_000;
    private int _lateMs;
    private string? _reportFile;

    public override void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
    {
        IConfiguration settings = context.Configuration;
        _stage = settings["Stage"] is { Length: > 0 } stage ? stage : _stage;
        _mode = settings["Mode"] is { Length: > 0 } mode ? mode : _mode;
        _blockMs = int.TryParse(settings["BlockMs"], out int block) ? block : _blockMs;
        _lateMs = int.TryParse(settings["LateMs"], out int late) ? late : 0;
        _reportFile = settings["ReportFile"];
        if (_stage == "ConfigureServices")
        {
            Thread.Sleep(_blockMs);
        }
    }

    public override void Configure(WebApplication app, GatewayPluginContext context)
    {
        if (_stage == "Configure")
        {
            Thread.Sleep(_blockMs);
        }
    }

    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        fabric.Handle(Subprotocol, (incoming, ct) => Task.CompletedTask);
        if (_stage != "Start")
        {
            return Task.CompletedTask;
        }

        if (_mode == "block")
        {
            Thread.Sleep(_blockMs);
            return Never();
        }

        return HangAsync(fabric);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stage != "Stop")
        {
            return Task.CompletedTask;
        }

        if (_mode == "block")
        {
            Thread.Sleep(_blockMs);
        }

        return Never();
    }

    private static Task Never() => new TaskCompletionSource().Task;

    private async Task HangAsync(IFabric fabric)
    {
        if (_lateMs > 0)
        {
            await Task.Delay(_lateMs);
            string outcome;
            try
            {
                fabric.HostService(new FabricServiceInfo("late-svc", fabric.NodeName, [Subprotocol.Id]));
                outcome = "late registration accepted";
            }
            catch (Exception ex)
            {
                outcome = "late registration refused: " + ex.Message;
            }

            if (_reportFile is { Length: > 0 } file)
            {
                File.WriteAllText(file, outcome);
            }
        }

        await Never();
    }
}
