"""Parsers for the few payloads that name a destination: DNS answers, TLS ClientHello and server
certificates, HTTP request heads. Only these reach a real parser; everything else is counted by offsets.

Every function takes untrusted bytes and returns plain values or raises ``PayloadError``.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from socket import AF_INET, inet_ntop

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
    in names; beyond the answers only SOA/NS authority records, A/AAAA glue and an EDNS OPT record
    without options) are read directly; anything else, and everything with ``quick=False``, by dnspython.
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


_V6_TEXT: dict[bytes, str] = {}


def _quick_dns(p: bytes) -> _Parsed | None:
    """A plain response read directly, with the same result as ``_dnspython``; None for anything else."""
    if (p[2] >> 3) & 0xF:
        return None  # not a standard query's response
    qd, an, ns, ar = struct.unpack_from("!HHHH", p, 4)
    if qd != 1:
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
            records.append((owner, inet_ntop(AF_INET, p[pos:end])))  # the same dotted quad as ipaddress
        elif rtype == 28 and rdlen == 16:
            # ipaddress's form (which differs from inet_ntop's for some), remembered: answers repeat
            raw = p[pos:end]
            text = _V6_TEXT.get(raw)
            if text is None:
                if len(_V6_TEXT) >= 4096:
                    _V6_TEXT.clear()
                text = _V6_TEXT[raw] = ipaddress.IPv6Address(raw).compressed
            records.append((owner, text))
        elif rtype == 5:
            r = _quick_name(p, pos)
            if r is None or r[1] != end:
                return None
            cname_parent.setdefault(r[0], owner)
        else:
            return None
        pos = end
    if (ns or ar) and _quick_skip(p, pos, ns, ar) is None:
        return None
    return query, records, cname_parent


def _quick_skip(p: bytes, pos: int, ns: int, ar: int) -> int | None:
    """Position after the authority and additional sections when dnspython would read them without
    complaint and they hold only what gives no name here: SOA or NS records (a negative answer, a
    delegation), A/AAAA glue, one EDNS OPT record without options; None for anything else."""
    n = len(p)
    opt = False
    for i in range(ns + ar):
        if i >= ns and p[pos : pos + 3] == b"\x00\x00\x29":
            # OPT: a root owner, type 41; with no data there is nothing in it for dnspython to reject
            if opt or pos + 11 > n or p[pos + 9 : pos + 11] != b"\x00\x00":
                return None
            opt = True
            pos += 11
            continue
        r = _quick_name(p, pos)
        if r is None or r[1] + 10 > n:
            return None
        pos = r[1]
        rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", p, pos)
        pos += 10
        end = pos + rdlen
        if end > n or rclass != 1:
            return None
        if i < ns:
            if rtype == 2:  # NS: one name filling the data
                r = _quick_name(p, pos)
                if r is None or r[1] != end:
                    return None
            elif rtype == 6:  # SOA: two names, five 32-bit numbers
                r = _quick_name(p, pos)
                r = _quick_name(p, r[1]) if r is not None else None
                if r is None or r[1] + 20 != end:
                    return None
            else:
                return None
        elif not (rtype == 1 and rdlen == 4 or rtype == 28 and rdlen == 16):
            return None
        pos = end
    return pos


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


_HH = struct.Struct("!HH")
_BH = struct.Struct("!BH")
_EXT_READ = frozenset({_EXT_SNI, _EXT_ALPN, _EXT_ECH, _EXT_ESNI})


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
        if etype == _EXT_SNI:
            data = body[q0:p]  # may reach past the extensions block, as far as the body goes
            dlen = len(data)
            if dlen >= 5:
                q = 2
                while q + 3 <= dlen:
                    ntype, nlen = _BH.unpack_from(data, q)
                    name = data[q + 3 : q + 3 + nlen]
                    q += 3 + nlen
                    if ntype == 0 and name:
                        sni = normalise_name(name.decode("utf-8", "replace"))
                        break
        elif etype == _EXT_ALPN:
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
            # ECH type 0 = outer ClientHello (the inner one, type 1, never appears on the wire)
            ech = etype == _EXT_ESNI or (elen > 0 and q0 < n and body[q0] == 0)
    return ClientHello(sni or None, ech, protocols)


def tls_record_handshakes(stream: bytes) -> tuple[bytes, bool, bool]:
    """Concatenate the handshake bytes of the complete TLS records at the start of ``stream``.

    Returns (handshake bytes, saw a non-handshake record, stream was not TLS).
    """
    out = []
    p = 0
    n = len(stream)
    while p + 5 <= n:
        ctype = stream[p]
        if ctype not in (20, 21, 22, 23) or stream[p + 1] != 3:
            return b"".join(out), True, p == 0
        q = p + 5 + ((stream[p + 3] << 8) | stream[p + 4])
        if q > n:
            break
        if ctype != 22:
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
    if n >= 9 and stream[0] == 22 and stream[1] == 3 and stream[5] == 1:
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
        if hs[0] != 1:
            raise PayloadError("first handshake message is not a ClientHello")
        need = (hs[1] << 16) | (hs[2] << 8) | hs[3]
        if len(hs) >= 4 + need:
            return parse_client_hello_body(hs[4 : 4 + need], alpn=alpn)
    if stopped:
        raise PayloadError("ClientHello interrupted by another record type")
    return None


_TLS_TYPES = frozenset({20, 21, 22, 23})


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
        if ctype not in _TLS_TYPES or stream[p + 1] != 3:
            return None, True  # not TLS, or a flight that goes wrong after its first records
        q = p + 5 + ((stream[p + 3] << 8) | stream[p + 4])
        if q > n:
            break
        if ctype != 22:
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
            if mtype == 2:
                if _server_hello_is_tls13(hs[h + 4 : e]):
                    return None, True
            elif mtype == 11:
                return _cert_names(hs[h + 4 : e]), True
            elif mtype in (12, 13, 14):  # key exchange, request, hello-done: no certificate in this flight
                return None, True
            h = e
        if h:
            hs = hs[h:]
    return None, False


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
    # A server sends the same certificate to every connection; decoding it costs some 40 us.
    known = _CERT_NAMES.get(der, _UNSEEN)
    if known is _UNSEEN:
        known = _decode_cert_names(der)
        if len(_CERT_NAMES) >= _CERT_NAMES_MAX:
            _CERT_NAMES.clear()
        _CERT_NAMES[der] = known
    return None if known is None else list(known)


_CERT_NAMES: dict[bytes, tuple[str, ...] | None] = {}  # DER -> names, None when undecodable
_CERT_NAMES_MAX = 512
_UNSEEN = object()


def _decode_cert_names(der: bytes) -> tuple[str, ...] | None:
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
        return tuple(n for n in dict.fromkeys(names) if n)
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
    block = head if end < 0 else head[:end]
    # The first line starting "host:" in any case after the request line; bytes.lower() changes only
    # ASCII letters, so positions in the lowered copy are positions in the block.
    at = block.lower().find(b"\r\nhost:")
    if at >= 0:
        stop = block.find(b"\r\n", at + 7)
        raw = block[at + 7 : stop if stop >= 0 else len(block)].strip()
        if not complete and stop < 0 and b":" not in raw and b"]" not in raw:
            return None, False  # the line may be cut short (snaplen, a segment boundary) inside the name: not read yet
        return _strip_port(raw.decode("latin-1")) or None, True
    return None, complete


def _strip_port(value: str) -> str:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return normalise_name(value)
