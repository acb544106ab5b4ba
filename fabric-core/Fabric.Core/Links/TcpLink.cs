using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Fabric.Core.Links;

/// <summary>
/// A TCP carrier link. Reads and writes go straight to the socket through the BCL's stream pipes (no extra
/// copy loop, no thread hand-off): the session's writer loop flushes into <c>send</c>, its read loop reads
/// from <c>recv</c>. Pipe segments come from the shared array pool.
/// </summary>
public sealed class TcpLink : IFabricLink
{
    private const int TcpNotSentLowat = 25; // linux/tcp.h

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private int _disposed;

    private TcpLink(Socket socket, TcpLinkOptions options)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: options.PipeBufferSize, minimumReadSize: Math.Min(16 * 1024, options.PipeBufferSize), leaveOpen: true));
        Output = new SendShutdownPipeWriter(PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: options.PipeBufferSize, leaveOpen: true)), socket);
        RemoteDescription = socket.RemoteEndPoint?.ToString() ?? "tcp:?";
    }

    /// <inheritdoc/>
    public PipeReader Input { get; }

    /// <inheritdoc/>
    public PipeWriter Output { get; }

    /// <inheritdoc/>
    public string RemoteDescription { get; }

    /// <summary>The remote address of the socket.</summary>
    public EndPoint? RemoteEndPoint => _socket.RemoteEndPoint;

    /// <summary>The local address of the socket.</summary>
    public EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    /// <summary>Connects to <paramref name="endPoint"/> and returns the link.</summary>
    public static async ValueTask<TcpLink> ConnectAsync(EndPoint endPoint, TcpLinkOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TcpLinkOptions();
        options.Validate();
        var socket = new Socket(endPoint.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            Tune(socket, options);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"TCP connect to {endPoint} did not complete within {options.ConnectTimeout.TotalSeconds:0.###} s");
            }

            return new TcpLink(socket, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Wraps an accepted socket.</summary>
    public static TcpLink FromAccepted(Socket socket, TcpLinkOptions? options = null)
    {
        options ??= new TcpLinkOptions();
        options.Validate();
        Tune(socket, options);
        return new TcpLink(socket, options);
    }

    internal static void Tune(Socket socket, TcpLinkOptions options)
    {
        socket.NoDelay = true;
        if (options.SendBufferSize > 0)
        {
            socket.SendBufferSize = options.SendBufferSize;
        }

        if (options.ReceiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = options.ReceiveBufferSize;
        }

        if (options.NotSentLowWatermark > 0 && OperatingSystem.IsLinux())
        {
            Span<byte> value = stackalloc byte[4];
            BitConverter.TryWriteBytes(value, options.NotSentLowWatermark);
            socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpNotSentLowat, value);
        }
    }

    /// <summary>Reads TCP_NOTSENT_LOWAT back from the socket (Linux), for tests and diagnostics.</summary>
    public int GetNotSentLowWatermark()
    {
        Span<byte> value = stackalloc byte[4];
        _socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpNotSentLowat, value);
        return BitConverter.ToInt32(value);
    }

    /// <inheritdoc/>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.LingerState = new LingerOption(true, 0); // RST: the peer learns at once
            _socket.Dispose();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Input.CompleteAsync().ConfigureAwait(false);
        try
        {
            await Output.CompleteAsync().ConfigureAwait(false);
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            // already broken
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
