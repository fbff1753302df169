"""Special-purpose ranges, driven row by row by IANA's registry CSVs, and translation look-through."""

from __future__ import annotations

import csv
import ipaddress
import re
from pathlib import Path

import pytest

from ipowner.model import AddressRecord
from ipowner.providers.special import SpecialProvider
from ipowner.reference.iana import SpecialRegistry, parse_ipv4_space, parse_special_registry

IANA = Path(__file__).parent / "data" / "iana"

# The labels users filter on, for the IANA names that have one; other blocks carry a slug of the name.
EXPECTED_LABELS = {
    "Private-Use": "private",
    "Unique-Local": "private",
    "Loopback": "loopback",
    "Loopback Address": "loopback",
    "Link Local": "link-local",
    "Link-Local Unicast": "link-local",
    "Shared Address Space": "shared",
    "Benchmarking": "benchmarking",
    "Reserved": "reserved",
    "This network": "reserved",
    "This host on this network": "unspecified",
    "Unspecified Address": "unspecified",
    "Limited Broadcast": "broadcast",
    "IPv4-mapped Address": "ipv4-mapped",
    "TEREDO": "teredo",
    "6to4": "6to4",
    "AMT": "amt",
    "AS112-v4": "as112-v4",
}


def _rows(name: str) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, dict[str, str]]]:
    """(block, IANA name, raw row) for every prefix of every row, parsed independently of the code under test."""
    out = []
    with (IANA / name).open(newline="") as fh:
        for row in csv.DictReader(fh):
            cell = re.sub(r"\[\d+\]", "", row["Address Block"])
            iana_name = row["Name"].strip().strip('"')
            for part in cell.split(","):
                out.append((ipaddress.ip_network(part.strip()), iana_name, row))
    return out


V4_ROWS = _rows("iana-ipv4-special-registry.csv")
V6_ROWS = _rows("iana-ipv6-special-registry.csv")
ALL_ROWS = V4_ROWS + V6_ROWS


def _sample(block, others):
    """An address of ``block`` outside every more specific block listed in the same registry."""
    inner = [o for o, _, _ in others if o != block and o.version == block.version and o.subnet_of(block)]
    n = block.num_addresses
    for offset in (n // 2 + 1, n - 2, 1, 0, n - 1, n // 3):
        if 0 <= offset < n:
            ip = block.network_address + offset
            if not any(ip in o for o in inner):
                return ip
    raise AssertionError(f"no sample address for {block}")


def test_registries_have_every_row():
    assert len(V4_ROWS) == 26  # 25 rows, one of them with two prefixes
    assert len(V6_ROWS) == 25


@pytest.mark.parametrize(("block", "iana_name", "row"), ALL_ROWS, ids=[str(b) for b, _, _ in ALL_ROWS])
def test_every_registry_block_is_recognised(block, iana_name, row):
    provider = SpecialProvider()
    ip = _sample(block, ALL_ROWS)
    special, _ = provider.classify(str(ip))
    assert special is not None, ip
    assert special.prefix == str(block)
    assert special.name == " ".join(iana_name.split())
    if iana_name in EXPECTED_LABELS:
        expected = EXPECTED_LABELS[iana_name]
    elif iana_name.startswith("Documentation"):
        expected = "documentation"
    elif iana_name == "IPv4-IPv6 Translat.":
        expected = "nat64" if block.prefixlen == 96 else "nat64-local"
    else:
        expected = re.sub(r"[^a-z0-9]+", "-", iana_name.lower()).strip("-")
    assert special.label == expected
    reachable = re.sub(r"\[\d+\]", "", row["Globally Reachable"]).strip()
    assert special.globally_reachable == {"True": True, "False": False}.get(reachable)


def test_parser_handles_footnotes_multiline_and_two_prefix_cells():
    blocks = parse_special_registry(IANA / "iana-ipv4-special-registry.csv")
    nets = {str(b.network): b for b in blocks}
    assert "192.0.0.0/24" in nets and "192.0.0.170/32" in nets and "192.0.0.171/32" in nets
    assert nets["127.0.0.0/8"].globally_reachable is False  # "False [1]"
    assert nets["255.255.255.255/32"].rfc == "[RFC8190] [RFC919], Section 7"  # multi-line cell
    assert nets["192.88.99.0/24"].globally_reachable is None  # terminated block, empty cells


@pytest.mark.parametrize(
    ("address", "label", "prefix"),
    [
        ("10.1.2.3", "private", "10.0.0.0/8"),
        ("172.31.255.255", "private", "172.16.0.0/12"),
        ("192.168.1.1", "private", "192.168.0.0/16"),
        ("100.64.0.1", "shared", "100.64.0.0/10"),
        ("127.0.0.1", "loopback", "127.0.0.0/8"),
        ("169.254.1.1", "link-local", "169.254.0.0/16"),
        ("192.0.2.1", "documentation", "192.0.2.0/24"),
        ("198.51.100.7", "documentation", "198.51.100.0/24"),
        ("203.0.113.9", "documentation", "203.0.113.0/24"),
        ("198.19.0.1", "benchmarking", "198.18.0.0/15"),
        ("224.0.0.251", "multicast", "224.0.0.0/4"),
        ("239.255.255.250", "multicast", "224.0.0.0/4"),
        ("240.0.0.1", "reserved", "240.0.0.0/4"),
        ("0.1.2.3", "reserved", "0.0.0.0/8"),
        ("255.255.255.255", "broadcast", "255.255.255.255/32"),
        ("::1", "loopback", "::1/128"),
        ("fe80::1", "link-local", "fe80::/10"),
        ("fd12:3456::1", "private", "fc00::/7"),
        ("ff02::fb", "multicast", "ff00::/8"),
        ("2001:db8::1", "documentation", "2001:db8::/32"),
        ("3fff::1", "documentation", "3fff::/20"),
        ("2001:2::1", "benchmarking", "2001:2::/48"),
        ("4000::1", "unallocated", "4000::/3"),
        ("1::1", "unallocated", "::/8"),
        ("fec0::1", "reserved", "fec0::/10"),
    ],
)
def test_labels(address, label, prefix):
    special, through = SpecialProvider().classify(address)
    assert (special.label, special.prefix) == (label, prefix)
    assert through is None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "2a00:1450::1", "42.62.48.1"])
def test_public_addresses_are_not_special(address):
    assert SpecialProvider().classify(address) == (None, None)


def test_nat64_well_known_prefix():
    special, lt = SpecialProvider().classify("64:ff9b::808:808")
    assert special.label == "nat64" and special.prefix == "64:ff9b::/96"
    assert (lt.mechanism, lt.prefix, lt.ipv4, lt.special) == ("nat64", "64:ff9b::/96", "8.8.8.8", None)


def test_nat64_local_use_prefix_uses_rfc6052_48_layout():
    # RFC 6052 section 2.4 example for a /48 prefix: 2001:db8:122:c000:2:2100:: carries 192.0.2.33.
    # The same layout under 64:ff9b:1::/48: octets 192.0 in bits 48-63, u octet, then 2.33.
    addr = "64:ff9b:1:c000:2:2100::"
    special, lt = SpecialProvider().classify(addr)
    assert special.label == "nat64-local" and lt.mechanism == "nat64-local"
    assert lt.ipv4 == "192.0.2.33"
    assert lt.special is not None and lt.special.label == "documentation"
    _, lt2 = SpecialProvider().classify("64:ff9b:1:808:8:800::")
    assert lt2.ipv4 == "8.8.8.8" and lt2.special is None


def test_6to4():
    _, lt = SpecialProvider().classify("2002:c000:0204::1")
    assert (lt.mechanism, lt.ipv4) == ("6to4", "192.0.2.4")
    _, lt = SpecialProvider().classify("2002:808:808:1::1")
    assert lt.ipv4 == "8.8.8.8" == str(ipaddress.IPv6Address("2002:808:808:1::1").sixtofour)


def test_teredo_rfc4380_example():
    special, lt = SpecialProvider().classify("2001:0:4136:e378:8000:63bf:3fff:fdd2")
    assert special.label == "teredo"
    assert lt.mechanism == "teredo"
    assert lt.teredo_server == "65.54.227.120"
    assert lt.ipv4 == "192.0.2.45"  # the client's address is the one attributed
    assert lt.special is not None and lt.special.label == "documentation"
    server, client = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2").teredo
    assert (str(server), str(client)) == (lt.teredo_server, lt.ipv4)


def test_ipv4_mapped():
    special, lt = SpecialProvider().classify("::ffff:8.8.8.8")
    assert special.label == "ipv4-mapped" and (lt.mechanism, lt.ipv4) == ("ipv4-mapped", "8.8.8.8")
    _, lt = SpecialProvider().classify("::ffff:10.0.0.1")
    assert lt.special.label == "private"


def test_enrich_marks_records_and_needs_lookup():
    recs = [AddressRecord(q, q) for q in ("10.0.0.1", "8.8.8.8", "64:ff9b::808:808", "64:ff9b::a00:1")]
    SpecialProvider().enrich(recs)
    private, public, nat64, nat64_private = recs
    assert private.special.label == "private" and not private.needs_lookup
    assert public.special is None and public.needs_lookup
    assert nat64.needs_lookup and nat64.attributed == "8.8.8.8"
    assert nat64.provenance["looked_through"] == "iana-special" and "iana-special" in nat64.sources
    assert not nat64_private.needs_lookup and nat64_private.looked_through.special.label == "private"
    assert nat64.sources["iana-special"].date is not None


def test_ipv4_address_space_reserved_slash8s():
    blocks = {str(b.network): b for b in parse_ipv4_space(IANA / "ipv4-address-space.csv")}
    assert {blocks[f"{n}.0.0.0/8"].label for n in range(224, 240)} == {"multicast"}
    assert {blocks[f"{n}.0.0.0/8"].label for n in range(240, 256)} == {"reserved"}
    assert blocks["10.0.0.0/8"].label == "reserved" and blocks["10.0.0.0/8"].name == "IANA - Private Use"
    assert "8.0.0.0/8" not in blocks and "1.0.0.0/8" not in blocks  # allocated and legacy space is not special
    # On its own the /8 registry labels an address; next to the special-purpose registry it gives way.
    alone = SpecialRegistry(blocks.values())
    assert alone.classify(ipaddress.IPv4Address("10.1.2.3")).name == "IANA - Private Use"
    assert SpecialProvider().classify("10.1.2.3")[0].name == "Private-Use"


def test_batch_classification_agrees_with_the_registry():
    """The provider's fast tables (first 8 bits, then segments) say what the registry's own search says."""
    import random

    from ipowner.providers import Addresses, parse_address
    from ipowner.providers.special import special_of

    provider = SpecialProvider()
    rnd = random.Random(3)
    texts = []
    for _ in range(20000):
        if rnd.random() < 0.5:
            texts.append(str(ipaddress.IPv4Address(rnd.getrandbits(32))))
        else:  # around every IPv6 /8 and the blocks inside 2000::/3
            top = rnd.choice([rnd.getrandbits(8), 0x20, 0x20, 0x26, 0xFC, 0xFE, 0xFF, 0x3F, 0x00])
            texts.append(str(ipaddress.IPv6Address(top << 120 | rnd.getrandbits(120 - rnd.randrange(0, 100)))))
    batch = Addresses.of(parse_address(t) for t in texts)
    got = provider.classify_many(batch)
    skipped = set(got.skipped)
    for i, text in enumerate(texts):
        ip = ipaddress.ip_address(text)
        block = provider.registry.block(ip)
        fact = special_of(got.special.get(i, ()))
        assert (fact.start, fact.end) == (int(block.network.network_address), int(block.network.broadcast_address)) \
            if block else fact is None, text
        rec = AddressRecord(text, text)
        provider.enrich([rec])
        assert (i not in skipped) == rec.needs_lookup, text


def test_iana_ipv4_table_names_the_rir():
    from ipowner.reference.iana import iana_rir, read_ipv4_space

    rows = {r.first: r for r in read_ipv4_space(IANA / "ipv4-address-space.csv")}
    assert len(rows) == 256 and rows[1].rir == "APNIC" and rows[3].rir == "ARIN" and rows[10].rir is None
    assert iana_rir("1.1.1.1") == "APNIC" and iana_rir("193.0.6.139") == "RIPE NCC" and iana_rir("41.0.0.1") == "AFRINIC"
    assert iana_rir("2001:db8::1") is None and iana_rir("not an address") is None
