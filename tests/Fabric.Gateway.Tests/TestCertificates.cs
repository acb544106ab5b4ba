using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Gateway.Tests;

/// <summary>Certificates for the tests' TLS listeners, written as the PEM files operators provide.</summary>
internal static class TestCertificates
{
    /// <summary>Writes a self-signed P-256 certificate for 127.0.0.1 (IP SAN) to <paramref name="certFile"/> and its PKCS#8 key to <paramref name="keyFile"/>.</summary>
    public static void WriteSelfSignedLoopback(string certFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
