using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Benchmarks.Scenarios.Grpc;

/// <summary>
/// The grpc scenario's backend, a process of its own: <c>dotnet Benchmarks.dll grpc-backend --port N</c>. Kestrel,
/// HTTP/2 only without TLS (h2c), on 127.0.0.1, no logging, no routing, no gRPC library: it reads the request's
/// length-prefixed message and answers a fixed reply with <c>content-type: application/grpc</c> and the trailer
/// <c>grpc-status: 0</c>. <c>/bench.Echo/Say</c> takes exactly <see cref="EchoMessages.RequestFrame"/> (anything else
/// gets INVALID_ARGUMENT, so a path that corrupts requests shows up in the checks); grpc.health.v1 Check answers
/// SERVING (the gateway's egress asks it every second); other methods get UNIMPLEMENTED.
/// Kestrel's defaults otherwise, as a .NET gRPC service runs: 100 concurrent streams per connection.
/// </summary>
internal static class GrpcBackend
{
    public const string Command = "grpc-backend";

    public static async Task<int> RunAsync(string[] args)
    {
        int i = Array.IndexOf(args, "--port");
        if (i < 0 || i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is 0 or > 65535)
        {
            await Console.Error.WriteLineAsync($"usage: Benchmarks {Command} --port N");
            return 2;
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2);
        });
        await using WebApplication app = builder.Build();
        app.Run(HandleAsync);
        await Console.Out.WriteLineAsync($"grpc backend on h2c://127.0.0.1:{port}");
        await app.RunAsync();
        return 0;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        response.ContentType = "application/grpc";
        string? path = context.Request.Path.Value;
        byte[]? reply = path switch
        {
            EchoMessages.Path => EchoMessages.ReplyFrame,
            EchoMessages.HealthPath => EchoMessages.ServingFrame,
            _ => null,
        };
        if (reply is null)
        {
            response.AppendTrailer("grpc-status", "12");
            response.AppendTrailer("grpc-message", "unknown method");
            return;
        }

        bool valid = await ReadRequestAsync(context.Request.BodyReader, path == EchoMessages.Path ? EchoMessages.RequestFrame : null);
        if (!valid)
        {
            response.AppendTrailer("grpc-status", "3");
            response.AppendTrailer("grpc-message", "not the benchmark's request message");
            return;
        }

        response.AppendTrailer("grpc-status", "0");
        await response.BodyWriter.WriteAsync(reply);
    }

    /// <summary>Reads the whole request; true when it is one well-formed message (equal to <paramref name="expected"/> if given).</summary>
    private static async Task<bool> ReadRequestAsync(PipeReader reader, byte[]? expected)
    {
        while (true)
        {
            ReadResult read = await reader.ReadAsync();
            ReadOnlySequence<byte> buffer = read.Buffer;
            if (!read.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            bool valid = Check(buffer, expected);
            reader.AdvanceTo(buffer.End);
            return valid;
        }
    }

    private static bool Check(ReadOnlySequence<byte> body, byte[]? expected)
    {
        if (expected is not null)
        {
            return body.Length == expected.Length && (body.IsSingleSegment ? body.FirstSpan.SequenceEqual(expected) : body.ToArray().AsSpan().SequenceEqual(expected));
        }

        Span<byte> prefix = stackalloc byte[5];
        if (body.Length < 5)
        {
            return false;
        }

        body.Slice(0, 5).CopyTo(prefix);
        return prefix[0] == 0 && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]) == body.Length - 5;
    }
}
