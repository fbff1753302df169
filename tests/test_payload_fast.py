"""The payload parsers' fast branches against plain reference readers and against the general path.

The references below are the straightforward slice-by-slice readers the fast code replaced; every
input (real payloads from the test captures, synthetic handshakes built here, and seeded mutations of
both) must give the same answer, or the same kind of error, either way.
"""

from __future__ import annotations

import datetime
import random
import struct
from pathlib import Path

import dpkt
import pytest

from capture_support import dns_responses
from ipowner.capture.engine import Direction, Engine
from ipowner.capture.protocols.common import PayloadError, normalise_name
from ipowner.capture.protocols.http import http_host
from ipowner.capture.protocols.quic import QuicInitialState
from ipowner.capture.protocols.tls import (
    ClientHello,
    _client_hello_from_records,
    client_hello_from_stream,
    parse_client_hello_body,
    server_certificate_names,
)
from ipowner.capture.rules import TCP_CLIENT_INSPECT, TCP_SERVER_INSPECT

DATA = Path(__file__).parent / "data" / "traffic"
CAPTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".pcapng"))


# ---------------------------------------------------------------- plain references


def ref_client_hello_body(body: bytes) -> ClientHello:
    try:
        p = 2 + 32
        sid = body[p]
        p += 1 + sid
        cs = int.from_bytes(body[p : p + 2], "big")
        p += 2 + cs
        cm = body[p]
        p += 1 + cm
        if p + 2 > len(body):
            return ClientHello(None, False)
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
            if etype == 0 and len(data) >= 5:
                q = 2
                while q + 3 <= len(data):
                    ntype = data[q]
                    nlen = int.from_bytes(data[q + 1 : q + 3], "big")
                    name = data[q + 3 : q + 3 + nlen]
                    q += 3 + nlen
                    if ntype == 0 and name:
                        sni = normalise_name(name.decode("utf-8", "replace"))
                        break
            elif etype in (0xFE0D, 0xFFCE):
                ech = etype == 0xFFCE or (len(data) > 0 and data[0] == 0)
            elif etype == 0x10 and len(data) >= 2:
                q = 2
                while q < len(data):
                    ln = data[q]
                    alpn.append(data[q + 1 : q + 1 + ln].decode("ascii", "replace"))
                    q += 1 + ln
        return ClientHello(sni or None, ech, alpn)
    except IndexError:
        raise PayloadError("truncated ClientHello") from None


def ref_records(stream: bytes) -> tuple[bytes, bool, bool]:
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


def ref_messages(hs: bytes) -> list[tuple[int, bytes]]:
    msgs = []
    p = 0
    while p + 4 <= len(hs):
        ln = int.from_bytes(hs[p + 1 : p + 4], "big")
        if p + 4 + ln > len(hs):
            break
        msgs.append((hs[p], hs[p + 4 : p + 4 + ln]))
        p += 4 + ln
    return msgs


def ref_client_hello(stream: bytes) -> ClientHello | None:
    hs, stopped, not_tls = ref_records(stream)
    if not_tls:
        raise PayloadError("not a TLS record")
    if len(hs) >= 4:
        if hs[0] != 1:
            raise PayloadError("first handshake message is not a ClientHello")
        need = int.from_bytes(hs[1:4], "big")
        if len(hs) >= 4 + need:
            return ref_client_hello_body(hs[4 : 4 + need])
    if stopped:
        raise PayloadError("ClientHello interrupted by another record type")
    return None


def ref_server_names(stream: bytes) -> tuple[list[str] | None, bool]:
    from ipowner.capture.protocols.tls import _cert_names, _server_hello_is_tls13

    hs, stopped, not_tls = ref_records(stream)
    if not_tls:
        return None, True
    for mtype, body in ref_messages(hs):
        if mtype == 2 and _server_hello_is_tls13(body):
            return None, True
        if mtype == 11:
            return _cert_names(body), True
        if mtype in (12, 13, 14):
            return None, True
    return None, stopped


def ref_http_host(head: bytes) -> tuple[str | None, bool]:
    from ipowner.capture.protocols.http import _strip_port

    end = head.find(b"\r\n\r\n")
    complete = end >= 0
    lines = (head if end < 0 else head[:end]).split(b"\r\n")[1:]
    for i, line in enumerate(lines):
        if line[:5].lower() == b"host:":
            raw = line[5:].strip()
            if not complete and i == len(lines) - 1 and b":" not in raw and b"]" not in raw:
                break
            return _strip_port(raw.decode("latin-1")) or None, True
    return None, complete


def outcome(fn, *args, **kw):
    try:
        r = fn(*args, **kw)
    except PayloadError as exc:
        return ("error", str(exc))
    if isinstance(r, ClientHello):
        return (r.sni, r.ech, tuple(r.alpn))
    return r


# ---------------------------------------------------------------- synthetic handshakes


def record(ctype: int, body: bytes) -> bytes:
    return struct.pack("!BHH", ctype, 0x0303, len(body)) + body


def handshake(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def ext(etype: int, data: bytes) -> bytes:
    return struct.pack("!HH", etype, len(data)) + data


def hello_body(sni: str | None = "www.synthetic.example", alpn=(b"h2", b"http/1.1"), ech: bool = False,
               grease: int = 0, first: bytes = b"", alpn_last: bool = False) -> bytes:
    exts = first + b"".join(ext(0x0A0A + 0x1010 * i, b"") for i in range(grease))
    if sni is not None:
        name = sni.encode()
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        exts += ext(0, struct.pack("!H", len(entry)) + entry)
    exts += ext(10, b"\x00\x04\x00\x1d\x00\x17")
    lst = b"".join(bytes([len(a)]) + a for a in alpn)
    if alpn and not alpn_last:
        exts += ext(0x10, struct.pack("!H", len(lst)) + lst)
    if ech:
        exts += ext(0xFE0D, b"\x00\x00\x01\x00\x01\x42")
    exts += ext(43, b"\x04\x03\x04\x03\x03")
    if alpn and alpn_last:
        exts += ext(0x10, struct.pack("!H", len(lst)) + lst)
    suites = struct.pack("!4H", 0x1301, 0x1302, 0xC02B, 0x00FF)
    return (b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(range(32, 64)) + struct.pack("!H", len(suites)) + suites
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)


def split_records(hs: bytes, cuts: list[int]) -> bytes:
    """One handshake byte string carried by several records, cut at the given offsets."""
    edges = [0, *sorted(c for c in cuts if 0 < c < len(hs)), len(hs)]
    return b"".join(record(22, hs[a:b]) for a, b in zip(edges, edges[1:], strict=False))


def server_hello(tls13: bool) -> bytes:
    exts = ext(43, b"\x03\x04") if tls13 else ext(0xFF01, b"\x00")
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00" + struct.pack("!H", len(exts)) + exts
    return handshake(2, body)


@pytest.fixture(scope="module")
def certificate_message() -> bytes:
    """A Certificate handshake message carrying a throwaway self-signed certificate (made here)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cn.synthetic.example")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("Www.Synthetic.Example"),
                                                        x509.DNSName("api.synthetic.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    one = len(der).to_bytes(3, "big") + der
    return handshake(11, len(one).to_bytes(3, "big") + one)


def capture_tcp_payloads() -> tuple[list[bytes], list[bytes]]:
    """(first TLS/HTTP payloads of each TCP direction, each direction's first 20 kB joined) from the captures."""
    firsts: list[bytes] = []
    joined: dict[tuple, bytearray] = {}
    for path in CAPTURES:
        with open(path, "rb") as f:
            try:
                for _, buf in (dpkt.pcapng.Reader(f) if path.suffix == ".pcapng" else dpkt.pcap.Reader(f)):
                    try:
                        ip = dpkt.ethernet.Ethernet(buf).data
                        seg = ip.data
                    except Exception:  # noqa: BLE001 - not Ethernet/IP: not needed here
                        continue
                    if not isinstance(seg, dpkt.tcp.TCP) or not seg.data:
                        continue
                    data = bytes(seg.data)
                    key = (path.name, ip.src, ip.dst, seg.sport, seg.dport)
                    if key not in joined:
                        joined[key] = bytearray()
                        if data[0] == 0x16 or data[:4] in (b"GET ", b"POST", b"HEAD"):
                            firsts.append(data)
                    if len(joined[key]) < 20000:
                        joined[key] += data
            except (ValueError, dpkt.dpkt.NeedData, dpkt.dpkt.UnpackError):
                pass
    return firsts, [bytes(v) for v in joined.values() if v[:1] == b"\x16"]


@pytest.fixture(scope="module")
def real_payloads() -> tuple[list[bytes], list[bytes]]:
    return capture_tcp_payloads()


def mutations(rng: random.Random, p: bytes, count: int) -> list[bytes]:
    """Seeded damage aimed at length fields as well as anywhere: hostile lengths, cuts, junk."""
    out = []
    for k in range(count):
        b = bytearray(p)
        if k % 4 == 0:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif k % 4 == 1:
            for _ in range(rng.randint(1, 3)):
                i = rng.choice([3, 4, 6, 7, 8, 43, 44, 45, 76, 77, 78, 79, 80, 81])
                if i < len(b):
                    b[i] = rng.choice([0, 0xFF, rng.randrange(256)])
        elif k % 4 == 2:
            b = b[: rng.randrange(1, len(b) + 1)]
        else:
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        out.append(bytes(b))
    return out


# ---------------------------------------------------------------- ClientHello


def test_client_hello_whole_or_split_over_records_agrees_with_record_walk():
    """The in-place branch (whole ClientHello in the first record) and the general record walk (hello spread
    over several records, cut, interrupted) give the reference answer."""
    variants = [hello_body(), hello_body(ech=True), hello_body(sni="cloudflare-dns.com", alpn=()),
                hello_body(sni=None), hello_body(grease=12), hello_body(sni="Upper.Case.Example."),
                hello_body(alpn_last=True), hello_body(sni="www.synthetic.example" + ".x" * 100),
                # empty ECH/ESNI extensions: the byte after them belongs to the next extension
                hello_body(first=ext(0xFE0D, b"")), hello_body(first=ext(0xFFCE, b"")),
                hello_body(first=ext(0xFE0D, b"\x01"))]
    seen_fast = seen_split = 0
    for body in variants:
        hs = handshake(1, body)
        whole = record(22, hs)
        assert outcome(client_hello_from_stream, whole) == outcome(ref_client_hello, whole)
        assert outcome(client_hello_from_stream, whole) == outcome(_client_hello_from_records, whole)
        seen_fast += 1
        for cut in [*range(1, len(hs), 5), 4, 5, len(hs) - 2, len(hs) - 1]:
            for stream in (split_records(hs, [cut]), split_records(hs, [cut, cut + 40])):
                want = outcome(ref_client_hello, stream)
                assert outcome(client_hello_from_stream, stream) == want
                seen_split += want == outcome(ref_client_hello, whole)
            # the same records cut short by TCP: incomplete until the last byte
            for end in (cut, len(whole) - 1):
                assert client_hello_from_stream(whole[:end]) is None is ref_client_hello(whole[:end])
        # a whole hello followed by more records (a second flight, application data, junk)
        for tail in (record(23, b"x" * 10), b"\x99\x99junk", record(22, b"\x02\x00\x00\x00")):
            assert outcome(client_hello_from_stream, whole + tail) == outcome(ref_client_hello, whole + tail)
    assert seen_fast == len(variants) and seen_split > 100


def test_client_hello_hostile_lengths_agree_with_reference(real_payloads):
    """Lengths pointing past the end (record, handshake, session id, suites, extensions), cuts and junk:
    same hello or same error as the plain reader, with and without ALPN."""
    firsts, _ = real_payloads
    hellos = [p for p in firsts if p[0] == 0x16 and len(p) > 9 and p[5] == 1]
    assert len(hellos) > 100
    rng = random.Random(20261129)
    synthetic = [record(22, handshake(1, hello_body(ech=e, grease=g))) for e in (False, True) for g in (0, 3)]
    checked = 0
    for p in synthetic + rng.sample(hellos, 150):
        for m in [p, *mutations(rng, p, 24)]:
            want = outcome(ref_client_hello, m)
            assert outcome(client_hello_from_stream, m) == want, m.hex()
            names_only = outcome(client_hello_from_stream, m, alpn=False)
            assert names_only == (want[:2] + ((),) if want and want[0] != "error" else want), m.hex()
            for body in (m[9:], m[9 : 9 + rng.randrange(0, 300)]):
                assert outcome(parse_client_hello_body, body) == outcome(ref_client_hello_body, body), body.hex()
            checked += 1
    assert checked > 3000


# ---------------------------------------------------------------- server flight


def test_server_flight_walk_agrees_with_whole_flight_read(certificate_message, real_payloads):
    """Certificates found record by record as the whole-flight reader finds them, however the flight is
    cut into records and segments; a TLS 1.3 ServerHello, an alert or junk ends the walk."""
    _, joined = real_payloads
    done = handshake(14, b"")
    flights = [
        server_hello(False) + certificate_message + done,
        server_hello(False) + handshake(12, b"\x03\x00\x17") + certificate_message,
        certificate_message,
        server_hello(False) + handshake(14, b""),  # no certificate (anonymous or PSK): done all the same
        server_hello(False) + handshake(13, b"\x01\x01"),
        handshake(0, b"") + server_hello(False) + handshake(99, b"??") + certificate_message,
    ]
    found = 0
    for hs in flights:
        for cuts in ([], [4], [len(hs) // 2], [60, 61, 300], list(range(50, len(hs), 97))):
            stream = split_records(hs, cuts)
            want = ref_server_names(stream)
            assert server_certificate_names(stream) == want
            found += want[0] == ["www.synthetic.example", "api.synthetic.example"]
            for end in range(0, len(stream), 37):
                assert server_certificate_names(stream[:end]) == ref_server_names(stream[:end])
    assert found >= 10
    tls13 = record(22, server_hello(True)) + record(20, b"\x01") + record(23, b"\x00" * 40)
    assert server_certificate_names(tls13) == (None, True) == ref_server_names(tls13)
    for stream in (record(21, b"\x02\x28"), record(23, b"x"), b"HTTP/1.1 200 OK\r\n", record(22, b"\x02\x00\x00")):
        assert server_certificate_names(stream) == ref_server_names(stream)
    rng = random.Random(11)
    servers = [s for s in joined if len(s) > 5 and s[5] == 2]
    with_names = sum(1 for s in servers if ref_server_names(s)[0])
    assert with_names > 20
    for s in rng.sample(servers, 60) + [split_records(flights[0], [100])]:
        for m in [s, *mutations(rng, s[:6000], 12)]:
            assert server_certificate_names(m) == ref_server_names(m), m[:64].hex()


# ---------------------------------------------------------------- HTTP


def test_http_host_agrees_with_line_split(real_payloads):
    firsts, _ = real_payloads
    heads = [p for p in firsts if p[0] != 0x16]
    assert len(heads) > 20
    made = [
        b"GET / HTTP/1.1\r\nHost: Example.ORG:8080\r\n\r\n",
        b"GET / HTTP/1.1\r\nhOsT:   [2001:db8::1]:443  \r\nAccept: */*\r\n\r\nHost: body.example\r\n",
        b"GET /host: HTTP/1.1\r\nX-Host: no.example\r\n\r\n",
        b"GET http://host:80/ HTTP/1.1\r\nUser-Agent: a\r\nHost:\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 0\r\nHOST: last.example",  # may be cut short: not read
        b"GET / HTTP/1.1\r\nHost: cut.example:80",
        b"GET / HTTP/1.1\r\nHost: [2001:db8::1",
        b"GET / HTTP/1.1\r\nHost: first.example\r\nAccept: */*",
        b"GET / HTTP/1.1\r\n\r\nHost: after.example\r\n\r\n",
        b"GET / HTTP/1.1\r\r\nHost: cr.example\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xe9t\xe9.example\r\n\r\n",
    ]
    rng = random.Random(5)
    for p in made + heads:
        for m in [p, *mutations(rng, p, 8), p.replace(b"Host", b"host"), p.replace(b"\r\n", b"\n")]:
            assert http_host(m) == ref_http_host(m), m


# ---------------------------------------------------------------- certificates and DNS


def test_certificate_names_remembered_per_certificate(certificate_message):
    from ipowner.capture.protocols.tls import _cert_names

    body = certificate_message[4:]
    first = _cert_names(body)
    assert first == ["www.synthetic.example", "api.synthetic.example"]
    first.append("changed by a caller")
    assert _cert_names(body) == ["www.synthetic.example", "api.synthetic.example"]
    broken = bytearray(body)
    broken[40] ^= 0xFF  # inside the DER: another certificate (undecodable), not the remembered answer
    assert _cert_names(bytes(broken)) != first

def test_quick_dns_with_an_edns_record_agrees_with_dnspython():
    """Responses given an OPT pseudo-record (with and without options, misplaced, doubled, damaged): the
    direct reader answers only when dnspython would answer the same, errors included."""
    from ipowner.capture.protocols.dns import _quick_dns, parse_dns_response

    def result(p: bytes, quick: bool):
        return outcome(lambda: (lambda a: None if a is None else (a.query, a.addresses))(
            parse_dns_response(p, quick=quick)))

    plain = [p for p in dns_responses() if p[8:12] == b"\x00\x00\x00\x00" and _quick_dns(p) is not None]
    assert len(plain) > 30
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00"
    rng = random.Random(3)
    quick = 0
    for p in plain:
        ar1 = p[:10] + b"\x00\x01" + p[12:]
        variants = [
            ar1 + opt + b"\x00\x00",  # EDNS, no options
            ar1 + opt + b"\x00\x00" + b"trailing",
            ar1 + opt + b"\x00\x04\x00\x0c\x00\x00",  # padding option
            ar1 + opt + b"\x00\x08\x00\x0a\x00\x04abcd",  # a cookie too short
            ar1 + opt + b"\x00\x05",  # data cut short
            ar1 + opt[:3],
            ar1 + b"\x01a" + opt[1:] + b"\x00\x00",  # not owned by the root
            ar1 + b"\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x01\x02\x03\x04",  # an A record there
            p[:10] + b"\x00\x02" + p[12:] + (opt + b"\x00\x00") * 2,  # two OPT records
            p[:8] + b"\x00\x01" + p[10:] + opt + b"\x00\x00",  # OPT in the authority section
        ]
        for v in variants + [bytes(b ^ (rng.randrange(256) if rng.random() < 0.02 else 0) for b in variants[0])]:
            quick += _quick_dns(v) is not None
            assert result(v, True) == result(v, False), v.hex()
    assert quick >= 2 * len(plain)


def test_quick_dns_authority_and_glue_agree_with_dnspython():
    """Negative answers (SOA), delegations (NS) with glue, OPT among the glue, and damaged copies: the
    direct reader answers only when dnspython answers the same, errors included."""
    from ipowner.capture.protocols.dns import _quick_dns, parse_dns_response

    def result(p: bytes, quick: bool):
        return outcome(lambda: (lambda a: None if a is None else (a.query, a.addresses))(
            parse_dns_response(p, quick=quick)))

    def rr(owner: bytes, rtype: int, rdata: bytes, rclass: int = 1) -> bytes:
        return owner + struct.pack("!HHIH", rtype, rclass, 300, len(rdata)) + rdata

    q = b"\x03www\x07example\x03com\x00"  # at 12; "example.com" at 16
    soa = rr(b"\xc0\x10", 6, b"\x02ns\xc0\x10\x05admin\xc0\x10" + struct.pack("!IIIII", 1, 2, 3, 4, 5))
    ns1, ns2 = rr(b"\xc0\x10", 2, b"\x03ns1\xc0\x10"), rr(b"\xc0\x10", 2, b"\x03ns2\x07example\x03net\x00")
    glue = [rr(b"\x03ns1\xc0\x10", 1, bytes([192, 0, 2, 53])), rr(b"\x03ns1\xc0\x10", 28, bytes(15) + b"\x35")]
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    a = rr(b"\xc0\x0c", 1, bytes([198, 51, 100, 7]))

    def msg(rcode: int, answers: list[bytes], auth: list[bytes], add: list[bytes]) -> bytes:
        head = struct.pack("!HHHHHH", 9, 0x8180 | rcode, 1, len(answers), len(auth), len(add))
        return head + q + b"\x00\x01\x00\x01" + b"".join(answers + auth + add)

    cases = [
        msg(0, [], [soa], []), msg(3, [], [soa], [opt]), msg(0, [a], [ns1, ns2], glue),
        msg(0, [a], [ns1], [*glue, opt]), msg(0, [a], [ns1], [opt, *glue]),
        msg(0, [], [soa, soa], []), msg(0, [a], [], [opt, opt]),  # two OPT records: dnspython refuses
        msg(0, [a], [opt], []),  # OPT in the authority section
        msg(0, [a], [ns1], [rr(b"\xc0\x10", 2, b"\xc0\x10")]),  # NS among the additional records
        msg(0, [a], [rr(b"\xc0\x10", 6, b"\x00\x00" + bytes(19))], []),  # SOA numbers cut short
        msg(0, [a], [rr(b"\xc0\x10", 2, b"\x03ns1\xc0\x10\x00")], []),  # NS data longer than its name
        msg(0, [a], [rr(b"\xc0\x10", 2, b"\x03ns1\xc0\x40")], []),  # a pointer forward
        msg(0, [a], [rr(b"\xc0\x10", 16, b"\x02hi")], []),  # TXT in authority: dnspython decides
        msg(0, [a], [soa[:2] + b"\x00\x10" + soa[4:]], []),  # SOA's bytes as TXT: not text dnspython reads
        msg(0, [a], [ns1], [rr(b"\x03ns1\xc0\x10", 1, b"\x01\x02\x03")]),  # A glue of 3 bytes
        msg(0, [a], [rr(b"\xc0\x10", 2, b"\x03ns1\xc0\x10", rclass=3)], []),  # class CH
    ]
    for c in cases[:5]:
        assert _quick_dns(c) is not None
    rng = random.Random(17)
    for c in cases:
        for m in [c, c[:-1], c + b"trailing", *mutations(rng, c, 30)]:
            if len(m) >= 12:
                assert result(m, True) == result(m, False), m.hex()


def test_quick_dns_address_text_is_ipaddress_text():
    """Addresses in answers are written as ipaddress writes them (which for some IPv6 forms is not what
    inet_ntop writes), the first time and when remembered."""
    import ipaddress

    from ipowner.capture.protocols.dns import _quick_dns, parse_dns_response

    v6 = ["::ffff:1.2.3.4", "::1.2.3.4", "2001:db8:0:1:1:1:1:1", "2001:db8::1", "64:ff9b::808:808", "::"]
    v4 = ["0.0.0.0", "255.255.255.255", "10.0.0.1"]
    answers = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) + ipaddress.IPv6Address(a).packed for a in v6)
    answers += b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ipaddress.IPv4Address(a).packed for a in v4)
    msg = (struct.pack("!HHHHHH", 7, 0x8180, 1, len(v6) + len(v4), 0, 0) + b"\x03www\x07example\x00\x00\x1c\x00\x01"
           + answers)
    assert _quick_dns(msg) is not None
    for _ in range(2):
        quick = parse_dns_response(msg).addresses
        assert quick == parse_dns_response(msg, quick=False).addresses
        assert list(quick) == [ipaddress.ip_address(a).compressed for a in v6 + v4]


# ---------------------------------------------------------------- the engine


def tcp_flow(engine: Engine, n: int) -> Direction:
    src, dst = bytes([10, 0, 0, n]), bytes([93, 184, 216, n])
    ports = struct.pack("!HH", 40000 + n, 443)
    return engine.new_flow(engine.tcp, src + dst + ports, dst + src + ports[2:] + ports[:2], src, dst, 6,
                           40000 + n, 443, 0x02, 0.0, False, None)


def feed(engine: Engine, c: list, stream: bytes, cuts: list[int], seq: int = 1000, reverse: bool = False) -> None:
    edges = [0, *sorted(cuts), len(stream)]
    segs = [(seq + a, stream[a:b]) for a, b in zip(edges, edges[1:], strict=False) if b > a]
    if reverse:
        segs = segs[:1] + segs[:0:-1]  # later segments out of order (a first one that is not a record start ends it)
    for s, data in segs:
        if c.inspect:
            engine.inspect(c, 6, data, s)


def test_engine_finds_the_same_names_in_whole_and_split_segments(certificate_message):
    """A handshake in one segment (read in place) or cut into several (gathered in a Stream): the same
    names, sources, concealment labels, and the same end of inspection on both sides."""
    hello = record(22, handshake(1, hello_body(sni="DNS.Google", ech=False)))
    ech_hello = record(22, handshake(1, hello_body(ech=True)))
    plain = record(22, handshake(1, hello_body(alpn_last=True)))
    flight = record(22, server_hello(False) + certificate_message) + record(22, handshake(14, b""))
    tls13 = record(22, server_hello(True)) + record(20, b"\x01")
    results = set()
    for ch in (hello, ech_hello, plain):
        for sv in (flight, tls13):
            for cuts in ([], [1], [5], [9, 60], [len(ch) - 1]):
                for reverse in (False, True):
                    e = Engine()
                    client = tcp_flow(e, 1)
                    server = client.flow.b
                    feed(e, client, ch, cuts, reverse=reverse)
                    assert client.inspect == 0 and server.inspect == TCP_SERVER_INSPECT
                    feed(e, server, sv, [c for c in cuts if c < len(sv)], reverse=reverse)
                    assert server.inspect == 0
                    # as plain strings: the labels are StrEnums, whose repr names the class
                    names = {a: [(h.name, str(h.source), h.concealment and str(h.concealment)) for h in hs]
                             for a, hs in e.names.items()}
                    results.add((ch, sv, repr(names), repr(e.concealment)))
                    assert client.peer in names
    assert len(results) == 6  # one answer per (hello, flight), whatever the cuts and order
    by = {(ch, sv): (n, c) for ch, sv, n, c in results}
    assert "[('www.synthetic.example', 'sni', None)]" in by[(plain, tls13)][0] and by[(plain, tls13)][1] == "{}"
    assert "'dns.google', 'sni', 'doh'" in by[(hello, flight)][0]
    assert "api.synthetic.example', 'cert', None" in by[(hello, flight)][0]
    assert "'cert'" not in by[(ech_hello, tls13)][0] and "ech-outer" in by[(ech_hello, tls13)][1]


def test_engine_incomplete_or_bad_first_segment():
    e = Engine()
    c = tcp_flow(e, 2)
    hs = handshake(1, hello_body())
    e.inspect(c, 6, record(22, hs)[:30], 1)  # incomplete: kept, still inspecting
    assert c.inspect == TCP_CLIENT_INSPECT - 1 and c.flow.streams and not e.names
    c2 = tcp_flow(e, 3)
    e.inspect(c2, 6, b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", 1)  # a handshake, but not a ClientHello
    assert c2.inspect == 0 and not e.names
    c3 = tcp_flow(e, 4)
    e.inspect(c3, 6, b"\x16\x03\x03\xff\xff\x01\xff\xff\xff" + b"\x00" * 40, 1)  # lengths past the end
    assert c3.inspect == TCP_CLIENT_INSPECT - 1 and not e.names
    c4 = tcp_flow(e, 5)
    e.inspect(c4, 6, record(22, handshake(1, b"\x03\x03" + b"\x00" * 20)), 1)  # body cut inside the record
    assert c4.inspect == 0 and not e.names


def test_engine_server_first_segment_beyond_the_stream_limit(certificate_message):
    """A first server segment (offloaded, so larger than a packet) past STREAM_LIMIT with no answer yet:
    inspection ends there, as when it was gathered in a Stream; below the limit it waits for more."""
    from ipowner.capture.rules import STREAM_LIMIT

    big = record(22, server_hello(False) + handshake(16, b"\x00" * 16000)) * 3
    for size, more in ((len(big), False), (STREAM_LIMIT - 5, True)):
        e = Engine()
        c = tcp_flow(e, 6)
        e.inspect(c, 6, record(22, handshake(1, hello_body())), 1)
        server = c.flow.b
        seg = big[:size]
        assert server_certificate_names(seg) == (None, False)
        e.inspect(server, 6, seg, 1)
        assert bool(server.inspect) is more and bool(c.flow.streams) is more


def test_core_hello_repeats_record_what_a_hello_records():
    """The compiled reader's ClientHellos (raw names), repeated or not, leave what _hello leaves."""
    calls = [("192.0.2.1", b"DNS.Google.", False, 443), ("192.0.2.1", b"DNS.Google.", False, 443),
             ("192.0.2.1", b"www.example", True, 443), ("192.0.2.2", None, True, 443),
             ("192.0.2.2", b"x.example", False, 443), ("192.0.2.2", b"x.example", False, 853),
             ("192.0.2.1", b"dns.google", False, 443), ("192.0.2.3", b" ", False, 443), ("192.0.2.3", b" .", True, 853), ("192.0.2.1", b"www.example", True, 443),
             ("192.0.2.1", b"www.example", False, 443), ("192.0.2.4", b"\xff\xfe.example", False, 443)]
    fast, ref = Engine(), Engine()
    for server, sni, ech, port in calls * 2:
        fast.core_hello(server, sni, ech, port)
        name = normalise_name(sni.decode("utf-8", "replace")) if sni else None
        ref._hello(ClientHello(name or None, ech), server, "sni", port)
    assert repr(fast.names) == repr(ref.names) and fast.concealment == ref.concealment
    assert [h.concealment for h in fast.names["192.0.2.1"]] == ["doh", "ech-outer", None]


def test_dns_payload_repeats_and_errors():
    e = Engine()
    good = (struct.pack("!HHHHHH", 1, 0x8180, 1, 1, 0, 0) + b"\x01a\x07example\x00\x00\x01\x00\x01"
            + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 9]))
    bad = good[:2] + b"\x81\x80\x00\x01\x00\x05" + good[8:40]
    for txid in range(3):
        e.dns_payload(txid.to_bytes(2, "big") + good[2:])
        e.dns_payload(bad)  # not remembered as seen: every copy counts as an error, as before
    assert [h.name for h in e.names["192.0.2.9"]] == ["a.example"] and e.dns_errors == 3
    assert e.first_dns_error is not None


def test_add_name_keeps_first_seen_order_and_skips_repeats():
    e = Engine()
    calls = [("a", "x.example", "sni", None), ("a", "y.example", "dns", None), ("a", "x.example", "sni", None),
             ("b", "x.example", "sni", "doh"), ("a", "x.example", "dns", None), ("a", "y.example", "dns", None),
             ("a", "", "dns", None), ("b", "x.example", "sni", None), ("b", "x.example", "sni", "doh")]
    naive: dict[str, dict] = {}
    for addr, name, source, conc in calls:
        e.add_name(addr, name, source, conc)
        if name:
            from ipowner.model.traffic import Hostname

            naive.setdefault(addr, {})[Hostname(name, source, conc)] = None
    assert {a: list(d) for a, d in e.names.items()} == {a: list(d) for a, d in naive.items()}


# ---------------------------------------------------------------- QUIC


def quic_reference_frames(f: bytes) -> dict[int, bytes]:
    from ipowner.capture.protocols.quic import _varint

    crypto: dict[int, bytes] = {}
    p = 0
    while p < len(f):
        ftype, p = _varint(f, p)
        if ftype in (0, 1):
            continue
        if ftype == 6:
            off, p = _varint(f, p)
            ln, p = _varint(f, p)
            crypto[off] = f[p : p + ln]
            p += ln
        else:
            break
    return crypto


@pytest.mark.parametrize("layout", ["lead", "trail", "scattered", "none", "only", "two-byte-zero"])
def test_quic_padding_runs_skipped_like_single_frames(layout):
    def crypto(off: int, data: bytes) -> bytes:
        return b"\x06" + bytes([0x40 | off >> 8, off & 0xFF]) + bytes([len(data)]) + data

    a, b = crypto(0, b"\x01\x00\x00\x10" + b"A" * 12), crypto(16, b"B" * 8)
    frames = {
        "lead": b"\x00" * 900 + a + b,
        "trail": a + b + b"\x00" * 900,
        "scattered": b"\x00" * 7 + a + b"\x01" + b"\x00" * 300 + b"\x01\x00" + b + b"\x00",
        "none": a + b,
        "only": b"\x00" * 1200,
        "two-byte-zero": b"\x40\x00" + b"\x00" * 3 + a + b"\x07" + b,  # a stray frame type ends the packet
    }[layout]
    state = QuicInitialState()
    state._frames(frames)
    assert state.crypto == quic_reference_frames(frames)
