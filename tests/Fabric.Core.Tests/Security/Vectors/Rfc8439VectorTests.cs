using System.Security.Cryptography;
using System.Text;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security.Vectors;

/// <summary>
/// RFC 8439 §2.8.2 "Example and Test Vector for AEAD_CHACHA20_POLY1305" through <see cref="RecordAead"/> with the
/// ChaCha20-Poly1305 suite. The byte values are copied row by row from the RFC's hex dumps (each literal is one
/// dump row, its comment the row offset); the nonce is the RFC's "32-bit fixed-common part" followed by its "IV".
/// </summary>
public class Rfc8439VectorTests
{
    /// <summary>RFC 8439 §2.8.2 Plaintext (114 bytes).</summary>
    private const string Plaintext =
        "4c616469657320616e642047656e746c" + // 000
        "656d656e206f662074686520636c6173" + // 016
        "73206f66202739393a20496620492063" + // 032
        "6f756c64206f6666657220796f75206f" + // 048
        "6e6c79206f6e652074697020666f7220" + // 064
        "746865206675747572652c2073756e73" + // 080
        "637265656e20776f756c642062652069" + // 096
        "742e";                              // 112

    /// <summary>RFC 8439 §2.8.2 AAD.</summary>
    private const string Aad = "50515253c0c1c2c3c4c5c6c7"; // 000

    /// <summary>RFC 8439 §2.8.2 Key.</summary>
    private const string Key =
        "808182838485868788898a8b8c8d8e8f" + // 000
        "909192939495969798999a9b9c9d9e9f";  // 016

    /// <summary>RFC 8439 §2.8.2 "32-bit fixed-common part" (07 00 00 00) then "IV" (40 .. 47).</summary>
    private const string Nonce = "07000000" + "4041424344454647";

    /// <summary>RFC 8439 §2.8.2 Ciphertext (114 bytes).</summary>
    private const string Ciphertext =
        "d31a8d34648e60db7b86afbc53ef7ec2" + // 000
        "a4aded51296e08fea9e2b5a736ee62d6" + // 016
        "3dbea45e8ca9671282fafb69da92728b" + // 032
        "1a71de0a9e060b2905d6a5b67ecd3b36" + // 048
        "92ddbd7f2d778b8c9803aee328091b58" + // 064
        "fab324e4fad675945585808b4831d7bc" + // 080
        "3ff4def08e4b7a9de576d26586cec64b" + // 096
        "6116";                              // 112

    /// <summary>RFC 8439 §2.8.2 Tag (1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91).</summary>
    private const string Tag = "1ae10b594f09e26a7e902ecbd0600691";

    [Fact]
    public void Plaintext_IsTheRfcSentence() =>
        Assert.Equal(
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
            Encoding.ASCII.GetString(Convert.FromHexString(Plaintext)));

    [Fact]
    public void Encrypt_RfcVector_GivesRfcCiphertextAndTag()
    {
        using var aead = new RecordAead(CipherSuite.ChaCha20Poly1305, Convert.FromHexString(Key));
        byte[] plaintext = Convert.FromHexString(Plaintext);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];

        aead.Encrypt(Convert.FromHexString(Nonce), plaintext, ciphertext, tag, Convert.FromHexString(Aad));

        Assert.Equal(Ciphertext, Convert.ToHexStringLower(ciphertext));
        Assert.Equal(Tag, Convert.ToHexStringLower(tag));
    }

    [Fact]
    public void Decrypt_RfcVector_ReturnsPlaintext()
    {
        using var aead = new RecordAead(CipherSuite.ChaCha20Poly1305, Convert.FromHexString(Key));
        byte[] ciphertext = Convert.FromHexString(Ciphertext);
        var plaintext = new byte[ciphertext.Length];

        aead.Decrypt(Convert.FromHexString(Nonce), ciphertext, Convert.FromHexString(Tag), plaintext, Convert.FromHexString(Aad));

        Assert.Equal(Plaintext, Convert.ToHexStringLower(plaintext));
    }

    [Theory]
    [InlineData(0, 0x01)]
    [InlineData(15, 0x80)]
    public void Decrypt_RfcVectorWithFlippedTagBit_ThrowsAndReleasesNothing(int index, int bit)
    {
        using var aead = new RecordAead(CipherSuite.ChaCha20Poly1305, Convert.FromHexString(Key));
        byte[] ciphertext = Convert.FromHexString(Ciphertext);
        byte[] tag = Convert.FromHexString(Tag);
        tag[index] ^= (byte)bit;
        var plaintext = new byte[ciphertext.Length];

        Assert.ThrowsAny<CryptographicException>(() =>
            aead.Decrypt(Convert.FromHexString(Nonce), ciphertext, tag, plaintext, Convert.FromHexString(Aad)));
        Assert.All(plaintext, b => Assert.Equal(0, b));
    }
}
