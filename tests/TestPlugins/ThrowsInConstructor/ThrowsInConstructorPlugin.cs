using Fabric.Abstractions;

namespace Fabric.TestPlugins.ThrowsInConstructor;

/// <summary>
/// Its constructor throws. A constructor gets no settings, so a file "mode.txt" beside the assembly changes that:
/// "record" appends a line to "constructed.log" (beside the assembly) before throwing, so a test can tell whether the
/// constructor ran; "hang" blocks the calling thread for 10 s first.
/// </summary>
public sealed class ThrowsInConstructorPlugin : GatewayPlugin
{
    public ThrowsInConstructorPlugin()
    {
        string folder = Path.GetDirectoryName(typeof(ThrowsInConstructorPlugin).Assembly.Location)!;
        string modeFile = Path.Combine(folder, "mode.txt");
        string mode = File.Exists(modeFile) ? File.ReadAllText(modeFile).Trim() : "throw";
        if (mode == "record")
        {
            File.AppendAllText(Path.Combine(folder, "constructed.log"), "constructed\n");
        }
        else if (mode == "hang")
        {
            Thread.Sleep(TimeSpan.FromSeconds(10));
        }

        throw new InvalidOperationException("boom in constructor");
    }
}
