using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Benchmarks.Micro;

/// <summary>Runs the BenchmarkDotNet suites with the memory diagnoser and reports allocated bytes per frame.</summary>
internal static class MicroRunner
{
    public static Result Run(BenchmarkArgs args)
    {
        Job job = args.Quick ? Job.ShortRun.WithWarmupCount(2).WithIterationCount(3) : Job.Default;
        IConfig config = DefaultConfig.Instance.AddJob(job).AddDiagnoser(MemoryDiagnoser.Default).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        Summary[] summaries = BenchmarkRunner.Run(new[] { typeof(FrameCodecBenchmarks), typeof(SessionDataPathBenchmarks) }, config);
        var result = new Result("micro");
        foreach (Summary summary in summaries)
        {
            foreach (BenchmarkReport report in summary.Reports)
            {
                long? bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
                string name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name
                    + (report.BenchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Secure") is { Value: true } ? "Secure" : "");
                result.Add($"{name}_alloc_bytes", bytes ?? -1, "0");
                if (report.ResultStatistics is { } stats)
                {
                    result.Add($"{name}_ns", stats.Mean, "0.0");
                }
            }
        }

        return result;
    }
}
