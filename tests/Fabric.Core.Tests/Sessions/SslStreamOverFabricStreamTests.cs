using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>SslStream (TLS 1.3) over a FabricStream pair: the handshake's zero-byte reads, flushes, a 1 MB echo and close_notify.</summary>
public class SslStreamOverFabricStreamTests
{
    [Theory]
    [InlineData(TrafficClass.Reliable)]
    [InlineData(TrafficClass.Interactive)] // reads complete inline on the read loop
    public async Task SslStream_Tls13Handshake_Echoes1MB(TrafficClass trafficClass)
    {
        using X509Certificate2 certificate = CreateCertificate();
        await using var pair = await SessionPair.StartAsync();
        var (clientStream, serverStream) = await pair.A.OpenPairAsync(pair.B, trafficClass, "tls-echo");

        await using var server = new SslStream(serverStream);
        await using var client = new SslStream(clientStream);
        Task serverAuth = server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = SslProtocols.Tls13,
        });
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "fabric.test",
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == certificate.GetCertHashString(),
        }).WaitAsync(TestTimeouts.Long);
        await serverAuth.WaitAsync(TestTimeouts.Short);
        Assert.Equal(SslProtocols.Tls13, client.SslProtocol);
        Assert.Equal(SslProtocols.Tls13, server.SslProtocol);

        Task echo = Task.Run(async () =>
        {
            byte[] buffer = new byte[32 * 1024];
            int n;
            while ((n = await server.ReadAsync(buffer).WaitAsync(TestTimeouts.Long)) > 0)
            {
                await server.WriteAsync(buffer.AsMemory(0, n)).WaitAsync(TestTimeouts.Long);
            }

            await server.ShutdownAsync().WaitAsync(TestTimeouts.Short);
        });

        // Lock-step: write a chunk, read its echo, repeat. The client's SslStream is never read and written from
        // two threads at once: on Linux that races inside OpenSSL right after a TLS 1.3 handshake (NewSessionTicket
        // processing) and fails decryption now and then whatever the transport does.
        byte[] payload = RandomNumberGenerator.GetBytes(1_000_000);
        var echoed = new MemoryStream();
        byte[] chunk = new byte[50_000];
        try
        {
            for (int offset = 0; offset < payload.Length; offset += chunk.Length)
            {
                int length = Math.Min(chunk.Length, payload.Length - offset);
                await client.WriteAsync(payload.AsMemory(offset, length)).WaitAsync(TestTimeouts.Long);
                await client.ReadExactlyAsync(chunk.AsMemory(0, length)).WaitAsync(TestTimeouts.Long);
                echoed.Write(chunk, 0, length);
            }

            await client.ShutdownAsync().WaitAsync(TestTimeouts.Short); // TLS close_notify, then end of writes
            clientStream.CompleteWrites();
            Assert.Equal(0, await client.ReadAsync(chunk).AsTask().WaitAsync(TestTimeouts.Long));
            await echo.WaitAsync(TestTimeouts.Short);
        }
        catch (TimeoutException ex)
        {
            // A stall: say exactly where each side's flow state stands.
            throw new TimeoutException(
                $"echo stalled at {echoed.Length} bytes (echo {Outcome(echo)})\n  A: {pair.A.DescribeState(clientStream)}\n  B: {pair.B.DescribeState(serverStream)}", ex);
        }

        Assert.Equal(payload, echoed.ToArray());
    }

    private static string Outcome(Task task) => task.Exception?.InnerException is { } error ? $"{task.Status}: {error.GetType().Name}: {error.Message}" : task.Status.ToString();

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fabric.test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("fabric.test");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }
}
