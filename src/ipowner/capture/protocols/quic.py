"""QUIC Initial packets: derive the client's Initial keys from the Destination Connection ID
(RFC 9001 section 5, RFC 9369 for v2), remove header protection, decrypt, and collect CRYPTO frames
until the ClientHello is complete; and the Google QUIC client hello that came before, in clear.
"""

from __future__ import annotations

import hmac

from ipowner.capture.protocols.common import PayloadError, normalise_name
from ipowner.capture.protocols.tls import ClientHello, parse_client_hello_body
from ipowner.capture.rules import (
    GQUIC_MARK,
    GQUIC_MARK_WITHIN,
    GQUIC_MIN_HELLO,
    QUIC_LONG_HEADER,
    QUIC_MIN_INITIAL,
)

# version -> (initial salt, label prefix, Initial packet type bits)
_VERSIONS: dict[int, tuple[bytes, bytes, int]] = {
    0x00000001: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), b"quic ", 0),
    0x6B3343CF: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), b"quicv2 ", 1),
}
for _draft in (29, 30, 31, 32, 33, 34):
    _VERSIONS[0xFF000000 + _draft] = (bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"), b"quic ", 0)


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(secret, block + info + bytes([i]), "sha256")
        out += block
        i += 1
    return out[:length]


def _varint(buf: bytes, p: int) -> tuple[int, int]:
    first = buf[p]
    ln = 1 << (first >> 6)
    v = first & 0x3F
    for b in buf[p + 1 : p + ln]:
        v = (v << 8) | b
    if p + ln > len(buf):
        raise IndexError
    return v, p + ln


def is_client_initial(payload: bytes) -> bool:
    if len(payload) < QUIC_MIN_INITIAL or not payload[0] & QUIC_LONG_HEADER:
        return False
    version = int.from_bytes(payload[1:5], "big")
    spec = _VERSIONS.get(version)
    return spec is not None and ((payload[0] >> 4) & 3) == spec[2]


class QuicInitialState:
    """One client flow's Initial keys and the CRYPTO bytes gathered so far."""

    __slots__ = ("key", "iv", "hp", "crypto", "done")

    def __init__(self) -> None:
        self.key: bytes | None = None
        self.iv = b""
        self.hp = b""
        self.crypto: dict[int, bytes] = {}
        self.done = False

    def feed(self, datagram: bytes) -> ClientHello | None:
        """Process one client datagram; the ClientHello once complete."""
        from cryptography.exceptions import InvalidTag

        try:
            return self._feed(datagram)
        except (IndexError, ValueError, InvalidTag) as exc:
            raise PayloadError(f"undecodable QUIC Initial ({type(exc).__name__})") from None

    def _feed(self, d: bytes) -> ClientHello | None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not is_client_initial(d):
            return None
        version = int.from_bytes(d[1:5], "big")
        salt, prefix, _ = _VERSIONS[version]
        p = 5
        dcil = d[p]
        dcid = d[p + 1 : p + 1 + dcil]
        p += 1 + dcil
        scil = d[p]
        p += 1 + scil
        token_len, p = _varint(d, p)
        p += token_len
        length, p = _varint(d, p)
        pn_off = p
        if self.key is None:
            initial = hmac.digest(salt, dcid, "sha256")
            secret = _expand_label(initial, b"client in", 32)
            self.key = _expand_label(secret, prefix + b"key", 16)
            self.iv = _expand_label(secret, prefix + b"iv", 12)
            self.hp = _expand_label(secret, prefix + b"hp", 16)
        sample = d[pn_off + 4 : pn_off + 20]
        if len(sample) < 16 or pn_off + length > len(d):
            raise ValueError("short Initial")
        enc = Cipher(algorithms.AES(self.hp), modes.ECB()).encryptor()
        mask = enc.update(sample) + enc.finalize()
        first = d[0] ^ (mask[0] & 0x0F)
        pn_len = (first & 3) + 1
        pn_bytes = bytes(d[pn_off + i] ^ mask[1 + i] for i in range(pn_len))
        header = bytes([first]) + d[1:pn_off] + pn_bytes
        pn = int.from_bytes(pn_bytes, "big")
        nonce = (int.from_bytes(self.iv, "big") ^ pn).to_bytes(12, "big")
        ciphertext = d[pn_off + pn_len : pn_off + length]
        plain = AESGCM(self.key).decrypt(nonce, ciphertext, header)
        self._frames(plain)
        return self._client_hello()

    def _frames(self, f: bytes) -> None:
        p = 0
        n = len(f)
        while p < n:
            if not f[p]:
                # a run of one-byte PADDING frames (an Initial is padded to 1200 bytes): skipped in one step
                p = n - len(f[p:].lstrip(b"\x00"))
                continue
            ftype, p = _varint(f, p)
            if ftype in (0x00, 0x01):  # PADDING, PING
                continue
            if ftype in (0x02, 0x03):  # ACK
                _, p = _varint(f, p)
                _, p = _varint(f, p)
                count, p = _varint(f, p)
                _, p = _varint(f, p)
                for _ in range(count):
                    _, p = _varint(f, p)
                    _, p = _varint(f, p)
                if ftype == 0x03:
                    for _ in range(3):
                        _, p = _varint(f, p)
            elif ftype == 0x06:  # CRYPTO
                off, p = _varint(f, p)
                ln, p = _varint(f, p)
                self.crypto[off] = f[p : p + ln]
                p += ln
            elif ftype == 0x1C:  # CONNECTION_CLOSE
                return
            else:
                return  # a frame type an Initial should not carry: stop reading this packet

    def _client_hello(self) -> ClientHello | None:
        data = bytearray()
        for off in sorted(self.crypto):  # retransmitted CRYPTO frames may overlap
            chunk = self.crypto[off]
            if off > len(data):
                break
            if off + len(chunk) > len(data):
                data += chunk[len(data) - off :]
        if len(data) < 4:
            return None
        if data[0] != 1:
            self.done = True
            raise PayloadError("QUIC CRYPTO stream does not start with a ClientHello")
        need = int.from_bytes(data[1:4], "big")
        if len(data) < 4 + need:
            return None
        self.done = True
        return parse_client_hello_body(bytes(data[4 : 4 + need]))


# ---------------------------------------------------------------- Google QUIC (before IETF QUIC)


def gquic_chlo_sni(payload: bytes) -> str | None:
    """SNI from a Google QUIC (Q0xx) client hello, which travels unencrypted as a tag/value map."""
    if (len(payload) < GQUIC_MIN_HELLO or payload[0] & QUIC_LONG_HEADER and payload[1:2] != GQUIC_MARK[:1]
            or GQUIC_MARK not in payload[:GQUIC_MARK_WITHIN]):
        return None
    i = payload.find(b"CHLO", 0, 120)
    if i < 0 or i + 8 > len(payload):
        return None
    n = int.from_bytes(payload[i + 4 : i + 6], "little")
    table = i + 8
    values = table + 8 * n
    prev = 0
    for k in range(n):
        e = table + 8 * k
        if e + 8 > len(payload):
            return None
        tag = payload[e : e + 4]
        stop = int.from_bytes(payload[e + 4 : e + 8], "little")
        if tag == b"SNI\0":
            raw = payload[values + prev : values + stop]
            return normalise_name(raw.decode("utf-8", "replace")) if 0 < len(raw) == stop - prev else None
        prev = stop
    return None
