"""TLS handshakes: the ClientHello's server name (and ECH), a TLS <= 1.2 server's certificate names.

Read at offsets: only what decides is sliced out. Every function takes untrusted bytes and returns plain
values or raises ``PayloadError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ipowner.capture.protocols.common import PayloadError, normalise_name
from ipowner.capture.rules import (
    TLS_13,
    TLS_AFTER_CERTIFICATE,
    TLS_CERTIFICATE,
    TLS_CLIENT_HELLO,
    TLS_CONTENT_TYPES,
    TLS_ECH_OUTER,
    TLS_EXT_ALPN,
    TLS_EXT_ECH,
    TLS_EXT_ESNI,
    TLS_EXT_SERVER_NAME,
    TLS_EXT_SUPPORTED_VERSIONS,
    TLS_HANDSHAKE,
    TLS_MAJOR,
    TLS_SERVER_HELLO,
    TLS_SNI_HOST_NAME,
)


@dataclass(slots=True)
class ClientHello:
    sni: str | None
    ech: bool  # an encrypted_client_hello extension is present: the SNI is the outer (public) name
    alpn: list[str] = field(default_factory=list)


_HH = struct.Struct("!HH")
_BH = struct.Struct("!BH")
_EXT_READ = frozenset({TLS_EXT_SERVER_NAME, TLS_EXT_ALPN, TLS_EXT_ECH, TLS_EXT_ESNI})


def parse_client_hello_body(body: bytes, *, alpn: bool = True) -> ClientHello:
    """Parse a ClientHello handshake body (after the 4-byte handshake header).

    ``alpn=False`` leaves ``ClientHello.alpn`` empty, for callers that only want the names.
    """
    # Read at offsets: only the extensions that matter are sliced out.
    n = len(body)
    if n < 35:
        raise PayloadError("truncated ClientHello")
    p = 35 + body[34]  # version, random, session id
    if p + 2 > n:
        raise PayloadError("truncated ClientHello")  # a short cipher-suite length leaves p past the end
    p += 2 + ((body[p] << 8) | body[p + 1])
    if p >= n:
        raise PayloadError("truncated ClientHello")
    p += 1 + body[p]  # compression methods
    if p + 2 > n:
        return ClientHello(None, False)  # no extensions at all
    end = p + 2 + ((body[p] << 8) | body[p + 1])
    if end > n:
        end = n
    p += 2
    sni = None
    ech = False
    protocols: list[str] = []
    unpack = _HH.unpack_from
    read = _EXT_READ
    while p + 4 <= end:
        etype, elen = unpack(body, p)
        p += 4 + elen
        if etype not in read:
            continue
        q0 = p - elen
        if etype == TLS_EXT_SERVER_NAME:
            data = body[q0:p]  # may reach past the extensions block, as far as the body goes
            dlen = len(data)
            if dlen >= 5:
                q = 2
                while q + 3 <= dlen:
                    ntype, nlen = _BH.unpack_from(data, q)
                    name = data[q + 3 : q + 3 + nlen]
                    q += 3 + nlen
                    if ntype == TLS_SNI_HOST_NAME and name:
                        sni = normalise_name(name.decode("utf-8", "replace"))
                        break
        elif etype == TLS_EXT_ALPN:
            if alpn:
                data = body[q0:p]
                dlen = len(data)
                if dlen >= 2:
                    q = 2
                    while q < dlen:
                        ln = data[q]
                        protocols.append(data[q + 1 : q + 1 + ln].decode("ascii", "replace"))
                        q += 1 + ln
        else:
            ech = etype == TLS_EXT_ESNI or (elen > 0 and q0 < n and body[q0] == TLS_ECH_OUTER)
    return ClientHello(sni or None, ech, protocols)


def tls_record_handshakes(stream: bytes) -> tuple[bytes, bool, bool]:
    """Concatenate the handshake bytes of the complete TLS records at the start of ``stream``.

    Returns (handshake bytes, saw a non-handshake record, stream was not TLS).
    """
    out: list[bytes] = []
    p = 0
    n = len(stream)
    while p + 5 <= n:
        ctype = stream[p]
        if ctype not in TLS_CONTENT_TYPES or stream[p + 1] != TLS_MAJOR:
            return b"".join(out), True, p == 0
        q = p + 5 + ((stream[p + 3] << 8) | stream[p + 4])
        if q > n:
            break
        if ctype != TLS_HANDSHAKE:
            return b"".join(out), True, False
        out.append(stream[p + 5 : q])
        p = q
    return b"".join(out), False, False


def handshake_messages(hs: bytes) -> list[tuple[int, bytes]]:
    """Complete handshake messages (type, body) at the start of ``hs``."""
    msgs = []
    p = 0
    n = len(hs)
    while p + 4 <= n:
        q = p + 4 + ((hs[p + 1] << 16) | (hs[p + 2] << 8) | hs[p + 3])
        if q > n:
            break
        msgs.append((hs[p], hs[p + 4 : q]))
        p = q
    return msgs


def client_hello_from_stream(stream: bytes, *, alpn: bool = True) -> ClientHello | None:
    """The ClientHello at the start of a TCP client stream; None while incomplete.

    Raises PayloadError when the stream is not a TLS handshake. ``alpn`` as for parse_client_hello_body.
    """
    # Usual case: the first record holds the whole ClientHello; read it in place.
    n = len(stream)
    if n >= 9 and stream[0] == TLS_HANDSHAKE and stream[1] == TLS_MAJOR and stream[5] == TLS_CLIENT_HELLO:
        rec = (stream[3] << 8) | stream[4]
        need = (stream[6] << 16) | (stream[7] << 8) | stream[8]
        if need + 4 <= rec and rec + 5 <= n:
            return parse_client_hello_body(stream[9 : 9 + need], alpn=alpn)
    return _client_hello_from_records(stream, alpn)


def _client_hello_from_records(stream: bytes, alpn: bool = True) -> ClientHello | None:
    """client_hello_from_stream for any layout: handshake bytes gathered over all complete records."""
    hs, stopped, not_tls = tls_record_handshakes(stream)
    if not_tls:
        raise PayloadError("not a TLS record")
    if len(hs) >= 4:
        if hs[0] != TLS_CLIENT_HELLO:
            raise PayloadError("first handshake message is not a ClientHello")
        need = (hs[1] << 16) | (hs[2] << 8) | hs[3]
        if len(hs) >= 4 + need:
            return parse_client_hello_body(hs[4 : 4 + need], alpn=alpn)
    if stopped:
        raise PayloadError("ClientHello interrupted by another record type")
    return None


def server_certificate_names(stream: bytes) -> tuple[list[str] | None, bool]:
    """(names of the server's first certificate, done) from a TLS <= 1.2 server stream.

    ``done`` is True once nothing more can be learnt (certificate parsed, TLS 1.3, or encrypted data).
    """
    # Handshake messages are read record by record and the walk stops at the first one that decides,
    # so a TLS 1.3 ServerHello ends it without the rest of the flight being copied.
    n = len(stream)
    hs = b""  # handshake bytes not yet read as messages
    p = 0
    while p + 5 <= n:
        ctype = stream[p]
        if ctype not in TLS_CONTENT_TYPES or stream[p + 1] != TLS_MAJOR:
            return None, True  # not TLS, or a flight that goes wrong after its first records
        q = p + 5 + ((stream[p + 3] << 8) | stream[p + 4])
        if q > n:
            break
        if ctype != TLS_HANDSHAKE:
            return None, True  # encrypted or alert: no certificate follows in clear
        hs = stream[p + 5 : q] if not hs else hs + stream[p + 5 : q]
        p = q
        m = len(hs)
        h = 0
        while h + 4 <= m:
            e = h + 4 + ((hs[h + 1] << 16) | (hs[h + 2] << 8) | hs[h + 3])
            if e > m:
                break
            mtype = hs[h]
            if mtype == TLS_SERVER_HELLO:
                if _server_hello_is_tls13(hs[h + 4 : e]):
                    return None, True
            elif mtype == TLS_CERTIFICATE:
                return _cert_names(hs[h + 4 : e]), True
            elif mtype in TLS_AFTER_CERTIFICATE:  # no certificate in this flight
                return None, True
            h = e
        if h:
            hs = hs[h:]
    return None, False


_TLS_13 = TLS_13.to_bytes(2, "big")


def _server_hello_is_tls13(body: bytes) -> bool:
    try:
        p = 2 + 32
        p += 1 + body[p]
        p += 3  # cipher suite, compression
        if p + 2 > len(body):
            return False
        end = p + 2 + int.from_bytes(body[p : p + 2], "big")
        p += 2
        while p + 4 <= end:
            etype = int.from_bytes(body[p : p + 2], "big")
            elen = int.from_bytes(body[p + 2 : p + 4], "big")
            if etype == TLS_EXT_SUPPORTED_VERSIONS and elen == 2 and body[p + 4 : p + 6] == _TLS_13:
                return True
            p += 4 + elen
    except IndexError:
        return False
    return False


def _cert_names(body: bytes) -> list[str] | None:
    # body: 3-byte list length, then 3-byte cert length + DER
    if len(body) < 6:
        return None
    ln = int.from_bytes(body[3:6], "big")
    der = body[6 : 6 + ln]
    if len(der) < ln:
        return None
    # A server sends the same certificate to every connection; decoding it costs some 40 us.
    try:
        known = _CERT_NAMES[der]
    except KeyError:
        known = _decode_cert_names(der)
        if len(_CERT_NAMES) >= _CERT_NAMES_MAX:
            _CERT_NAMES.clear()
        _CERT_NAMES[der] = known
    return None if known is None else list(known)


_CERT_NAMES: dict[bytes, tuple[str, ...] | None] = {}  # DER -> names, None when undecodable
_CERT_NAMES_MAX = 512


def _decode_cert_names(der: bytes) -> tuple[str, ...] | None:
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(der)
        names: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [normalise_name(n) for n in san.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            pass
        if not names:
            for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
                value = attr.value if isinstance(attr.value, str) else attr.value.decode("utf-8", "replace")
                names.append(normalise_name(value))
        return tuple(n for n in dict.fromkeys(names) if n)
    except Exception:  # noqa: BLE001 - any malformed certificate only loses its names
        return None
