"""Parsers for the few payloads that name a destination: DNS answers, TLS ClientHello and server
certificates, HTTP request heads. Only these reach a real parser; everything else is counted by offsets.

Every function takes untrusted bytes and returns plain values or raises ``PayloadError``.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.rdatatype


class PayloadError(ValueError):
    """A payload that could not be parsed (malformed, truncated or not what it seemed)."""


# Names that serve DNS over HTTPS: a ClientHello naming one of them hides the real lookups.
DOH_NAMES = frozenset(
    {
        "cloudflare-dns.com",
        "mozilla.cloudflare-dns.com",
        "chrome.cloudflare-dns.com",
        "1dot1dot1dot1.cloudflare-dns.com",
        "security.cloudflare-dns.com",
        "family.cloudflare-dns.com",
        "one.one.one.one",
        "dns.google",
        "dns.google.com",
        "dns64.dns.google",
        "dns.quad9.net",
        "dns9.quad9.net",
        "dns10.quad9.net",
        "dns11.quad9.net",
        "doh.opendns.com",
        "doh.familyshield.opendns.com",
        "doh.cleanbrowsing.org",
        "dns.adguard.com",
        "dns.adguard-dns.com",
        "dns.nextdns.io",
        "firefox.dns.nextdns.io",
        "doh.dns.sb",
        "dns.alidns.com",
        "doh.pub",
        "dns.pub",
        "doh.360.cn",
        "dns.twnic.tw",
        "doh.mullvad.net",
    }
)


def normalise_name(raw: str) -> str:
    """Lower case, no trailing dot."""
    return raw.strip().rstrip(".").lower()


# ---------------------------------------------------------------- DNS


@dataclass(slots=True)
class DnsAnswer:
    """Address -> names (query name first, then the CNAME chain down to the owner of the record)."""

    query: str | None
    addresses: dict[str, list[str]] = field(default_factory=dict)


_Parsed = tuple[str | None, list[tuple[str, str]], dict[str, str]]  # query, (owner, address)s, CNAME target -> owner


def parse_dns_response(payload: bytes, quick: bool = True) -> DnsAnswer | None:
    """The A/AAAA answers of a DNS response with the CNAME chain that led to each; None for queries.

    Plain responses (one question, only A/AAAA/CNAME answers of class IN, letters, digits, '-' and '_'
    in names) are read directly; anything else, and everything with ``quick=False``, by dnspython.
    """
    if len(payload) < 12:
        raise PayloadError("DNS message shorter than its header")
    if not payload[2] & 0x80:
        return None  # a query
    parsed = _quick_dns(payload) if quick else None
    query, records, cname_parent = parsed if parsed is not None else _dnspython(payload)
    ans = DnsAnswer(query=query)
    for owner, addr in records:
        chain = [owner]
        seen = {owner}
        while chain[-1] in cname_parent and len(chain) < 32:
            parent = cname_parent[chain[-1]]
            if parent in seen:
                break
            seen.add(parent)
            chain.append(parent)
        chain.reverse()  # query name first
        names = ans.addresses.setdefault(addr, [])
        for n in chain:
            if n and n not in names:
                names.append(n)
    return ans


def _dnspython(payload: bytes) -> _Parsed:
    try:
        msg = dns.message.from_wire(payload, ignore_trailing=True, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError) as exc:
        raise PayloadError(f"malformed DNS response ({type(exc).__name__})") from None
    query = normalise_name(msg.question[0].name.to_text()) if msg.question else None
    cname_parent: dict[str, str] = {}  # target -> owner
    records: list[tuple[str, str]] = []
    for rrset in msg.answer:
        owner = normalise_name(rrset.name.to_text())
        for rd in rrset:
            if rd.rdtype == dns.rdatatype.CNAME and hasattr(rd, "target"):
                cname_parent.setdefault(normalise_name(rd.target.to_text()), owner)
            elif rd.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and hasattr(rd, "address"):
                records.append((owner, ipaddress.ip_address(rd.address).compressed))
    return query, records, cname_parent


_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _quick_name(p: bytes, pos: int) -> tuple[str, int] | None:
    """(name as normalise_name shows it, position after it), following pointers as dnspython does
    (each strictly before the last); None when dnspython should decide (escapes, bad labels or pointers)."""
    labels = []
    biggest = pos
    after = -1
    size = 1
    n = len(p)
    while True:
        if pos >= n:
            return None
        count = p[pos]
        if count == 0:
            pos += 1
            break
        if count < 64:
            label = p[pos + 1 : pos + 1 + count]
            if len(label) != count or not _PLAIN.issuperset(label):
                return None
            labels.append(label)
            size += count + 1
            pos += 1 + count
        elif count >= 192 and pos + 1 < n:
            target = ((count & 0x3F) << 8) | p[pos + 1]
            if target >= biggest:
                return None
            if after < 0:
                after = pos + 2
            biggest = pos = target
        else:
            return None
    if size > 255:
        return None
    return b".".join(labels).decode("ascii").lower(), after if after >= 0 else pos


def _quick_dns(p: bytes) -> _Parsed | None:
    """A plain response read directly, with the same result as ``_dnspython``; None for anything else."""
    if (p[2] >> 3) & 0xF:
        return None  # not a standard query's response
    qd, an, ns, ar = struct.unpack_from("!HHHH", p, 4)
    if qd != 1 or ns or ar:
        return None
    r = _quick_name(p, 12)
    if r is None:
        return None
    query, pos = r
    pos += 4
    n = len(p)
    if pos > n or p[pos - 4 : pos - 2] in (b"\x00\xfb", b"\x00\xfc"):
        return None  # cut, or a zone transfer (IXFR/AXFR), which dnspython reads its own way
    records: list[tuple[str, str]] = []
    cname_parent: dict[str, str] = {}
    for _ in range(an):
        r = _quick_name(p, pos)
        if r is None:
            return None
        owner, pos = r
        if pos + 10 > n:
            return None
        rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", p, pos)
        pos += 10
        end = pos + rdlen
        if end > n or rclass != 1:
            return None
        if rtype == 1 and rdlen == 4:
            records.append((owner, str(ipaddress.IPv4Address(p[pos:end]))))
        elif rtype == 28 and rdlen == 16:
            records.append((owner, ipaddress.IPv6Address(p[pos:end]).compressed))
        elif rtype == 5:
            r = _quick_name(p, pos)
            if r is None or r[1] != end:
                return None
            cname_parent.setdefault(r[0], owner)
        else:
            return None
        pos = end
    return query, records, cname_parent


# ---------------------------------------------------------------- TLS


@dataclass(slots=True)
class ClientHello:
    sni: str | None
    ech: bool  # an encrypted_client_hello extension is present: the SNI is the outer (public) name
    alpn: list[str] = field(default_factory=list)


_EXT_SNI = 0x0000
_EXT_ALPN = 0x0010
_EXT_ECH = 0xFE0D
_EXT_ESNI = 0xFFCE


def parse_client_hello_body(body: bytes) -> ClientHello:
    """Parse a ClientHello handshake body (after the 4-byte handshake header)."""
    try:
        p = 2 + 32  # version, random
        sid = body[p]
        p += 1 + sid
        cs = int.from_bytes(body[p : p + 2], "big")
        p += 2 + cs
        cm = body[p]
        p += 1 + cm
        if p + 2 > len(body):
            return ClientHello(None, False)  # no extensions at all
        ext_total = int.from_bytes(body[p : p + 2], "big")
        p += 2
        end = min(len(body), p + ext_total)
        sni = None
        ech = False
        alpn: list[str] = []
        while p + 4 <= end:
            etype = int.from_bytes(body[p : p + 2], "big")
            elen = int.from_bytes(body[p + 2 : p + 4], "big")
            data = body[p + 4 : p + 4 + elen]
            p += 4 + elen
            if etype == _EXT_SNI and len(data) >= 5:
                q = 2
                while q + 3 <= len(data):
                    ntype = data[q]
                    nlen = int.from_bytes(data[q + 1 : q + 3], "big")
                    name = data[q + 3 : q + 3 + nlen]
                    q += 3 + nlen
                    if ntype == 0 and name:
                        sni = normalise_name(name.decode("utf-8", "replace"))
                        break
            elif etype in (_EXT_ECH, _EXT_ESNI):
                # type 0 = outer ClientHello (the inner one, type 1, never appears on the wire)
                ech = etype == _EXT_ESNI or (len(data) > 0 and data[0] == 0)
            elif etype == _EXT_ALPN and len(data) >= 2:
                q = 2
                while q < len(data):
                    ln = data[q]
                    alpn.append(data[q + 1 : q + 1 + ln].decode("ascii", "replace"))
                    q += 1 + ln
        return ClientHello(sni or None, ech, alpn)
    except IndexError:
        raise PayloadError("truncated ClientHello") from None


def tls_record_handshakes(stream: bytes) -> tuple[bytes, bool, bool]:
    """Concatenate the handshake bytes of the complete TLS records at the start of ``stream``.

    Returns (handshake bytes, saw a non-handshake record, stream was not TLS).
    """
    out = bytearray()
    p = 0
    while p + 5 <= len(stream):
        ctype = stream[p]
        if ctype not in (20, 21, 22, 23) or stream[p + 1] != 3:
            return bytes(out), True, p == 0
        ln = int.from_bytes(stream[p + 3 : p + 5], "big")
        if p + 5 + ln > len(stream):
            break
        if ctype != 22:
            return bytes(out), True, False
        out += stream[p + 5 : p + 5 + ln]
        p += 5 + ln
    return bytes(out), False, False


def handshake_messages(hs: bytes) -> list[tuple[int, bytes]]:
    """Complete handshake messages (type, body) at the start of ``hs``."""
    msgs = []
    p = 0
    while p + 4 <= len(hs):
        ln = int.from_bytes(hs[p + 1 : p + 4], "big")
        if p + 4 + ln > len(hs):
            break
        msgs.append((hs[p], hs[p + 4 : p + 4 + ln]))
        p += 4 + ln
    return msgs


def client_hello_from_stream(stream: bytes) -> ClientHello | None:
    """The ClientHello at the start of a TCP client stream; None while incomplete.

    Raises PayloadError when the stream is not a TLS handshake.
    """
    hs, stopped, not_tls = tls_record_handshakes(stream)
    if not_tls:
        raise PayloadError("not a TLS record")
    if len(hs) >= 4:
        if hs[0] != 1:
            raise PayloadError("first handshake message is not a ClientHello")
        need = int.from_bytes(hs[1:4], "big")
        if len(hs) >= 4 + need:
            return parse_client_hello_body(hs[4 : 4 + need])
    if stopped:
        raise PayloadError("ClientHello interrupted by another record type")
    return None


def server_certificate_names(stream: bytes) -> tuple[list[str] | None, bool]:
    """(names of the server's first certificate, done) from a TLS <= 1.2 server stream.

    ``done`` is True once nothing more can be learnt (certificate parsed, TLS 1.3, or encrypted data).
    """
    hs, stopped, not_tls = tls_record_handshakes(stream)
    if not_tls:
        return None, True
    for mtype, body in handshake_messages(hs):
        if mtype == 2 and _server_hello_is_tls13(body):
            return None, True
        if mtype == 11:
            return _cert_names(body), True
        if mtype in (12, 13, 14):  # key exchange, request, hello-done: no certificate in this flight
            return None, True
    return None, stopped


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
            if etype == 43 and elen == 2 and body[p + 4 : p + 6] == b"\x03\x04":
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
    try:
        from cryptography import x509
        from cryptography.x509.oid import ExtensionOID, NameOID

        cert = x509.load_der_x509_certificate(der)
        names: list[str] = []
        try:
            san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            names = [normalise_name(n) for n in san.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            pass
        if not names:
            for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
                value = attr.value if isinstance(attr.value, str) else attr.value.decode("utf-8", "replace")
                names.append(normalise_name(value))
        return [n for n in dict.fromkeys(names) if n]
    except Exception:  # noqa: BLE001 - any malformed certificate only loses its names
        return None


# ---------------------------------------------------------------- Google QUIC (before IETF QUIC)


def gquic_chlo_sni(payload: bytes) -> str | None:
    """SNI from a Google QUIC (Q0xx) client hello, which travels unencrypted as a tag/value map."""
    if len(payload) < 30 or payload[0] & 0x80 and payload[1:2] != b"Q" or b"Q0" not in payload[:16]:
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


# ---------------------------------------------------------------- HTTP

HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE ")


def looks_like_http_request(data: bytes) -> bool:
    return data[:8].startswith(HTTP_METHODS)


def http_host(head: bytes) -> tuple[str | None, bool]:
    """(Host header without port, head complete) from the start of an HTTP request."""
    end = head.find(b"\r\n\r\n")
    complete = end >= 0
    lines = (head if end < 0 else head[:end]).split(b"\r\n")[1:]
    for i, line in enumerate(lines):
        if line[:5].lower() == b"host:":
            raw = line[5:].strip()
            if not complete and i == len(lines) - 1 and b":" not in raw and b"]" not in raw:
                break  # the line may be cut short (snaplen, a segment boundary) inside the name: not read yet
            return _strip_port(raw.decode("latin-1")) or None, True
    return None, complete


def _strip_port(value: str) -> str:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return normalise_name(value)
