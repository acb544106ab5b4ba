using Benchmarks;
using Benchmarks.Scenarios;

if (args.Length > 0 && args[0] == Benchmarks.Scenarios.Grpc.GrpcBackend.Command)
{
    return await Benchmarks.Scenarios.Grpc.GrpcBackend.RunAsync(args[1..]); // the grpc scenario's backend process
}

BenchmarkArgs parsed;
try
{
    parsed = BenchmarkArgs.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine("scenarios: mux-throughput, hol-latency [--saturate] [--plaintext], idle-streams, link-throughput, handshake, relay-throughput [--plaintext], failover [--mode goaway|reset|blackhole] [--rate N] [--no-half-close], directory-scale, grpc [--duration S] [--warmup S] [--targets direct,fabric,nginx_tls], micro");
    return 2;
}

Result result = parsed.Scenario switch
{
    "mux-throughput" => await MuxThroughput.RunAsync(parsed),
    "hol-latency" => await HolLatency.RunAsync(parsed),
    "idle-streams" => await IdleStreams.RunAsync(parsed),
    "link-throughput" => await LinkThroughput.RunAsync(parsed),
    "handshake" => await Handshake.RunAsync(parsed),
    "relay-throughput" => await RelayThroughput.RunAsync(parsed),
    "failover" => await Failover.RunAsync(parsed),
    "directory-scale" => await DirectoryScale.RunAsync(parsed),
    "http" => await HttpBench.RunAsync(parsed),
    "grpc" => await GrpcBench.RunAsync(parsed),
    "micro" => Benchmarks.Micro.MicroRunner.Run(parsed),
    _ => throw new ArgumentException($"unknown scenario '{parsed.Scenario}'"),
};

Console.WriteLine(result);
return 0;
