using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// A node's long-term P-256 key pair. The private key lives in a PKCS#8 PEM file readable only by its owner
/// (0600) and is never logged or printed; <see cref="ToString"/> shows the node id only.
/// </summary>
public sealed class NodeIdentity : IDisposable
{
    private readonly ECDiffieHellman _key;

    private NodeIdentity(ECDiffieHellman key)
    {
        _key = key;
        PublicKey = PublicKeys.Encode(key);
        Id = NodeId.FromPublicKey(PublicKey);
    }

    /// <summary>65-byte uncompressed public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>SHA-256 of <see cref="PublicKey"/>.</summary>
    public NodeId Id { get; }

    /// <summary>Makes a fresh key pair.</summary>
    public static NodeIdentity Generate() => new(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Builds an identity from a fixed 32-byte private scalar (test vectors).</summary>
    public static NodeIdentity FromPrivateScalar(ReadOnlySpan<byte> scalar)
        => new(ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = scalar.ToArray() }));

    /// <summary>Loads a PKCS#8 PEM private key; refuses a file that others can read.</summary>
    public static NodeIdentity Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"node key file '{path}' does not exist (create one with 'gateway keygen')", path);
        }

        if (!OperatingSystem.IsWindows())
        {
            UnixFileMode mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                throw new UnauthorizedAccessException($"node key file '{path}' is readable by others (mode {Convert.ToString((int)mode, 8)}); chmod 600 it");
            }
        }

        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.KeySize != 256)
            {
                throw new CryptographicException($"node key file '{path}' holds a {key.KeySize}-bit key; a P-256 key is required");
            }

            return new NodeIdentity(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads the key at <paramref name="path"/>, or generates and saves one if the file does not exist.</summary>
    public static NodeIdentity LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return Load(path);
        }

        NodeIdentity identity = Generate();
        identity.Save(path);
        return identity;
    }

    /// <summary>Writes the private key as PKCS#8 PEM, created with mode 0600 (never widened afterwards).</summary>
    public void Save(string path)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new FileStream(path, options);
        using var writer = new StreamWriter(file);
        writer.Write(_key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// Signs <paramref name="data"/> with the node key (ECDSA P-256, SHA-256, r || s) after prefixing a domain label,
    /// so a signature made for one purpose can never be taken for another. The same key authenticates handshakes by
    /// ECDH; the domain label keeps the two uses apart.
    /// </summary>
    public byte[] Sign(ReadOnlySpan<byte> domain, ReadOnlySpan<byte> data)
    {
        using ECDsa signer = ECDsa.Create(_key.ExportParameters(includePrivateParameters: true));
        return signer.SignData(DomainSeparated(domain, data), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>Verifies a signature made by <see cref="Sign"/> with the node key whose public key is <paramref name="publicKey"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> domain, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeys.Size || publicKey[0] != 0x04 || signature.Length != 64)
        {
            return false;
        }

        try
        {
            using ECDsa verifier = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = publicKey[1..33].ToArray(), Y = publicKey[33..].ToArray() },
            });
            return verifier.VerifyData(DomainSeparated(domain, data), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] DomainSeparated(ReadOnlySpan<byte> domain, ReadOnlySpan<byte> data)
    {
        var bytes = new byte[1 + domain.Length + data.Length];
        bytes[0] = (byte)domain.Length;
        domain.CopyTo(bytes.AsSpan(1));
        data.CopyTo(bytes.AsSpan(1 + domain.Length));
        return bytes;
    }

    /// <summary>Raw ECDH (the x-coordinate, 32 bytes) between this key and a peer public key.</summary>
    internal byte[] Agree(ECDiffieHellman peerPublic) => _key.DeriveRawSecretAgreement(peerPublic.PublicKey);

    /// <inheritdoc/>
    public override string ToString() => $"node {Id.ShortForm}";

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
