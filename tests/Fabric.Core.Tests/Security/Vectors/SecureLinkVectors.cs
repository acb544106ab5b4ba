namespace Fabric.Core.Tests.Security.Vectors;

/// <summary>
/// Known-answer vectors of the secure link (docs/PROTOCOL.md §2.7), produced by the independent reference
/// implementation scripts/reference/fabric_link_reference.py, which was written from the document only. All values
/// are lower-case hex. Records are written one literal per wire field (prefix | fields | mac1 or tag).
/// <see cref="SecureLinkVectorTests.ReferenceScript_Output_EqualsPinnedConstants"/> checks that the script still
/// prints exactly these values.
/// </summary>
public static class SecureLinkVectors
{
    /// <summary>Initiator static private scalar: SHA-256("fabric vector initiator static"), big-endian.</summary>
    public const string InitiatorStaticScalar = "0fab131cfb9d60e74ae04871116c96e6c4fb59bc3a07437c2a0267b5095732da";

    /// <summary>Responder static private scalar: SHA-256("fabric vector responder static").</summary>
    public const string ResponderStaticScalar = "1f88d602d2953db04b4fa0794c19d79e3abe5ef78218b1f69f1980f16197f7d9";

    /// <summary>Initiator ephemeral private scalar: SHA-256("fabric vector initiator ephemeral").</summary>
    public const string InitiatorEphemeralScalar = "6f6be25bba253299f353e7abc606656bc986906b643a6973acac9f281088e797";

    /// <summary>Responder ephemeral private scalar: SHA-256("fabric vector responder ephemeral").</summary>
    public const string ResponderEphemeralScalar = "01d75f6acbe96cac909d7b274961f4f9368d581f744197cf681e06dc3c9824f6";

    /// <summary>Initiator static public key, SEC 1 uncompressed: 04 | X | Y.</summary>
    public const string InitiatorStaticPublic =
        "04" +
        "56c5fc932e96ec5bfcf09cb07ca34467e995dcbfee5e4f1b45720cd33f88a7c8" +
        "7bea915ca9660a3ca9b789031a0e840fe5085d46508789f64fb1a29bb191135f";

    /// <summary>Initiator node id: SHA-256(initiator static public key).</summary>
    public const string InitiatorNodeId = "8f6f49f56c3b628ee211eff2e49d1500ba162eb8ea874d569ba98770a454fcf6";

    /// <summary>Initiator node id short form: "fn-" + base32(first 10 bytes of the node id), lower case, no padding.</summary>
    public const string InitiatorNodeIdShort = "fn-r5xut5lmhnri5yqr";

    /// <summary>Initiator key id: first 8 bytes of SHA-256(initiator static public key).</summary>
    public const string InitiatorKeyId = "8f6f49f56c3b628e";

    /// <summary>Responder static public key: 04 | X | Y.</summary>
    public const string ResponderStaticPublic =
        "04" +
        "96d5a45517fba3bd2552df8e092aeb644e640e495f02d73053f53ab6a266fe4d" +
        "ae9b822250f82691cd93cb7ee2265c7fb3d6d672256c1092d117c8b60f48b11d";

    /// <summary>Responder node id: SHA-256(responder static public key).</summary>
    public const string ResponderNodeId = "d10aa8f104198ccc6d11430287a6af0cdf4579a212f221c094059b3456a89330";

    /// <summary>Responder node id short form.</summary>
    public const string ResponderNodeIdShort = "fn-2efkr4iedggmy3ir";

    /// <summary>Responder key id: first 8 bytes of SHA-256(responder static public key); HANDSHAKE_INIT starts with it.</summary>
    public const string ResponderKeyId = "d10aa8f104198ccc";

    /// <summary>Initiator ephemeral public key: 04 | X | Y.</summary>
    public const string InitiatorEphemeralPublic =
        "04" +
        "ca23a4772423e793692ad310cab6eaf5851a6fe11defb1de8ffca9f7de4f2386" +
        "2a155d4c61b67fdafe6b8e825949bcc111237fe660fc79c031f81577c4c11fe8";

    /// <summary>Responder ephemeral public key: 04 | X | Y.</summary>
    public const string ResponderEphemeralPublic =
        "04" +
        "814522b8d86bd2a28720bc6ae3e2049df0cb66d087ab606349eca376ae384628" +
        "82eb7424acfd699a5f0bfc1a695149d9b9def56c83a2b051bcdffb78e98a3689";

    /// <summary>payload1: version 1 | timestamp 1700000000000000000 ns | process epoch 0x0102030405060708 | offered suites 0x03 | certificate length 0.</summary>
    public const string Payload1 =
        "0001" +
        "17979cfe362a0000" +
        "0102030405060708" +
        "03" +
        "0000";

    /// <summary>payload2: version 1 | process epoch 0x1112131415161718 | chosen suite 1 (ChaCha20-Poly1305) | certificate length 0.</summary>
    public const string Payload2 =
        "0001" +
        "1112131415161718" +
        "01" +
        "0000";

    /// <summary>Transport plaintext: the session HELLO frame of PROTOCOL.md §1.9 (36 bytes).</summary>
    public const string Hello = "0800001c0000000000010004000100004000000200001000000300040000000404000000";

    /// <summary>Handshake vector set (a): no PSK configured, i.e. 32 zero bytes.</summary>
    public static class WithoutPsk
    {
        /// <summary>The fabric PSK mixed in by the psk token and into both mac1 keys.</summary>
        public const string PresharedKey = "0000000000000000000000000000000000000000000000000000000000000000";

        /// <summary>mac1 key of HANDSHAKE_INIT: SHA-256("fabric-mac1" | psk | responder static public key).</summary>
        public const string Mac1KeyResponder = "add5584c9b8fbb811effc9ae969b4c0bc4d0e6c796980c0068edfd2db718bf86";

        /// <summary>mac1 key of HANDSHAKE_RESPONSE: SHA-256("fabric-mac1" | psk | initiator static public key).</summary>
        public const string Mac1KeyInitiator = "88cd11b0e56388b4184f27cc2f442685cf5d4ba0bd5b8009a3bd043f68db59c6";

        /// <summary>HANDSHAKE_INIT record: prefix (type 1, gen 0, body 207) | responder key id | e | c_s (65+16) | c_p (21+16) | mac1.</summary>
        public const string HandshakeInit =
            "01000000000000cf" +
            "d10aa8f104198ccc" +
            "04ca23a4772423e793692ad310cab6eaf5851a6fe11defb1de8ffca9f7de4f23862a155d4c61b67fdafe6b8e825949bcc111237fe660fc79c031f81577c4c11fe8" +
            "b6272291c586d9495668734c9f962655ae1e8a29f423806e89803dea9050dd4ac687b074f75619c636a687681c2efd32794b1735c350f00bb0a13cec7af177d246ee398957f4e50273cb44d5495f73db17" +
            "ccf5a810fa231f0db1bfb94cc53cc504b64c68d48ea1f338915ba2581b8b0840b809f1956a" +
            "aaad689d3cca0cda221e000a0b2aa4ab";

        /// <summary>HANDSHAKE_RESPONSE record: prefix (type 2, gen 0, body 110) | e | c_p (13+16) | mac1.</summary>
        public const string HandshakeResponse =
            "020000000000006e" +
            "04814522b8d86bd2a28720bc6ae3e2049df0cb66d087ab606349eca376ae38462882eb7424acfd699a5f0bfc1a695149d9b9def56c83a2b051bcdffb78e98a3689" +
            "04e2d513767e7c13b4d2fa6551520268aa9a61be443e9426a246ac6cdb" +
            "0e98f0eba9c790b588339fb7c66b29ab";

        /// <summary>Final handshake hash h (after the responder payload).</summary>
        public const string HandshakeHash = "a65e7a1a13a2376105bdbd5aaca7bf0f48af74fa3bb357bf4d9286523367277b";

        /// <summary>k1 = first output of Split(): initiator-to-responder traffic secret, generation 0.</summary>
        public const string K1 = "fc799b48aaacb584fda7907199a085ea86417cef0be426c15b418fab987c82a7";

        /// <summary>k2 = second output of Split(): responder-to-initiator traffic secret, generation 0.</summary>
        public const string K2 = "3e50ab434b9a3d9e2f20eb49e3c472c22699150c7a0613fb993a99b89371f3ba";

        /// <summary>Link id: first 4 bytes of h as a big-endian u32 (hex).</summary>
        public const string LinkId = "a65e7a1a";

        /// <summary>TRANSPORT initiator to responder, ChaCha20-Poly1305, key k1, gen 0, counter 0: prefix | link id | counter | ciphertext(HELLO) | tag.</summary>
        public const string TransportI2RChaCha =
            "0300000000000040" +
            "a65e7a1a" +
            "0000000000000000" +
            "3c37a4467039f6149bcd49f41024d8e3b77ad8c15df5ce8dae62a304d70ec6ac4e05e89d" +
            "c796086c04460a5e547c7ad3ab92b9b3";

        /// <summary>TRANSPORT responder to initiator, ChaCha20-Poly1305, key k2, gen 0, counter 0.</summary>
        public const string TransportR2IChaCha =
            "0300000000000040" +
            "a65e7a1a" +
            "0000000000000000" +
            "3307c8b00ea69f3b5770ad9db79656b367e2f9b5cb649716bd5c0177114c9851c73146e2" +
            "8b143bbb021cabf898c71706f2bdbf7d";

        /// <summary>TRANSPORT initiator to responder, AES-256-GCM, key k1, gen 0, counter 0.</summary>
        public const string TransportI2RAesGcm =
            "0300000000000040" +
            "a65e7a1a" +
            "0000000000000000" +
            "9bd9438c1d7ec260d37fc2c711e24c18661f7dc94ca01973ea4a9f6e3a10ac32792cd27b" +
            "0eae46711c61928b2add0fa68bd3635e";

        /// <summary>secret_1 = HKDF-Expand(k1, "fabric key update", 32): the initiator-to-responder secret of generation 1.</summary>
        public const string Secret1I2R = "ad9e25fee1d25f4cbe8e7407b343767eb5a63f4ed2ee00c9b6abb29ea4e15634";

        /// <summary>TRANSPORT initiator to responder, ChaCha20-Poly1305, key secret_1, gen 1, counter 0.</summary>
        public const string TransportI2RGen1ChaCha =
            "0301000000000040" +
            "a65e7a1a" +
            "0000000000000000" +
            "7d244e1baa39adda39e414f0bd99890196bc9620a6e1b419c81d0230c7a9ba964bd0061d" +
            "ad9509954a7b86825312d81cdb90929f";
    }

    /// <summary>Handshake vector set (b): PSK = SHA-256("fabric vector psk").</summary>
    public static class WithPsk
    {
        /// <summary>The fabric PSK mixed in by the psk token and into both mac1 keys.</summary>
        public const string PresharedKey = "973b1da8a11d78873945d58c50c686af4844b478b4195147c0bf4bbcf1078af8";

        /// <summary>mac1 key of HANDSHAKE_INIT: SHA-256("fabric-mac1" | psk | responder static public key).</summary>
        public const string Mac1KeyResponder = "04934c94a9d13199f6452c220eea469879c1c1d32117307d9ec3d6277b171231";

        /// <summary>mac1 key of HANDSHAKE_RESPONSE: SHA-256("fabric-mac1" | psk | initiator static public key).</summary>
        public const string Mac1KeyInitiator = "827b372928be74645b446efca51a6d7f3104741f988e4424305a4a2381e32501";

        /// <summary>HANDSHAKE_INIT record: prefix (type 1, gen 0, body 207) | responder key id | e | c_s (65+16) | c_p (21+16) | mac1.</summary>
        public const string HandshakeInit =
            "01000000000000cf" +
            "d10aa8f104198ccc" +
            "04ca23a4772423e793692ad310cab6eaf5851a6fe11defb1de8ffca9f7de4f23862a155d4c61b67fdafe6b8e825949bcc111237fe660fc79c031f81577c4c11fe8" +
            "b6272291c586d9495668734c9f962655ae1e8a29f423806e89803dea9050dd4ac687b074f75619c636a687681c2efd32794b1735c350f00bb0a13cec7af177d246ee398957f4e50273cb44d5495f73db17" +
            "ccf5a810fa231f0db1bfb94cc53cc504b64c68d48ea1f338915ba2581b8b0840b809f1956a" +
            "e11d5c95a82ec346b7d3a9e121013dd4";

        /// <summary>HANDSHAKE_RESPONSE record: prefix (type 2, gen 0, body 110) | e | c_p (13+16) | mac1.</summary>
        public const string HandshakeResponse =
            "020000000000006e" +
            "04814522b8d86bd2a28720bc6ae3e2049df0cb66d087ab606349eca376ae38462882eb7424acfd699a5f0bfc1a695149d9b9def56c83a2b051bcdffb78e98a3689" +
            "8a1f21cc0a44144a1a4540fbca82f302e79584e6001c827c40eb5dba38" +
            "badfd8dad4e9f751b476df9236ea55fb";

        /// <summary>Final handshake hash h (after the responder payload).</summary>
        public const string HandshakeHash = "93eead38d646efd8666c96992ee8543e3e46dcd1db4d2e5a3b774497ae925440";

        /// <summary>k1 = first output of Split(): initiator-to-responder traffic secret, generation 0.</summary>
        public const string K1 = "9c071cb70e7def07d469e0dee5285f9dc59c08e46e01ac32185e5d1add928d74";

        /// <summary>k2 = second output of Split(): responder-to-initiator traffic secret, generation 0.</summary>
        public const string K2 = "e3670d956a6b12cce760a7ba71d657332b0dd1b6a562be07a64c00e5839ff71e";

        /// <summary>Link id: first 4 bytes of h as a big-endian u32 (hex).</summary>
        public const string LinkId = "93eead38";

        /// <summary>TRANSPORT initiator to responder, ChaCha20-Poly1305, key k1, gen 0, counter 0: prefix | link id | counter | ciphertext(HELLO) | tag.</summary>
        public const string TransportI2RChaCha =
            "0300000000000040" +
            "93eead38" +
            "0000000000000000" +
            "3f23b45c913726b11a43c895f92d59bd556eb17b4de08a714283e881b938036d1f55ce87" +
            "064f39aa1b638595266c4c6f9fb4d539";

        /// <summary>TRANSPORT responder to initiator, ChaCha20-Poly1305, key k2, gen 0, counter 0.</summary>
        public const string TransportR2IChaCha =
            "0300000000000040" +
            "93eead38" +
            "0000000000000000" +
            "7c5cee08ba6fa8ac51e1d1dc36a517c688d1214d486eed7619e9218586d4bfff2b3155c0" +
            "eafdb457a9fea8682c58210748a00348";

        /// <summary>TRANSPORT initiator to responder, AES-256-GCM, key k1, gen 0, counter 0.</summary>
        public const string TransportI2RAesGcm =
            "0300000000000040" +
            "93eead38" +
            "0000000000000000" +
            "6e7ef448b25e00a3c2bcb253bee21996221db22095b55c854fefc2e93451c73f8b3b9f70" +
            "65b7a6066792747d4f249ebc891f7b10";

        /// <summary>secret_1 = HKDF-Expand(k1, "fabric key update", 32): the initiator-to-responder secret of generation 1.</summary>
        public const string Secret1I2R = "50f9665c066da18e9ce22519aa2f38e8db52ca4a261e69f03c366337161988da";

        /// <summary>TRANSPORT initiator to responder, ChaCha20-Poly1305, key secret_1, gen 1, counter 0.</summary>
        public const string TransportI2RGen1ChaCha =
            "0301000000000040" +
            "93eead38" +
            "0000000000000000" +
            "b3594a51d2dc258555e8fa3a41c3b8b7e755234f240642418273d894f61c1fe80d359367" +
            "957da790629c111179de958b47654cb1";
    }

    /// <summary>Every constant under the key the reference script prints it with (nested sets as "set.name").</summary>
    public static IReadOnlyDictionary<string, string> ByReferenceName { get; } = new Dictionary<string, string>
    {
        ["initiator_static_scalar"] = InitiatorStaticScalar,
        ["responder_static_scalar"] = ResponderStaticScalar,
        ["initiator_ephemeral_scalar"] = InitiatorEphemeralScalar,
        ["responder_ephemeral_scalar"] = ResponderEphemeralScalar,
        ["initiator_static_public"] = InitiatorStaticPublic,
        ["initiator_node_id"] = InitiatorNodeId,
        ["initiator_node_id_short"] = InitiatorNodeIdShort,
        ["initiator_key_id"] = InitiatorKeyId,
        ["responder_static_public"] = ResponderStaticPublic,
        ["responder_node_id"] = ResponderNodeId,
        ["responder_node_id_short"] = ResponderNodeIdShort,
        ["responder_key_id"] = ResponderKeyId,
        ["initiator_ephemeral_public"] = InitiatorEphemeralPublic,
        ["responder_ephemeral_public"] = ResponderEphemeralPublic,
        ["payload1"] = Payload1,
        ["payload2"] = Payload2,
        ["hello"] = Hello,
        ["no_psk.psk"] = WithoutPsk.PresharedKey,
        ["no_psk.mac1_key_responder"] = WithoutPsk.Mac1KeyResponder,
        ["no_psk.mac1_key_initiator"] = WithoutPsk.Mac1KeyInitiator,
        ["no_psk.handshake_init"] = WithoutPsk.HandshakeInit,
        ["no_psk.handshake_response"] = WithoutPsk.HandshakeResponse,
        ["no_psk.h"] = WithoutPsk.HandshakeHash,
        ["no_psk.k1"] = WithoutPsk.K1,
        ["no_psk.k2"] = WithoutPsk.K2,
        ["no_psk.link_id"] = WithoutPsk.LinkId,
        ["no_psk.transport_i2r_chacha20poly1305"] = WithoutPsk.TransportI2RChaCha,
        ["no_psk.transport_r2i_chacha20poly1305"] = WithoutPsk.TransportR2IChaCha,
        ["no_psk.transport_i2r_aes256gcm"] = WithoutPsk.TransportI2RAesGcm,
        ["no_psk.secret1_i2r"] = WithoutPsk.Secret1I2R,
        ["no_psk.transport_i2r_gen1_chacha20poly1305"] = WithoutPsk.TransportI2RGen1ChaCha,
        ["psk.psk"] = WithPsk.PresharedKey,
        ["psk.mac1_key_responder"] = WithPsk.Mac1KeyResponder,
        ["psk.mac1_key_initiator"] = WithPsk.Mac1KeyInitiator,
        ["psk.handshake_init"] = WithPsk.HandshakeInit,
        ["psk.handshake_response"] = WithPsk.HandshakeResponse,
        ["psk.h"] = WithPsk.HandshakeHash,
        ["psk.k1"] = WithPsk.K1,
        ["psk.k2"] = WithPsk.K2,
        ["psk.link_id"] = WithPsk.LinkId,
        ["psk.transport_i2r_chacha20poly1305"] = WithPsk.TransportI2RChaCha,
        ["psk.transport_r2i_chacha20poly1305"] = WithPsk.TransportR2IChaCha,
        ["psk.transport_i2r_aes256gcm"] = WithPsk.TransportI2RAesGcm,
        ["psk.secret1_i2r"] = WithPsk.Secret1I2R,
        ["psk.transport_i2r_gen1_chacha20poly1305"] = WithPsk.TransportI2RGen1ChaCha,
    };
}
