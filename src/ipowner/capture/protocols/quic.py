"""QUIC Initial packets: derive the client's Initial keys from the Destination Connection ID
(RFC 9001 section 5, RFC 9369 for v2; every version in rules.QUIC_VERSIONS), remove header protection,
decrypt, and collect CRYPTO frames until the ClientHello is complete; and the Google QUIC client hello that
came before, in clear. A datagram may hold several packets (RFC 9000 section 12.2): they are walked, so an
Initial after a 0-RTT or Handshake packet is found.
"""

from __future__ import annotations

import hmac

from ipowner.capture.protocols.common import PayloadError, normalise_name
from ipowner.capture.protocols.tls import ClientHello, parse_client_hello_body
from ipowner.capture.rules import (
    GQUIC_MARK,
    GQUIC_MARK_WITHIN,
    GQUIC_MIN_HELLO,
    QUIC_GREASE,
    QUIC_GREASE_MASK,
    QUIC_INITIAL_SALTS,
    QUIC_LONG_HEADER,
    QUIC_MIN_INITIAL,
    QUIC_VERSIONS,
)

# version -> (initial salt, label prefix, Initial packet type bits)
_VERSIONS: dict[int, tuple[bytes, bytes, int]] = {
    version: (QUIC_INITIAL_SALTS[salt], prefix, initial) for version, (salt, prefix, initial) in QUIC_VERSIONS.items()
}


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


def is_greased(version: int) -> bool:
    """A version of the form 0x?a?a?a?a, reserved to exercise version negotiation (RFC 9000 section 15)."""
    return version & QUIC_GREASE_MASK == QUIC_GREASE


def is_client_initial(payload: bytes) -> bool:
    """Whether a client datagram starts QUIC: a long-header packet of a version read here (its Initial may
    follow a 0-RTT packet in the datagram, or come in the next datagram) or of a greased version (QUIC,
    with nothing to decrypt: the client's next datagrams are looked at)."""
    if len(payload) < QUIC_MIN_INITIAL or not payload[0] & QUIC_LONG_HEADER:
        return False
    version = int.from_bytes(payload[1:5], "big")
    return version in _VERSIONS or is_greased(version)


class QuicInitialState:
    """One client flow's Initial keys and the CRYPTO bytes gathered so far."""

    __slots__ = ("keys", "crypto", "done")

    def __init__(self) -> None:
        self.keys: dict[int, tuple[bytes, bytes, bytes]] = {}  # version -> (key, iv, header protection key)
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
        """Walk the coalesced long-header packets of one datagram; decrypt each Initial among them."""
        p, n = 0, len(d)
        while n - p >= QUIC_MIN_INITIAL and d[p] & QUIC_LONG_HEADER:
            version = int.from_bytes(d[p + 1 : p + 5], "big")
            spec = _VERSIONS.get(version)
            if spec is None:
                return None  # greased, or a version switched to that is not read here
            ptype = (d[p] >> 4) & 3
            initial = ptype == spec[2]
            if ptype == (spec[2] + 3) & 3:
                return None  # Retry (a server's): no length, nothing of the client's
            q = p + 5
            dcil = d[q]
            dcid = d[q + 1 : q + 1 + dcil]
            q += 1 + dcil
            q += 1 + d[q]  # source connection ID
            if initial:
                token_len, q = _varint(d, q)
                q += token_len
            length, q = _varint(d, q)
            end = q + length
            if end > n:
                raise ValueError("short QUIC packet")
            if initial:
                self._initial(d, p, q, end, dcid, version, spec)
                hello = self._client_hello()
                if hello is not None or self.done:
                    return hello
            p = end  # 0-RTT and Handshake packets are stepped over
        return None

    def _initial(self, d: bytes, start: int, pn_off: int, end: int, dcid: bytes, version: int,
                 spec: tuple[bytes, bytes, int]) -> None:
        """Remove the header protection of the Initial at ``d[start:end]``, decrypt it, read its frames."""
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        keys = self.keys.get(version)
        if keys is None:  # from the first Initial's DCID: the client keeps those keys when its DCID changes
            salt, prefix, _ = spec
            secret = _expand_label(hmac.digest(salt, dcid, "sha256"), b"client in", 32)
            keys = self.keys[version] = (_expand_label(secret, prefix + b"key", 16),
                                         _expand_label(secret, prefix + b"iv", 12),
                                         _expand_label(secret, prefix + b"hp", 16))
        key, iv, hp = keys
        sample = d[pn_off + 4 : pn_off + 20]
        if len(sample) < 16 or pn_off + 20 > end:
            raise ValueError("short Initial")
        enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
        mask = enc.update(sample) + enc.finalize()
        first = d[start] ^ (mask[0] & 0x0F)
        pn_len = (first & 3) + 1
        pn_bytes = bytes(d[pn_off + i] ^ mask[1 + i] for i in range(pn_len))
        header = bytes([first]) + d[start + 1 : pn_off] + pn_bytes
        pn = int.from_bytes(pn_bytes, "big")
        nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
        plain = AESGCM(key).decrypt(nonce, d[pn_off + pn_len : end], header)
        self._frames(plain)

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
