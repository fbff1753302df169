"""QUIC Initials of every version read (rules.QUIC_VERSIONS): synthetic Initials built here with the
`cryptography` package, independently of protocols/quic.py (key schedule checked against the RFCs' own
examples), read by every walker; and the field captures against tshark."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from capture_support import DATA, all_readers
from ipowner import traffic
from ipowner.capture.protocols.quic import is_client_initial, is_greased

DEV, SRV = bytes([192, 168, 1, 10]), bytes([203, 0, 113, 7])
TSHARK = shutil.which("tshark")

V1, V2 = 0x00000001, 0x6B3343CF
# version -> (initial salt, label prefix, Initial type bits), written out here from the documents, not imported
SALT_22 = "7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a"  # draft-ietf-quic-tls-22
SALT_23 = "c3eef712c72ebb5a11a7d2432bb46365bef9f502"  # drafts 23-28
SALT_29 = "afbfec289993d24c9e9786f19c6111e04390a899"  # drafts 29-32
SALT_V1 = "38762cf7f55934b34d179ae6a4c80cadccbb7f0a"  # RFC 9001 (and drafts 33-34)
VERSIONS: dict[int, tuple[str, bytes, int]] = {
    V1: (SALT_V1, b"quic ", 0),
    V2: ("0dede3def700a6db819381be6e269dcbf9bd2ed9", b"quicv2 ", 1),  # RFC 9369
    **{0xFF000000 + d: (SALT_23, b"quic ", 0) for d in range(23, 29)},
    **{0xFF000000 + d: (SALT_29, b"quic ", 0) for d in range(29, 33)},
    0xFF000021: (SALT_V1, b"quic ", 0),
    0xFF000022: (SALT_V1, b"quic ", 0),
    0xFACEB001: (SALT_22, b"quic ", 0),  # mvfst, after draft 22
    0xFACEB002: (SALT_23, b"quic ", 0),  # mvfst, after draft 27
    0xFACEB00E: (SALT_23, b"quic ", 0),  # mvfst experimental, after draft 27
    0x54303530: ("7ff579e5acd072915580304c43a2367c60488310", b"quic ", 0),  # Google T050
    0x54303531: ("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d", b"quic ", 0),  # Google T051
}


def _label(secret: bytes, label: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def client_keys(version: int, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    salt, prefix, _ = VERSIONS[version]
    initial = hmac.new(bytes.fromhex(salt), dcid, hashlib.sha256).digest()  # HKDF-Extract
    secret = _label(initial, b"client in", 32)
    return _label(secret, prefix + b"key", 16), _label(secret, prefix + b"iv", 12), _label(secret, prefix + b"hp", 16)


def test_the_key_schedule_here_is_the_rfcs():
    """RFC 9001 appendix A.1 and RFC 9369 appendix A.1: the client keys of DCID 0x8394c8f03e515708."""
    dcid = bytes.fromhex("8394c8f03e515708")
    assert [k.hex() for k in client_keys(V1, dcid)] == [
        "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"]
    assert [k.hex() for k in client_keys(V2, dcid)] == [
        "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"]


def client_hello(name: str) -> bytes:
    host = name.encode()
    sni = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    ext = struct.pack("!HH", 0, len(sni)) + sni
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    return b"\x01" + len(body).to_bytes(3, "big") + body


def _varint2(v: int) -> bytes:
    return struct.pack("!H", 0x4000 | v)


def crypto_frame(offset: int, data: bytes) -> bytes:
    return b"\x06" + _varint2(offset) + _varint2(len(data)) + data


def initial(version: int, dcid: bytes, frames: bytes, pn: int = 0, pad_to: int = 1200) -> bytes:
    """A client Initial packet of ``version`` carrying ``frames`` (padded), protected as RFC 9001 section 5."""
    key, iv, hp = client_keys(version, dcid)
    pn_len = 2
    scid = b"\x5c" * 8
    base = 5 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + pn_len
    payload = frames + bytes(max(0, pad_to - base - len(frames) - 16))
    first = 0xC0 | (VERSIONS[version][2] << 4) | (pn_len - 1)
    header = (bytes([first]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
              + b"\x00" + _varint2(pn_len + len(payload) + 16) + pn.to_bytes(pn_len, "big"))
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    sealed = AESGCM(key).encrypt(nonce, payload, header)
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sealed[4 - pn_len : 20 - pn_len]) + enc.finalize()
    pn_off = len(header) - pn_len
    protected = bytearray(header)
    protected[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        protected[pn_off + i] ^= mask[1 + i]
    return bytes(protected) + sealed


def other_long_packet(version: int, ptype: int, dcid: bytes, size: int = 300) -> bytes:
    """A 0-RTT or Handshake packet (not decrypted by the reader: its content is random)."""
    scid = b"\x5c" * 8
    return (bytes([0xC1 | (ptype << 4)]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid
            + bytes([len(scid)]) + scid + _varint2(size) + os.urandom(size))


def zero_rtt_type(version: int) -> int:
    return (VERSIONS[version][2] + 1) & 3


def _pcap(path: Path, datagrams: list[tuple[int, bytes]]) -> Path:
    """Each (client port, UDP payload) from DEV to SRV:443, Ethernet/IPv4, one per frame."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, (port, payload) in enumerate(datagrams):
        udp = struct.pack("!HHHH", port, 443, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, DEV, SRV) + udp
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip
        out += struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
    return path


def _names(doc: dict) -> set[tuple[str, str]]:
    return {(h["name"], h["source"]) for d in doc["destinations"] if d["address"] == "203.0.113.7"
            for h in d["hostnames"]}


def _name(version: int, case: str) -> str:
    return f"{case}-{version:08x}.synthetic.example"


@pytest.mark.parametrize("version", sorted(VERSIONS), ids=lambda v: f"{v:08x}")
def test_synthetic_initials_of_every_version(tmp_path, version):
    dcid = os.urandom(8)
    hello = client_hello(_name(version, "plain"))
    zero = zero_rtt_type(version)
    cut = len(hello) // 2
    flows = [
        [initial(version, dcid, crypto_frame(0, hello))],                                  # one Initial
        [other_long_packet(version, zero, dcid) + initial(version, dcid, crypto_frame(0, client_hello(
            _name(version, "zero-rtt-first"))))],                                           # 0-RTT first, coalesced
        [other_long_packet(version, zero, dcid, 900),                                     # 0-RTT alone, then
         initial(version, dcid, crypto_frame(0, client_hello(_name(version, "zero-rtt-datagram"))))],  # the Initial
        [initial(version, dcid, crypto_frame(0, (h := client_hello(_name(version, "split")))[:cut])),
         initial(version, dcid, crypto_frame(cut, h[cut:]), pn=1)],                         # CRYPTO over two Initials
        [other_long_packet(0x1A2A3A4A, 0, dcid, 1000),                                    # a greased version first
         initial(version, dcid, crypto_frame(0, client_hello(_name(version, "after-grease"))))],
    ]
    datagrams = [(50000 + i, d) for i, flow in enumerate(flows) for d in flow]
    doc = all_readers([_pcap(tmp_path / f"synthetic-quic-{version:08x}.pcap", datagrams)])
    want = {(_name(version, c), "quic") for c in ("plain", "zero-rtt-first", "zero-rtt-datagram", "split",
                                                   "after-grease")}
    assert _names(doc) == want
    assert doc["inputs"][0]["warnings"] == []


def test_greased_versions_are_quic_without_keys(tmp_path):
    assert is_greased(0x1A2A3A4A) and is_greased(0xFAFAFAFA) and not is_greased(V1) and not is_greased(0xFF00001D)
    greased = other_long_packet(0x0A0A0A0A, 0, b"\x01" * 8, 1200)
    assert is_client_initial(greased)
    doc = all_readers([_pcap(tmp_path / "synthetic-quic-greased.pcap", [(50000, greased), (50000, greased)])])
    assert _names(doc) == set() and doc["inputs"][0]["warnings"] == []
    assert [d["address"] for d in doc["destinations"]] == ["203.0.113.7"]


@pytest.mark.parametrize("capture", ["ndpi--quic-v2.pcapng", "tcpdump--quic_handshake.pcap"])
def test_field_quic_captures_name_what_tshark_names(capture):
    path = DATA / capture
    ours = {(d.address, h.name) for d in traffic([path]).destinations for h in d.hostnames if h.source == "quic"}
    assert ours, "no QUIC name found"
    assert {(d["address"], h["name"]) for d in all_readers([path])["destinations"] for h in d["hostnames"]
            if h["source"] == "quic"} == ours
    if TSHARK is None:
        return
    out = subprocess.run([TSHARK, "-n", "-r", str(path), "-Y", "quic && tls.handshake.type == 1", "-T", "fields",
                          "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tls.handshake.extensions_server_name"],
                         capture_output=True, text=True, timeout=120).stdout
    theirs = set()
    for line in out.splitlines():
        v4, v6, sni = line.split("\t")
        if sni:
            theirs.add(((v4 or v6).split(",")[0], sni.split(",")[0]))
    assert theirs and ours == theirs
