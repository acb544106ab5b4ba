using System.Buffers;
using BenchmarkDotNet.Attributes;
using Fabric.Core.Framing;

namespace Benchmarks.Micro;

/// <summary>Writing and parsing DATA frames: the codec's per-frame cost and allocation (expected 0 B).</summary>
[MemoryDiagnoser]
public class FrameCodecBenchmarks
{
    private const int Frames = 64;
    private const int PayloadSize = 16 * 1024;
    private readonly byte[] _payload = new byte[PayloadSize];
    private readonly byte[] _wire = new byte[Frames * (FrameHeader.Size + PayloadSize)];
    private ReadOnlySequence<byte> _sequence;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_payload);
        WriteDataFrame();
        _sequence = new ReadOnlySequence<byte>(_wire);
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public int WriteDataFrame()
    {
        Span<byte> wire = _wire;
        int offset = 0;
        for (int i = 0; i < Frames; i++)
        {
            offset += FrameWriter.WriteDataHeader(wire[offset..], 1, PayloadSize);
            _payload.CopyTo(wire[offset..]);
            offset += PayloadSize;
        }

        return offset;
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public long ReadDataFrame()
    {
        ReadOnlySequence<byte> buffer = _sequence;
        long total = 0;
        while (FrameReader.TryReadFrame(ref buffer, 65535, out FrameHeader header, out ReadOnlySequence<byte> payload))
        {
            total += payload.Length + header.StreamId;
        }

        return total;
    }
}
