using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// Turns a gRPC-Web call (application/grpc-web, or application/grpc-web-text with base64 bodies) into a gRPC call
/// for the rest of the pipeline, and its gRPC response back into gRPC-Web: the content type is restored, HTTP/2
/// trailers become a final frame flagged 0x80 holding <c>name: value\r\n</c> lines, and for -text both bodies are
/// base64 (each flush of the response ends its base64 run with padding, so streamed messages are not held back).
/// </summary>
#pragma warning disable CA1001 // the wrapper stream holds nothing to release; the response stream under it is the server's
internal sealed class GrpcWebBridge : IHttpResponseTrailersFeature
#pragma warning restore CA1001
{
    private readonly HttpContext _context;
    private readonly GrpcWebResponseStream _output;
    private readonly string _responseContentType;
    private bool _trailersWritten;

    private GrpcWebBridge(HttpContext context, bool text, string subtype)
    {
        _context = context;
        _responseContentType = (text ? "application/grpc-web-text" : "application/grpc-web") + subtype;
        IHttpResponseBodyFeature original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        _output = new GrpcWebResponseStream(original.Stream, text);
        context.Features.Set<IHttpResponseBodyFeature>(new BodyFeature(_output, original, this));
        context.Features.Set<IHttpResponseTrailersFeature>(this);
        context.Response.OnStarting(static state =>
        {
            var bridge = (GrpcWebBridge)state;
            HttpResponse response = bridge._context.Response;
            if (GrpcWire.IsGrpc(response.ContentType))
            {
                response.ContentType = bridge._responseContentType;
            }

            response.ContentLength = null;
            return Task.CompletedTask;
        }, this);
    }

    public IHeaderDictionary Trailers { get; set; } = new HeaderDictionary();

    /// <summary>Rewrites the request as gRPC and wraps the response; the caller completes it with <see cref="CompleteAsync"/>.</summary>
    public static GrpcWebBridge Attach(HttpContext context)
    {
        string contentType = context.Request.ContentType ?? "";
        bool text = GrpcWire.IsGrpcWebText(contentType);
        string mediaType = text ? "application/grpc-web-text" : "application/grpc-web";
        string subtype = contentType.Length > mediaType.Length && contentType[mediaType.Length] == '+' ? contentType[mediaType.Length..].Split(';')[0] : "";
        context.Request.ContentType = "application/grpc" + subtype;
        if (text)
        {
            context.Request.Body = new Base64DecodingStream(context.Request.Body);
            context.Request.ContentLength = null;
        }

        return new GrpcWebBridge(context, text, subtype);
    }

    /// <summary>Writes the trailers frame (unless the status went out as Trailers-Only headers) and flushes.</summary>
    public async Task CompleteAsync()
    {
        if (_trailersWritten)
        {
            return;
        }

        _trailersWritten = true;
        bool trailersOnly = !_context.Response.HasStarted && _context.Response.Headers.ContainsKey(GrpcResponses.StatusHeader);
        if (Trailers.Count > 0 && !trailersOnly && !_context.RequestAborted.IsCancellationRequested)
        {
            var lines = new StringBuilder();
            foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> trailer in Trailers)
            {
                foreach (string? value in trailer.Value)
                {
                    lines.Append(trailer.Key.ToLowerInvariant()).Append(": ").Append(value).Append("\r\n");
                }
            }

            byte[] payload = Encoding.ASCII.GetBytes(lines.ToString());
            byte[] frame = new byte[GrpcWire.PrefixLength + payload.Length];
            GrpcWire.WritePrefix(frame, compressed: false, payload.Length);
            frame[0] = GrpcWire.TrailersFlag;
            payload.CopyTo(frame, GrpcWire.PrefixLength);
            await _output.WriteAsync(frame).ConfigureAwait(false);
        }

        await _output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>The response body feature over the gRPC-Web stream; completing it writes the trailers frame first.</summary>
    private sealed class BodyFeature(Stream stream, IHttpResponseBodyFeature prior, GrpcWebBridge bridge) : StreamResponseBodyFeature(stream, prior)
    {
        public override async Task CompleteAsync()
        {
            await bridge.CompleteAsync().ConfigureAwait(false);
            await base.CompleteAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>The gRPC-Web response body: passes bytes through, or base64-encodes them for -text.</summary>
internal sealed class GrpcWebResponseStream(Stream inner, bool text) : Stream
{
    private readonly byte[] _pending = new byte[2]; // bytes waiting for a full 3-byte group
    private int _pendingCount;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!text)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        int total = _pendingCount + buffer.Length;
        int whole = total / 3 * 3;
        if (whole == 0)
        {
            buffer.Span.CopyTo(_pending.AsSpan(_pendingCount));
            _pendingCount = total;
            return;
        }

        byte[] raw = ArrayPool<byte>.Shared.Rent(whole);
        byte[] encoded = ArrayPool<byte>.Shared.Rent(whole / 3 * 4);
        try
        {
            _pending.AsSpan(0, _pendingCount).CopyTo(raw);
            int fromBuffer = whole - _pendingCount;
            buffer.Span[..fromBuffer].CopyTo(raw.AsSpan(_pendingCount));
            ReadOnlySpan<byte> rest = buffer.Span[fromBuffer..];
            rest.CopyTo(_pending);
            _pendingCount = rest.Length;
            System.Buffers.Text.Base64.EncodeToUtf8(raw.AsSpan(0, whole), encoded, out _, out int written);
            await inner.WriteAsync(encoded.AsMemory(0, written), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
            ArrayPool<byte>.Shared.Return(encoded);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (text && _pendingCount > 0)
        {
            byte[] encoded = new byte[4];
            System.Buffers.Text.Base64.EncodeToUtf8(_pending.AsSpan(0, _pendingCount), encoded, out _, out int written);
            _pendingCount = 0;
            await inner.WriteAsync(encoded.AsMemory(0, written), cancellationToken).ConfigureAwait(false);
        }

        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// A gRPC-Web-text request body: base64 in runs of 4 characters, a run possibly padded (clients that flush mid-stream
/// pad each run); whitespace is skipped. Anything else fails the read.
/// </summary>
internal sealed class Base64DecodingStream(Stream inner) : Stream
{
    private readonly byte[] _chars = new byte[4];
    private readonly byte[] _input = new byte[16 * 1024];
    private int _charCount;
    private byte[] _decoded = new byte[12 * 1024];
    private int _decodedStart;
    private int _decodedEnd;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_decodedStart == _decodedEnd)
        {
            int n = await inner.ReadAsync(_input, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (_charCount != 0)
                {
                    throw new IOException("the grpc-web-text request body ends inside a base64 group");
                }

                return 0;
            }

            Decode(_input.AsSpan(0, n));
        }

        int count = Math.Min(buffer.Length, _decodedEnd - _decodedStart);
        _decoded.AsSpan(_decodedStart, count).CopyTo(buffer.Span);
        _decodedStart += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Decode(ReadOnlySpan<byte> text)
    {
        _decodedStart = _decodedEnd = 0;
        int capacity = ((_charCount + text.Length) / 4 * 3) + 3;
        if (_decoded.Length < capacity)
        {
            _decoded = new byte[capacity];
        }

        foreach (byte c in text)
        {
            if (c is (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t')
            {
                continue;
            }

            _chars[_charCount++] = c;
            if (_charCount == 4)
            {
                _charCount = 0;
                if (System.Buffers.Text.Base64.DecodeFromUtf8(_chars, _decoded.AsSpan(_decodedEnd), out _, out int written) != OperationStatus.Done)
                {
                    throw new IOException("the grpc-web-text request body is not valid base64");
                }

                _decodedEnd += written;
            }
        }
    }
}
