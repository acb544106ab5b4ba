using System.Globalization;

namespace Benchmarks.Scenarios.Grpc;

/// <summary>
/// CPU time from /proc (Linux): of a process with its descendants (an nginx master and its worker), and of the
/// whole machine, so a run can say how much of the 2 cores each process of the path, the backend, the load
/// generator and everything else (other users of the machine) took.
/// </summary>
internal static class CpuMeter
{
    private const double TicksPerSecond = 100; // USER_HZ, fixed at 100 for /proc on Linux

    /// <summary>User + system seconds of <paramref name="pid"/> and its live descendants; 0 where /proc cannot be read.</summary>
    public static double ProcessSeconds(int pid)
    {
        var children = new Dictionary<int, List<int>>();
        var ticks = new Dictionary<int, long>();
        try
        {
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || ReadStat(id) is not { } stat)
                {
                    continue;
                }

                ticks[id] = stat.Ticks;
                if (!children.TryGetValue(stat.Parent, out List<int>? list))
                {
                    children[stat.Parent] = list = [];
                }

                list.Add(id);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        long total = 0;
        var pending = new Stack<int>([pid]);
        while (pending.TryPop(out int id))
        {
            total += ticks.GetValueOrDefault(id);
            foreach (int child in children.GetValueOrDefault(id) ?? [])
            {
                pending.Push(child);
            }
        }

        return total / TicksPerSecond;
    }

    /// <summary>Busy and total seconds summed over all cores since boot (/proc/stat).</summary>
    public static (double Busy, double Total) MachineSeconds()
    {
        try
        {
            string first = File.ReadLines("/proc/stat").First();
            long[] v = [.. first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture))];

            // user nice system idle iowait irq softirq steal (guest time is already in user)
            long idle = v[3] + (v.Length > 4 ? v[4] : 0);
            long total = v.Take(Math.Min(v.Length, 8)).Sum();
            return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return (0, 0);
        }
    }

    private static (int Parent, long Ticks)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // gone meanwhile
        }

        // "pid (comm) state ppid ... utime stime ...": comm may hold spaces and parentheses, so split after the last ')'.
        string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 12
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int parent)
            && long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out long user)
            && long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out long system)
            ? (parent, user + system)
            : null;
    }
}

/// <summary>
/// CPU used between <see cref="Begin"/> and <see cref="End"/>: per process (with descendants) and for the whole
/// machine, in cores (seconds of CPU per second of wall time).
/// </summary>
internal sealed class CpuSample
{
    private readonly int[] _pids;
    private readonly double[] _before;
    private readonly double _busyBefore;
    private readonly double _totalBefore;
    private readonly System.Diagnostics.Stopwatch _clock;

    private CpuSample(int[] pids)
    {
        _pids = pids;
        _before = [.. pids.Select(CpuMeter.ProcessSeconds)];
        (_busyBefore, _totalBefore) = CpuMeter.MachineSeconds();
        _clock = System.Diagnostics.Stopwatch.StartNew();
    }

    /// <summary>Starts measuring the processes <paramref name="pids"/> and the machine.</summary>
    public static CpuSample Begin(IEnumerable<int> pids) => new([.. pids]);

    /// <summary>Cores each process used (in the order given), cores the machine used, and the wall time measured.</summary>
    public (double[] Cores, double Machine, double WallSeconds) End()
    {
        double wall = _clock.Elapsed.TotalSeconds;
        (double busy, double total) = CpuMeter.MachineSeconds();
        double[] cores = [.. _pids.Select((pid, i) => (CpuMeter.ProcessSeconds(pid) - _before[i]) / wall)];
        double machine = total > _totalBefore ? (busy - _busyBefore) / (total - _totalBefore) * Environment.ProcessorCount : 0;
        return (cores, machine, wall);
    }
}
