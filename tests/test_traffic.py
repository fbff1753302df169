"""ipowner traffic: captures and logs against tshark, nDPI's recorded results, and the dpkt oracle."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from capture_support import all_readers, dns_responses, needs_core
from ipowner import traffic
from ipowner.cli import cli
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands

DATA = Path(__file__).parent / "data" / "traffic"
CAPTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".pcapng"))
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def _canon(a: str) -> str:
    return ipaddress.ip_address(a).compressed


def _tshark(args: list[str]) -> str:
    return subprocess.run([TSHARK, "-n", *args], capture_output=True, text=True, timeout=120).stdout  # type: ignore[list-item]


_FIELDS = ["frame.len", "ip.dst", "ipv6.src", "ipv6.dst", "ipv6.fraghdr.nxt", "udp.port", "tcp.port", "icmpv6.type",
           "dns.flags.response", "dns.qry.name", "dns.resp.name", "dns.a", "dns.aaaa", "tls.handshake.type",
           "tls.handshake.extensions_server_name", "http.request", "http.host", "gquic.tag.sni"]


def _reference(path: Path) -> dict:
    """tshark's endpoint totals and name fields for one capture, from one tshark run."""
    args = ["-r", str(path), "-z", "endpoints,ip", "-z", "endpoints,ipv6", "-Y",
            "dns || tls.handshake.type==1 || http.request || ipv6.fraghdr || gquic.tag.sni", "-T", "fields", "-E", "separator=\t",
            "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in _FIELDS:
        args += ["-e", f]
    ends: dict[str, list[int]] = {}
    dns: list[list[str]] = []
    sni: list[list[str]] = []
    http: list[list[str]] = []
    frags: list[list[str]] = []
    for line in _tshark(args).splitlines():
        cols = line.split("\t")
        if len(cols) == len(_FIELDS):
            r = dict(zip(_FIELDS, cols, strict=True))
            ports = (r["udp.port"] + "," + r["tcp.port"]).split(",")
            if "1" in r["dns.flags.response"].split(",") and "53" in ports:
                dns.append([r["dns.qry.name"], r["dns.resp.name"], r["dns.a"], r["dns.aaaa"]])
            if "1" in r["tls.handshake.type"].split(","):
                sni.append([r["ip.dst"], r["ipv6.dst"], r["tls.handshake.extensions_server_name"]])
            if r["gquic.tag.sni"]:  # Google QUIC's unencrypted client hello
                sni.append([r["ip.dst"], r["ipv6.dst"], r["gquic.tag.sni"]])
            if r["http.request"] and r["tcp.port"]:
                http.append([r["ip.dst"], r["ipv6.dst"], r["http.host"]])
            if r["ipv6.fraghdr.nxt"] and not (r["udp.port"] or r["tcp.port"] or r["icmpv6.type"]):
                frags.append([r["frame.len"], r["ipv6.src"], r["ipv6.dst"]])
            continue
        parts = line.split()
        if len(parts) == 7 and parts[1].isdigit():
            ends[_canon(parts[0])] = [int(parts[1]), int(parts[2])]
    # tshark's IPv6 endpoint tap skips fragments it did not (or not yet) reassemble; ipowner counts every
    # fragment (the bytes of every fragment belong to the flow), so those frames are added back here.
    for length, src, dst in frags:
        for a in (src.split(",")[-1], dst.split(",")[-1]):
            e = ends.setdefault(_canon(a), [0, 0])
            e[0] += 1
            e[1] += int(length)
    return {"endpoints": ends, "dns": dns, "sni": sni, "http": http}


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    if TSHARK is None:
        pytest.skip("tshark is not installed")
    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip([p.name for p in CAPTURES], pool.map(_reference, CAPTURES), strict=True))


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    return {p.name: traffic([p]) for p in CAPTURES}  # the default reader; compared with the others below


def _per_address(res) -> dict[str, list[int]]:
    tot: dict[str, list[int]] = {}
    for d in list(res.destinations) + list(res.device_summaries):
        t = tot.setdefault(d.address, [0, 0])
        t[0] += d.packets_sent + d.packets_received
        t[1] += d.bytes_sent + d.bytes_received
    return {k: v for k, v in tot.items() if v != [0, 0]}


@pytest.mark.slow  # tshark over every capture
@needs_tshark
@pytest.mark.parametrize("name", [p.name for p in CAPTURES])
def test_packet_and_byte_totals_equal_tshark_endpoints(name, reference, results):
    res = results[name]
    assert _per_address(res) == reference[name]["endpoints"]


def _norm(n: str) -> str:
    return n.strip().rstrip(".").lower()


@pytest.mark.slow  # tshark over every capture
@needs_tshark
@pytest.mark.parametrize("name", [p.name for p in CAPTURES])
def test_hostnames_match_tshark_fields(name, reference, results):
    ref = reference[name]
    ours = {d.address: {(h.name, h.source) for h in d.hostnames} for d in results[name].destinations}
    dns_names: dict[str, set[str]] = {}
    for q, rn, a, aaaa in ref["dns"]:
        addrs = [_canon(x) for x in (a.split(",") if a else []) + (aaaa.split(",") if aaaa else [])]
        for ad in addrs:
            dns_names.setdefault(ad, set()).update(_norm(x) for x in q.split(",") + rn.split(",") if x)
            if ad in ours and q:
                assert (_norm(q.split(",")[0]), "dns") in ours[ad], (ad, q)
    sni: dict[str, set[str]] = {}
    for d4, d6, name_ in ref["sni"]:
        if name_:
            sni.setdefault(_canon((d4 or d6).split(",")[-1]), set()).add(_norm(name_.split(",")[0]))
    http: dict[str, set[str]] = {}
    for d4, d6, host in ref["http"]:
        if host:
            h = host.split(",")[0]
            h = h[1 : h.index("]")] if h.startswith("[") else h.split(":")[0] if h.count(":") == 1 else h
            http.setdefault(_canon((d4 or d6).split(",")[-1]), set()).add(_norm(h))
    for ad, names in sni.items():
        for n in names:
            if ad in ours:
                assert (n, "sni") in ours[ad] or (n, "quic") in ours[ad], (ad, n)
    for ad, names in http.items():
        for n in names:
            if ad in ours:
                assert (n, "http") in ours[ad], (ad, n)
    for ad, names in ours.items():
        for n, source in names:
            if source == "dns":
                assert n in dns_names.get(ad, set()), (ad, n)
            elif source in ("sni", "quic"):
                assert n in sni.get(ad, set()), (ad, n)
            elif source == "http":
                assert n in http.get(ad, set()), (ad, n)


@pytest.mark.parametrize("name", [p.name for p in CAPTURES])
def test_readers_agree(name, results):
    """The compiled core, the per-frame walker and the dpkt oracle: identical results."""
    assert results[name].to_dict() == all_readers([DATA / name])


@pytest.fixture
def frequent_sweeps(monkeypatch):
    """Sweep the flow table every 64 frames (a full sweep every 1024): folding happens mid-capture
    and flows come back after being folded."""
    import ipowner.capture.rules as rules_mod

    monkeypatch.setattr(rules_mod, "SWEEP_MASK", 63)


@pytest.mark.parametrize("name", [p.name for p in CAPTURES if p.stat().st_size > 20000])
def test_readers_agree_with_frequent_sweeps(name, frequent_sweeps):
    assert all_readers([DATA / name])["inputs"][0]["records"]


def test_readers_agree_on_several_inputs(frequent_sweeps):
    """Inputs read one after another share the frame counter, the flow table and the names."""
    inputs = [DATA / "ndpi--wechat.pcap", DATA / "ndpi--alexa-app.pcapng", DATA / "zeek--wikipedia.pcap"]
    assert all_readers(inputs)["destinations"]


def _dest(res, address):
    return next(d for d in res.destinations if d.address == address)


def test_wechat_and_android_show_their_hostnames(results):
    wechat = results["ndpi--wechat.pcap"]
    names = {h.name for h in _dest(wechat, "203.205.151.162").hostnames}
    assert "web.wechat.com" in names
    assert {h.name for h in _dest(wechat, "203.205.158.34").hostnames} >= {"res.wx.qq.com"}
    android = results["ndpi--android.pcap"]
    all_names = {h.name for d in android.destinations for h in d.hostnames}
    assert {"android.googleapis.com", "connectivitycheck.gstatic.com", "captive.apple.com"} <= all_names


_NDPI_FLOW = re.compile(r"\s(TCP|UDP) (\[[0-9a-f:.]+\]|[0-9.]+):(\d+) <-> (\[[0-9a-f:.]+\]|[0-9.]+):(\d+) "
                        r"\[proto: [^]]*?(TLS|QUIC)[^]]*\].*?\[Hostname/SNI: ([^]]+)\]")


@pytest.mark.parametrize("out", sorted(p.name for p in (DATA / "ndpi-out").iterdir()))
def test_ndpi_recorded_sni_agree(out, results):
    """nDPI's recorded per-flow results (a second, independent reader): every TLS/QUIC SNI it names is ours too."""
    res = results["ndpi--" + out.removesuffix(".out")]
    ours = {d.address: {h.name for h in d.hostnames if h.source in ("sni", "quic")} for d in res.destinations}
    checked = 0
    for m in _NDPI_FLOW.finditer((DATA / "ndpi-out" / out).read_text()):
        a, b = (_canon(x.strip("[]")) for x in (m.group(2), m.group(4)))
        server = b if b in ours else a
        assert m.group(7).lower() in ours.get(server, set()), (server, m.group(7))
        checked += 1
    assert checked, "no TLS/QUIC flow with a name in the nDPI results"


def test_concealment_labels(results):
    ech = _dest(results["zeek--tls_tls13-ech.pcap"], "162.159.138.85")
    assert any(h.name == "cloudflare-ech.com" and h.concealment == "ech-outer" for h in ech.hostnames)
    assert "ech-outer" in ech.concealment
    doh = _dest(results["ndpi--dns_doh.pcap"], "104.16.248.249")
    assert any(h.name == "mozilla.cloudflare-dns.com" and h.concealment == "doh" for h in doh.hostnames)
    dot = _dest(results["ndpi--googledns_android10.pcap"], "8.8.4.4")
    assert "dot" in dot.concealment


def test_quic_initial_sni_decrypted(results):
    d = _dest(results["zeek--quic_curl-8.1.2-dev-http3-www-google-de.pcap"], "64.233.166.94")
    assert ("www.google.de", "quic") in {(h.name, h.source) for h in d.hostnames}


def test_device_is_the_initiator_even_when_public(results):
    wiki = results["zeek--wikipedia.pcap"]
    assert "141.142.220.118" in wiki.devices
    reddit = results["ndpi--reddit.pcap"]
    assert "2a01:cb01:2049:8b07:991d:ec85:28df:f629" in reddit.devices
    assert "2a01:cb01:2049:8b07:991d:ec85:28df:f629" not in {d.address for d in reddit.destinations}
    scopes = {d.address: d.scope for d in wiki.destinations}
    assert scopes["224.0.0.251"] == "multicast" and scopes["141.142.220.255"] == "broadcast"


def test_device_option_overrides_direction():
    path = DATA / "synthetic-raw-dlt101.pcap"
    normal = traffic([path])
    assert normal.devices == ["192.0.2.10"]
    flipped = traffic([path], device="198.51.100.7")
    d = _dest(flipped, "192.0.2.10")
    n = _dest(normal, "198.51.100.7")
    assert (d.packets_sent, d.bytes_sent) == (n.packets_received, n.bytes_received)


def test_cname_chain_fragments_trailer_and_interfaces():
    res = traffic([DATA / "synthetic-two-interfaces.pcapng"])
    d = _dest(res, "198.51.100.7")
    names = {(h.name, h.source) for h in d.hostnames}
    assert {("www.example.com", "dns"), ("edge.example.net", "dns"), ("www.example.com", "sni"),
            ("plain.example.net", "http")} <= names
    assert d.first_seen == pytest.approx(1700000102.0, abs=1e-3)
    frag = traffic([DATA / "synthetic-ipv4-fragmented-dns.pcap"])
    assert ("frag.example.org", "dns") in {(h.name, h.source) for h in _dest(frag, "198.51.100.5").hostnames}
    app = traffic([DATA / "synthetic-pcapdroid-trailer.pcap"])
    assert [a.app for a in app.app_summaries] == ["org.example.app"]
    assert _dest(app, "198.51.100.7").apps == ["org.example.app"]
    ng = traffic([DATA / "synthetic-pcapdroid-uid-comments.pcapng"])
    assert [a.app for a in ng.app_summaries] == ["Example Chat"]
    assert set(ng.app_summaries[0].destinations) == {"198.51.100.7", "203.0.113.53"}


def test_zeek_logs_map_ip_bytes_by_device_side():
    res = traffic([DATA / "logs" / "wikipedia.pcap.conn.log", DATA / "logs" / "wikipedia.pcap.dns.log",
                   DATA / "logs" / "wikipedia.pcap.http.log"])
    assert res.byte_kind == "ip" and not res.partial
    d = _dest(res, "208.80.152.3")
    assert (d.packets_sent, d.packets_received) == (36, 24)  # the capture's counts for this server
    names = {(h.name, h.source) for h in d.hostnames}
    assert {("upload.wikimedia.org", "zeek-dns"), ("upload.wikimedia.org", "zeek-http")} <= names
    assert d.first_seen is None  # the baselines mask timestamps


def test_zeek_json_lines(tmp_path):
    p = tmp_path / "conn.json"
    rows = [{"ts": 1.5, "uid": "C1", "id.orig_h": "192.0.2.1", "id.orig_p": 5000, "id.resp_h": "198.51.100.1",
             "id.resp_p": 443, "proto": "tcp", "orig_pkts": 3, "resp_pkts": 4, "orig_ip_bytes": 300,
             "resp_ip_bytes": 4000, "conn_state": "SF"}]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    res = traffic([p])
    d = _dest(res, "198.51.100.1")
    assert (d.bytes_sent, d.bytes_received, d.ports) == (300, 4000, ["tcp/443"])
    assert res.partial and "line 2" in res.inputs[0].warnings[0]


def test_pcapdroid_csv_synthetic():
    res = traffic([DATA / "synthetic-pcapdroid-connections.csv"])
    assert res.inputs[0].format == "pcapdroid-csv" and res.byte_kind == "ip"
    d = _dest(res, "198.51.100.7")
    assert (d.bytes_sent, d.bytes_received, d.packets_sent, d.packets_received) == (1200, 5400, 10, 12)
    assert d.first_seen == pytest.approx(1700000000.123)
    assert ("www.example.com", "pcapdroid") in {(h.name, h.source) for h in d.hostnames}
    assert {a.app for a in res.app_summaries} == {"Example", "android"}
    assert res.partial  # the garbage line


def test_generic_csv_and_text(tmp_path):
    c = tmp_path / "flows.txt"
    c.write_text("when;remote;out\n2024-01-01T00:00:00Z;198.51.100.9;100\n")
    res = traffic([c], columns={"address": "remote", "bytes_sent": "out", "first_seen": "when"})
    assert _dest(res, "198.51.100.9").bytes_sent == 100
    t = tmp_path / "notes.md"
    t.write_text("server 203.0.113.5, then [2001:db8::1]:443 and 10.0.0.300 (not an address) 1.2.3.4.\n")
    assert {d.address for d in traffic([t]).destinations} == {"203.0.113.5", "2001:db8::1", "1.2.3.4"}


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("pcapdroid--crash-593ec6ead7a1bf23faa96d03cbd74c315bcf67fc.pcap", "claims 6553600 bytes"),
        ("synthetic-truncated-last-record.pcap", "is truncated"),
        ("ndpi--malformed_dns.pcap", "malformed DNS"),
        ("synthetic-unsupported-linktype.pcap", "link type 147 is not supported"),
    ],
)
def test_bad_captures_keep_what_was_read_and_exit_4(name, fragment):
    """Exit 4 when part of the only input was read; 1 when nothing of it was (an unsupported link type
    stops before the first record): the document is written either way, with the reason."""
    r = CliRunner().invoke(cli, ["traffic", "--format", "json", str(DATA / name)])
    assert r.exit_code == (1 if "link type" in fragment else 4), r.output
    assert "Traceback" not in r.output
    doc = json.loads(r.stdout)
    assert doc["partial"] is True
    warning = [ln for ln in r.stderr.splitlines() if fragment in ln]
    assert len(warning) == 1 and name in warning[0]


def test_empty_and_wrong_magic(tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    junk = tmp_path / "capture.pcap"  # the name says pcap; the content decides
    junk.write_bytes(b"\x00\x01\x02\x03" * 10)
    for p, why in ((empty, "empty input"), (junk, "not a capture or log")):
        r = CliRunner().invoke(cli, ["traffic", str(p)])
        assert r.exit_code == 1 and why in r.stderr and "Traceback" not in r.output  # nothing read: 1
    good = DATA / "zeek--http_get.pcap"
    r = CliRunner().invoke(cli, ["traffic", str(empty), str(good)])  # one of two read: 4
    assert r.exit_code == 4 and "empty input" in r.stderr


def test_cli_outputs_say_which_bytes(tmp_path):
    path = str(DATA / "zeek--wikipedia.pcap")
    r = CliRunner().invoke(cli, ["traffic", "--format", "jsonl", path])
    assert r.exit_code == 0
    row = json.loads(r.stdout.splitlines()[0])
    for key in ("address", "flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received",
                "first_seen", "last_seen", "hostnames", "ports", "byte_kind"):
        assert key in row
    assert row["byte_kind"] == "frame" and row["schema"] == "ipowner.traffic/3"
    assert row["first_seen"].endswith("Z") and row["last_seen"] >= row["first_seen"]  # ISO 8601 UTC
    r = CliRunner().invoke(cli, ["traffic", "--format", "csv", path])
    assert r.stdout.splitlines()[0].split(",")[7] == "byte_kind"
    r = CliRunner().invoke(cli, ["traffic", path])
    assert "frame lengths on the wire" in r.stdout and "208.80.152.3" in r.stdout
    doc = json.loads(CliRunner().invoke(cli, ["traffic", "--format", "json", path]).stdout)
    assert doc["byte_kind"] == "frame" and doc["timeline"]["208.80.152.3"]


def test_stdin_is_read_by_content():
    data = (DATA / "zeek--http_get.pcap").read_bytes()
    r = CliRunner().invoke(cli, ["traffic", "--format", "jsonl", "-"], input=data)
    assert r.exit_code == 0 and "bro.org" in r.stdout


def test_hostile_hostnames_are_escaped(tmp_path):
    p = tmp_path / "conn.csv"
    p.write_text("dst_ip,hostname\n198.51.100.1,=cmd|evil\x1b[31m\n")
    r = CliRunner().invoke(cli, ["traffic", "--format", "csv", str(p)])
    assert "\x1b" not in r.stdout and "'=cmd" in r.stdout


def test_corrupted_captures_never_raise_and_readers_still_agree(tmp_path):
    """Bytes flipped at fixed pseudo-random places in real captures: no exception, every reader agrees."""
    import random

    rng = random.Random(20261129)
    sources = [p for p in CAPTURES if p.suffix == ".pcap" and p.stat().st_size > 200]
    for i in range(40):
        data = bytearray(rng.choice(sources).read_bytes()[:16000])
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(24, len(data))] = rng.randrange(256)
        if i % 4 == 0:
            data = data[: rng.randrange(24, len(data))]
        p = tmp_path / f"corrupt-{i}.pcap"
        p.write_bytes(bytes(data))
        doc = all_readers([p])
        assert not any("internal error" in w for w in doc["inputs"][0]["warnings"])


def test_corrupted_pcapng_readers_agree(tmp_path):
    """Bytes flipped in pcapng captures (block lengths, interface ids, lengths, headers): the compiled core
    keeps what the per-frame walker keeps, with the same warnings."""
    import random

    rng = random.Random(20261130)
    sources = [p for p in CAPTURES if p.suffix == ".pcapng"]
    for i in range(40):
        data = bytearray(rng.choice(sources).read_bytes()[:40000])
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(28, len(data))] = rng.randrange(256)
        if i % 4 == 0:
            data = data[: rng.randrange(28, len(data))]
        p = tmp_path / f"corrupt-{i}.pcapng"
        p.write_bytes(bytes(data))
        doc = all_readers([p])
        assert not any("internal error" in w for w in doc["inputs"][0]["warnings"])


@pytest.mark.slow  # a big generated capture
@needs_core
def test_readers_agree_on_the_benchmark_capture(tmp_path):
    """The benchmark's generator (VLAN tags, SLL2, a snaplen-cut interface, IPv6 extension headers,
    fragments, many short flows): the compiled core and the per-frame walker agree over several sweeps."""
    import sys

    gen = Path(__file__).parent.parent / "bench" / "gen_capture.py"
    caps = []
    for fmt, n in (("pcapng", 100000), ("pcap", 70000)):
        out = tmp_path / f"synthetic-bench.{fmt}"
        subprocess.run([sys.executable, str(gen), "--packets", str(n), "--format", fmt, str(out), "--quiet",
                        "--destinations", "1500"], check=True, timeout=120)
        caps.append(out)
    frame = traffic(caps, compiled=False).to_dict()
    assert frame == traffic(caps, compiled=True).to_dict()
    assert frame["destinations"] and not frame["partial"]


def test_timeline_and_device_totals_add_up(results):
    res = traffic([DATA / "ndpi--wechat.pcap"], bucket=300)
    for d in res.destinations:
        tl = res.timeline.get(d.address, [])
        assert sum(s for _, s, _ in tl) == d.bytes_sent and sum(r for _, _, r in tl) == d.bytes_received
        assert all(start % 300 == 0 for start, _, _ in tl)
    for key in ("flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received"):
        assert sum(getattr(v, key) for v in res.device_summaries) == sum(getattr(d, key) for d in res.destinations)
    dev = res.device_summaries[0]
    assert dev.destinations == sum(1 for d in res.destinations if dev.address in d.devices)


def test_cli_generic_csv_columns(tmp_path):
    p = tmp_path / "export.csv"
    p.write_text("peer,up,down\n198.51.100.20,10,20\n198.51.100.21,1,2\n")
    r = CliRunner().invoke(cli, ["traffic", "--format", "jsonl", "--column", "address=peer", "--column",
                                 "bytes_sent=up", "--column", "bytes_received=down", str(p)])
    assert r.exit_code == 0, r.output
    rows = {json.loads(x)["address"]: json.loads(x) for x in r.stdout.splitlines()}
    assert (rows["198.51.100.20"]["bytes_sent"], rows["198.51.100.20"]["byte_kind"]) == (10, "ip")
    bad = CliRunner().invoke(cli, ["traffic", "--column", "nonsense", str(p)])
    assert bad.exit_code == 2


def test_quick_dns_reader_agrees_with_dnspython():
    """DNS responses read directly (plain names, A/AAAA/CNAME only) give what dnspython gives; mangled
    copies (bytes set to label lengths, pointers, types, cut short) too, errors included."""
    import random

    from ipowner.capture.protocols.common import PayloadError
    from ipowner.capture.protocols.dns import _quick_dns, parse_dns_response

    def outcome(p: bytes, quick: bool):
        try:
            a = parse_dns_response(p, quick=quick)
            return None if a is None else (a.query, a.addresses)
        except PayloadError as exc:
            return str(exc)

    responses = dns_responses()
    assert sum(1 for p in responses if _quick_dns(p) is not None) > 40
    rng = random.Random(7)
    quick = 0
    for p in responses:
        for k in range(6):
            q = bytearray(p)
            if k:
                for _ in range(rng.randint(1, 3)):
                    q[rng.randrange(2, len(q))] = rng.choice([0, 1, 5, 28, 63, 64, 0xC0, 0xC1, rng.randrange(256)])
                if k == 5:
                    q = q[: rng.randrange(12, len(q) + 1)]
            quick += _quick_dns(bytes(q)) is not None
            assert outcome(bytes(q), True) == outcome(bytes(q), False), bytes(q).hex()
    assert quick > 150


@pytest.mark.parametrize("name", ["ndpi--1kxun.pcap", "ndpi--alexa-app.pcapng", "zeek--empty.pcap",
                                  "synthetic-truncated-last-record.pcap", "synthetic-two-interfaces.pcapng"])
def test_default_reader_matches_the_frame_walker(name):
    """The default reader (the compiled core when available) reads what the per-frame walker reads."""
    assert traffic([DATA / name]).to_dict() == traffic([DATA / name], compiled=False).to_dict()


def _ip4_fragment(src: bytes, dst: bytes, ident: int, offset8: int, more: bool, payload: bytes) -> bytes:
    import struct as _s

    flags = (0x2000 if more else 0) | offset8
    hdr = _s.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, flags, 64, 17, 0, src, dst)
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + hdr + payload


def test_fragments_in_flight_keep_their_flow_across_table_sweeps(tmp_path):
    # Synthetic: 70,000 UDP datagrams from a server, each in two fragments, the next one's first
    # fragment always sent before the previous one's second. The fragment table is trimmed during
    # sweeps (every 65,536 frames); a fragment in flight must still be counted on its own flow.
    import struct as _s

    dev, srv = bytes([10, 0, 0, 5]), bytes([93, 184, 216, 34])
    n = 70_000
    first = _s.pack("!HHHH", 5000, 40000, 8 + 16, 0) + b"x" * 8  # UDP header + 8 bytes
    frames = [b"\x04" * 6 + b"\x02" * 6 + b"\x08\x00" + _s.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, dev, srv) + _s.pack("!HHHH", 40000, 5000, 8, 0)]
    for i in range(n + 1):
        if i < n:
            frames.append(_ip4_fragment(srv, dev, i, 0, True, first))
        if i:
            frames.append(_ip4_fragment(srv, dev, i - 1, 2, False, b"y" * 8))
    out = bytearray(_s.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for k, fr in enumerate(frames):
        out += _s.pack("<IIII", 1_700_000_000 + k // 1000, k % 1000, len(fr), len(fr)) + fr
    path = tmp_path / "synthetic-fragments-in-flight.pcap"
    path.write_bytes(bytes(out))
    res = traffic([path])
    assert [d.address for d in res.destinations] == ["93.184.216.34"]
    d = res.destinations[0]
    assert (d.packets_sent, d.packets_received) == (1, 2 * n)
