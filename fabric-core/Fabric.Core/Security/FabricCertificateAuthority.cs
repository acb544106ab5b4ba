using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>A fabric CA: an ECDSA P-256 key that signs node certificates. Its private key stays offline in a 0600 PKCS#8 file.</summary>
public sealed class FabricCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    private FabricCertificateAuthority(ECDsa key)
    {
        _key = key;
        ECParameters p = key.ExportParameters(false);
        var publicKey = new byte[PublicKeys.Size];
        publicKey[0] = 0x04;
        p.Q.X!.CopyTo(publicKey, 1);
        p.Q.Y!.CopyTo(publicKey, 33);
        PublicKey = publicKey;
    }

    /// <summary>The CA public key (65 bytes) that nodes list as trusted.</summary>
    public byte[] PublicKey { get; }

    /// <summary>Creates a new CA key.</summary>
    public static FabricCertificateAuthority Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Loads a CA private key (PKCS#8 PEM).</summary>
    public static FabricCertificateAuthority Load(string path)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            return new FabricCertificateAuthority(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Saves the CA private key as PKCS#8 PEM with mode 0600.</summary>
    public void Save(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new FileStream(path, options);
        using var writer = new StreamWriter(file);
        writer.Write(_key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Issues a certificate for <paramref name="nodePublicKey"/>.</summary>
    public NodeCertificate Issue(byte[] nodePublicKey, string name, IReadOnlyList<string> roles, DateTimeOffset notBefore, DateTimeOffset notAfter, ulong serial)
        => NodeCertificate.Issue(_key, PublicKey, nodePublicKey, name, roles, notBefore, notAfter, serial);

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
