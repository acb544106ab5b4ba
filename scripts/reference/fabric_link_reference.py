#!/usr/bin/python3
"""Independent reference implementation of the Fabric secure link (docs/PROTOCOL.md, Part 2, 2.1-2.6).

Written from the document only, to produce the known-answer vectors of PROTOCOL.md 2.7 and of
tests/Fabric.Core.Tests/Security/Vectors/SecureLinkVectors.cs. Running it prints the vectors as JSON.

Requires Debian's python3 (3.11) and python3-cryptography (38.x):  apt-get install python3-cryptography
"""

import base64
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

# ---------------------------------------------------------------------------------------------
# 2.1 Identities and keys
# ---------------------------------------------------------------------------------------------

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def private_key(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from a 32-byte big-endian scalar."""
    d = int.from_bytes(scalar, "big")
    if not 1 <= d < P256_ORDER:
        raise ValueError("scalar out of range")
    return ec.derive_private_key(d, ec.SECP256R1())


def public_bytes(key) -> bytes:
    """The 65-byte SEC 1 uncompressed point 0x04 || X || Y."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public(point: bytes) -> ec.EllipticCurvePublicKey:
    """Rejects anything that is not an uncompressed point on P-256."""
    if len(point) != 65 or point[0] != 0x04:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def dh(priv: ec.EllipticCurvePrivateKey, pub: bytes) -> bytes:
    """DH(a, B): the 32-byte big-endian X coordinate of a*B."""
    out = priv.exchange(ec.ECDH(), load_public(pub))
    assert len(out) == 32
    return out


def node_id(pub: bytes) -> bytes:
    return sha256(pub)


def node_id_short(pub: bytes) -> str:
    return "fn-" + base64.b32encode(node_id(pub)[:10]).decode("ascii").lower().rstrip("=")


def key_id(pub: bytes) -> bytes:
    return sha256(pub)[:8]


# ---------------------------------------------------------------------------------------------
# 2.3 Handshake: Noise IKpsk2 over P-256
# ---------------------------------------------------------------------------------------------

PROTOCOL_NAME = b"Noise_IKpsk2_P256_ChaChaPoly_SHA256"
PROLOGUE = b"fabric-link/1"
MAC1_LABEL = b"fabric-mac1"
KEY_UPDATE_LABEL = b"fabric key update"

TYPE_HANDSHAKE_INIT = 0x01
TYPE_HANDSHAKE_RESPONSE = 0x02
TYPE_TRANSPORT = 0x03


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf(ck: bytes, ikm: bytes, n: int):
    temp = hmac_sha256(ck, ikm)
    out1 = hmac_sha256(temp, b"\x01")
    out2 = hmac_sha256(temp, out1 + b"\x02")
    if n == 2:
        return out1, out2
    out3 = hmac_sha256(temp, out2 + b"\x03")
    return out1, out2, out3


def noise_encrypt(k: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
    nonce = b"\x00\x00\x00\x00" + struct.pack("<Q", n)
    return ChaCha20Poly1305(k).encrypt(nonce, plaintext, ad)


def noise_decrypt(k: bytes, n: int, ad: bytes, ciphertext: bytes) -> bytes:
    nonce = b"\x00\x00\x00\x00" + struct.pack("<Q", n)
    return ChaCha20Poly1305(k).decrypt(nonce, ciphertext, ad)


class SymmetricState:
    def __init__(self, responder_static_pub: bytes):
        self.h = sha256(PROTOCOL_NAME)  # the name is longer than HASHLEN, so it is hashed
        self.ck = self.h
        self.k = None
        self.n = 0
        self.mix_hash(PROLOGUE)
        self.mix_hash(responder_static_pub)  # pre-message "<- s"

    def mix_hash(self, data: bytes):
        self.h = sha256(self.h + data)

    def mix_key(self, ikm: bytes):
        self.ck, self.k = hkdf(self.ck, ikm, 2)
        self.n = 0

    def mix_key_and_hash(self, ikm: bytes):
        self.ck, temp_h, self.k = hkdf(self.ck, ikm, 3)
        self.mix_hash(temp_h)
        self.n = 0

    def encrypt_and_hash(self, p: bytes) -> bytes:
        c = noise_encrypt(self.k, self.n, self.h, p)
        self.n += 1
        self.mix_hash(c)
        return c

    def decrypt_and_hash(self, c: bytes) -> bytes:
        p = noise_decrypt(self.k, self.n, self.h, c)
        self.n += 1
        self.mix_hash(c)
        return p

    def split(self):
        return hkdf(self.ck, b"", 2)


def prefix(record_type: int, gen: int, body_length: int) -> bytes:
    """The 8-byte record prefix: type | gen | reserved (u16) = 0 | body length (u32)."""
    return struct.pack(">BBHI", record_type, gen, 0, body_length)


def mac1_key(psk: bytes, receiver_static_pub: bytes) -> bytes:
    return sha256(MAC1_LABEL + psk + receiver_static_pub)


def mac1(psk: bytes, receiver_static_pub: bytes, record_before_mac: bytes) -> bytes:
    return hmac_sha256(mac1_key(psk, receiver_static_pub), record_before_mac)[:16]


def payload1(version: int, timestamp: int, process_epoch: int, offered_suites: int, certificate: bytes = b"") -> bytes:
    return struct.pack(">HQQBH", version, timestamp, process_epoch, offered_suites, len(certificate)) + certificate


def payload2(version: int, process_epoch: int, chosen_suite: int, certificate: bytes = b"") -> bytes:
    return struct.pack(">HQBH", version, process_epoch, chosen_suite, len(certificate)) + certificate


def create_init(s_i, e_i, rs: bytes, psk: bytes, p1: bytes):
    """HANDSHAKE_INIT. Returns (record, symmetric state)."""
    ss_ = SymmetricState(rs)
    e_pub = public_bytes(e_i)
    ss_.mix_hash(e_pub)
    ss_.mix_key(e_pub)  # psk modifier
    ss_.mix_key(dh(e_i, rs))  # es
    c_s = ss_.encrypt_and_hash(public_bytes(s_i))
    ss_.mix_key(dh(s_i, rs))  # ss
    c_p = ss_.encrypt_and_hash(p1)
    body_wo_mac = key_id(rs) + e_pub + c_s + c_p
    head = prefix(TYPE_HANDSHAKE_INIT, 0, len(body_wo_mac) + 16) + body_wo_mac
    return head + mac1(psk, rs, head), ss_


def read_init(s_r, psk: bytes, record: bytes):
    """The responder's side of HANDSHAKE_INIT. Returns (initiator static, payload1, re, state)."""
    rs = public_bytes(s_r)
    t, gen, reserved, length = struct.unpack(">BBHI", record[:8])
    assert t == TYPE_HANDSHAKE_INIT and gen == 0 and reserved == 0 and length == len(record) - 8
    assert 207 <= length <= 4096
    body = record[8:]
    assert body[:8] == key_id(rs)
    assert hmac.compare_digest(record[-16:], mac1(psk, rs, record[:-16]))
    re = body[8:73]
    c_s = body[73:154]
    c_p = body[154:-16]
    st = SymmetricState(rs)
    st.mix_hash(re)
    st.mix_key(re)
    st.mix_key(dh(s_r, re))  # es
    s_i = st.decrypt_and_hash(c_s)
    st.mix_key(dh(s_r, s_i))  # ss
    p1 = st.decrypt_and_hash(c_p)
    return s_i, p1, re, st


def create_response(st: SymmetricState, e_r, re: bytes, rs_i: bytes, psk: bytes, p2: bytes) -> bytes:
    e_pub = public_bytes(e_r)
    st.mix_hash(e_pub)
    st.mix_key(e_pub)
    st.mix_key(dh(e_r, re))  # ee
    st.mix_key(dh(e_r, rs_i))  # se
    st.mix_key_and_hash(psk)  # psk
    c_p = st.encrypt_and_hash(p2)
    body_wo_mac = e_pub + c_p
    head = prefix(TYPE_HANDSHAKE_RESPONSE, 0, len(body_wo_mac) + 16) + body_wo_mac
    return head + mac1(psk, rs_i, head)


def read_response(st: SymmetricState, e_i, s_i, psk: bytes, record: bytes) -> bytes:
    """The initiator's side of HANDSHAKE_RESPONSE; returns payload2."""
    t, gen, reserved, length = struct.unpack(">BBHI", record[:8])
    assert t == TYPE_HANDSHAKE_RESPONSE and gen == 0 and reserved == 0 and length == len(record) - 8
    assert 110 <= length <= 4096
    assert hmac.compare_digest(record[-16:], mac1(psk, public_bytes(s_i), record[:-16]))
    re = record[8:73]
    c_p = record[73:-16]
    st.mix_hash(re)
    st.mix_key(re)
    st.mix_key(dh(e_i, re))  # ee
    st.mix_key(dh(s_i, re))  # se
    st.mix_key_and_hash(psk)
    return st.decrypt_and_hash(c_p)


def link_id(h: bytes) -> int:
    return struct.unpack(">I", h[:4])[0]


# ---------------------------------------------------------------------------------------------
# 2.4 Transport records
# ---------------------------------------------------------------------------------------------

SUITE_CHACHA20_POLY1305 = 1
SUITE_AES_256_GCM = 2


def aead(suite: int, key: bytes):
    return ChaCha20Poly1305(key) if suite == SUITE_CHACHA20_POLY1305 else AESGCM(key)


def transport_header(gen: int, plaintext_length: int, lid: int, counter: int) -> bytes:
    return prefix(TYPE_TRANSPORT, gen, 12 + plaintext_length + 16) + struct.pack(">IQ", lid, counter)


def transport_nonce(counter: int) -> bytes:
    return b"\x00\x00\x00\x00" + struct.pack(">Q", counter)


def seal(suite: int, key: bytes, gen: int, lid: int, counter: int, plaintext: bytes) -> bytes:
    assert 1 <= len(plaintext) <= 65536
    header = transport_header(gen, len(plaintext), lid, counter)
    return header + aead(suite, key).encrypt(transport_nonce(counter), plaintext, header)


def open_record(suite: int, key: bytes, record: bytes) -> bytes:
    header = record[:20]
    counter = struct.unpack(">Q", header[12:20])[0]
    return aead(suite, key).decrypt(transport_nonce(counter), record[20:], header)


def key_update(secret: bytes) -> bytes:
    """HKDF-Expand(PRK = secret, info = "fabric key update", L = 32): one block T(1)."""
    return hmac_sha256(secret, KEY_UPDATE_LABEL + b"\x01")


# ---------------------------------------------------------------------------------------------
# The vectors
# ---------------------------------------------------------------------------------------------

HELLO = bytes.fromhex("0800001c0000000000010004000100004000000200001000000300040000000404000000")


def vectors() -> dict:
    scalars = {
        "initiator_static_scalar": sha256(b"fabric vector initiator static"),
        "responder_static_scalar": sha256(b"fabric vector responder static"),
        "initiator_ephemeral_scalar": sha256(b"fabric vector initiator ephemeral"),
        "responder_ephemeral_scalar": sha256(b"fabric vector responder ephemeral"),
    }
    s_i = private_key(scalars["initiator_static_scalar"])
    s_r = private_key(scalars["responder_static_scalar"])
    e_i = private_key(scalars["initiator_ephemeral_scalar"])
    e_r = private_key(scalars["responder_ephemeral_scalar"])
    s_i_pub, s_r_pub = public_bytes(s_i), public_bytes(s_r)

    p1 = payload1(1, 1700000000000000000, 0x0102030405060708, 0x03)
    p2 = payload2(1, 0x1112131415161718, SUITE_CHACHA20_POLY1305)

    out = {
        "initiator_static_public": s_i_pub.hex(),
        "initiator_node_id": node_id(s_i_pub).hex(),
        "initiator_node_id_short": node_id_short(s_i_pub),
        "initiator_key_id": key_id(s_i_pub).hex(),
        "responder_static_public": s_r_pub.hex(),
        "responder_node_id": node_id(s_r_pub).hex(),
        "responder_node_id_short": node_id_short(s_r_pub),
        "responder_key_id": key_id(s_r_pub).hex(),
        "initiator_ephemeral_public": public_bytes(e_i).hex(),
        "responder_ephemeral_public": public_bytes(e_r).hex(),
        "payload1": p1.hex(),
        "payload2": p2.hex(),
        "hello": HELLO.hex(),
    }
    out.update({name: scalar.hex() for name, scalar in scalars.items()})

    for name, psk in (("no_psk", bytes(32)), ("psk", sha256(b"fabric vector psk"))):
        init, st_i = create_init(s_i, e_i, s_r_pub, psk, p1)
        got_s_i, got_p1, re, st_r = read_init(s_r, psk, init)
        assert got_s_i == s_i_pub and got_p1 == p1
        response = create_response(st_r, e_r, re, got_s_i, psk, p2)
        got_p2 = read_response(st_i, e_i, s_i, psk, response)
        assert got_p2 == p2
        assert st_i.h == st_r.h and st_i.ck == st_r.ck
        k1, k2 = st_i.split()
        assert (k1, k2) == st_r.split()
        lid = link_id(st_i.h)

        i2r = seal(SUITE_CHACHA20_POLY1305, k1, 0, lid, 0, HELLO)
        r2i = seal(SUITE_CHACHA20_POLY1305, k2, 0, lid, 0, HELLO)
        i2r_aes = seal(SUITE_AES_256_GCM, k1, 0, lid, 0, HELLO)
        secret1 = key_update(k1)
        i2r_gen1 = seal(SUITE_CHACHA20_POLY1305, secret1, 1, lid, 0, HELLO)
        assert open_record(SUITE_CHACHA20_POLY1305, k1, i2r) == HELLO
        assert open_record(SUITE_CHACHA20_POLY1305, k2, r2i) == HELLO
        assert open_record(SUITE_AES_256_GCM, k1, i2r_aes) == HELLO
        assert open_record(SUITE_CHACHA20_POLY1305, secret1, i2r_gen1) == HELLO

        out[name] = {
            "psk": psk.hex(),
            "mac1_key_responder": mac1_key(psk, s_r_pub).hex(),
            "mac1_key_initiator": mac1_key(psk, s_i_pub).hex(),
            "handshake_init": init.hex(),
            "handshake_response": response.hex(),
            "h": st_i.h.hex(),
            "k1": k1.hex(),
            "k2": k2.hex(),
            "link_id": "%08x" % lid,
            "transport_i2r_chacha20poly1305": i2r.hex(),
            "transport_r2i_chacha20poly1305": r2i.hex(),
            "transport_i2r_aes256gcm": i2r_aes.hex(),
            "secret1_i2r": secret1.hex(),
            "transport_i2r_gen1_chacha20poly1305": i2r_gen1.hex(),
        }
    return out


if __name__ == "__main__":
    json.dump(vectors(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
