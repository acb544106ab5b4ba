using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Core.Security;
using Benchmarks.Scenarios.Grpc;
using Fabric.Core.Sessions;

namespace Benchmarks.Scenarios;

/// <summary>
/// One bulk stream over a secure fabric session on loopback TCP, against .NET's SslStream (TLS 1.3) over a loopback
/// socket with the same write size, alternating rounds in the same run. Both ChaCha20-Poly1305 and AES-256-GCM
/// links are measured; the headline is the default (ChaCha20-Poly1305).
/// </summary>
internal static class LinkThroughput
{
    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        TimeSpan duration = args.Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);
        int rounds = args.Quick ? 3 : 5;
        using X509Certificate2 certificate = CreateCertificate();
        var ssl = new List<double>();
        var chacha = new List<double>();
        var aes = new List<double>();
        var sslCores = new List<double>();
        var chachaCores = new List<double>();
        var aesCores = new List<double>();
        await SslAsync(certificate, TimeSpan.FromSeconds(1));
        await FabricAsync(CipherSuite.ChaCha20Poly1305, TimeSpan.FromSeconds(1));
        string sslCipher = "";
        for (int i = 0; i < rounds; i++)
        {
            CpuSample cpu = CpuSample.Begin([Environment.ProcessId]);
            (double gbps, string cipher) = await SslAsync(certificate, duration);
            sslCores.Add(cpu.End().Cores[0]);
            ssl.Add(gbps);
            sslCipher = cipher;
            cpu = CpuSample.Begin([Environment.ProcessId]);
            chacha.Add(await FabricAsync(CipherSuite.ChaCha20Poly1305, duration));
            chachaCores.Add(cpu.End().Cores[0]);
            cpu = CpuSample.Begin([Environment.ProcessId]);
            aes.Add(await FabricAsync(CipherSuite.Aes256Gcm, duration));
            aesCores.Add(cpu.End().Cores[0]);
            Console.WriteLine(
                $"round {i + 1}: SslStream ({cipher}) {ssl[^1]:0.00} Gbit/s ({sslCores[^1]:0.00} cores), " +
                $"fabric ChaCha20-Poly1305 {chacha[^1]:0.00} ({chachaCores[^1]:0.00} cores), fabric AES-256-GCM {aes[^1]:0.00} ({aesCores[^1]:0.00} cores)");
        }

        double s = Stats.Median(ssl), c = Stats.Median(chacha), a = Stats.Median(aes);
        return new Result("link-throughput")
            .Add("gbps", c, "0.00")
            .Add("sslstream_gbps", s, "0.00")
            .Add("ratio_vs_sslstream", c / s, "0.00")
            .Add("aes_gbps", a, "0.00")
            .Add("aes_ratio_vs_sslstream", a / s, "0.00")
            .Add("sslstream_cipher", sslCipher)
            .Add("cores", Stats.Median(chachaCores), "0.00")
            .Add("sslstream_cores", Stats.Median(sslCores), "0.00")
            .Add("write_size", MuxThroughput.WriteSize, "0");
    }

    private static async Task<double> FabricAsync(CipherSuite suite, TimeSpan duration)
    {
        await using Loopback loop = await Loopback.StartAsync(suite: suite);
        FabricStream send = await loop.Client.OpenStreamAsync(0xF000, "bulk", TrafficClass.Bulk);
        FabricStream recv = (await loop.Server.AcceptStreamAsync())!;
        double gbps = await MuxThroughput.MeasureAsync(send, recv, duration, send.CompleteWrites);
        await send.DisposeAsync();
        await recv.DisposeAsync();
        return gbps;
    }

    private static async Task<(double Gbps, string Cipher)> SslAsync(X509Certificate2 certificate, TimeSpan duration)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        using Socket server = await accept;
        server.NoDelay = true;
        await using var clientSsl = new SslStream(new NetworkStream(client, ownsSocket: false));
        await using var serverSsl = new SslStream(new NetworkStream(server, ownsSocket: false));
        Task serverAuth = serverSsl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = SslProtocols.Tls13,
        });
        await clientSsl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls13,
            // Pin the benchmark's own self-signed certificate (the same check a fabric node does with a pinned key).
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
        });
        await serverAuth;
        double gbps = await MuxThroughput.MeasureAsync(clientSsl, serverSsl, duration, () => client.Shutdown(SocketShutdown.Send));
        return (gbps, clientSsl.NegotiatedCipherSuite.ToString());
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
