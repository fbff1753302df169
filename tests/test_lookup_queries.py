"""What analysts paste, read into typed queries (lookups/queries.py), and networks answered as networks."""

from __future__ import annotations

import io

import pytest

import ipowner
from ipowner.lookups import networks
from ipowner.lookups.queries import (
    MAX_LINE,
    AddressQuery,
    AsQuery,
    BadQuery,
    HostnameQuery,
    NetworkQuery,
    parse_item,
    read_arguments,
)


def one(text):
    got = parse_item(text)
    assert len(got) == 1, got
    return got[0]


@pytest.mark.parametrize(("text", "address", "port"), [
    ("8.8.8.8", "8.8.8.8", None),
    (" 2001:DB8::A ", "2001:db8::a", None),
    ("[2001:db8::1]", "2001:db8::1", None),
    ("fe80::1%eth0", "fe80::1", None),
    ("1.1.1.1:53", "1.1.1.1", 53),
    ("[2001:db8::1]:443", "2001:db8::1", 443),
    ("https://8.8.8.8/", "8.8.8.8", None),
    ("https://[2001:db8::1]:8443/x?y=1", "2001:db8::1", 8443),
    ("http://user:pw@192.0.2.1:8080/", "192.0.2.1", 8080),
])
def test_addresses_in_every_form(text, address, port):
    q = one(text)
    assert isinstance(q, AddressQuery) and (q.address, q.port) == (address, port)
    assert q.text == text.strip()


@pytest.mark.parametrize(("text", "name", "first", "last"), [
    ("8.8.8.0/24", "8.8.8.0/24", "8.8.8.0", "8.8.8.255"),
    ("8.8.8.1/24", "8.8.8.0/24", "8.8.8.0", "8.8.8.255"),  # host bits cleared
    ("8.8.8.0-8.8.8.9", "8.8.8.0-8.8.8.9", "8.8.8.0", "8.8.8.9"),
    ("10.0.0.0 - 10.0.0.255", "10.0.0.0/24", "10.0.0.0", "10.0.0.255"),  # a range that is one CIDR
    ("2001:db8::/32", "2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0", "255.255.255.255"),
])
def test_networks(text, name, first, last):
    q = one(text)
    assert isinstance(q, NetworkQuery)
    assert (q.name, q.first_text, q.last_text) == (name, first, last)


@pytest.mark.parametrize(("text", "number"), [("AS15169", 15169), ("as13335", 13335), ("ASN64500", 64500),
                                               ("AS0", 0), ("AS4294967295", 4294967295)])
def test_as_numbers(text, number):
    assert one(text) == AsQuery(text, number)


@pytest.mark.parametrize(("text", "hostname", "port"), [
    ("Example.COM.", "example.com", None), ("dns.google:853", "dns.google", 853),
    ("https://Bücher.example/path", "xn--bcher-kva.example", None), ("as1.", "as1", None),
])
def test_hostnames(text, hostname, port):
    q = one(text)
    assert isinstance(q, HostnameQuery) and (q.hostname, q.port) == (hostname, port)


@pytest.mark.parametrize(("text", "reason"), [
    ("999.1.1.1", "not a valid IP address"),
    ("8.8.8.0/33", "prefix length is 0 to 32"),
    ("8.8.8.0/x", "not a valid network"),
    ("10.0.0.5-10.0.0.1", "first address is after the last"),
    ("1.1.1.1-::1", "both ends must be IPv4, or both IPv6"),
    ("AS4294967296", "not a valid AS number"),
    ("1.1.1.1:70000", "not a valid port"),
    ("[1.1.1.1]:53", "IPv6 address in brackets"),
    ("https:///nohost", "without a host"),
    ("garbage!", "neither an IP address nor a valid hostname"),
    ("not a host", "no address, network or AS number found"),
])
def test_what_parses_as_nothing_says_why(text, reason):
    q = one(text)
    assert isinstance(q, BadQuery) and reason in q.reason and q.text == text


def test_free_text_gives_addresses_networks_and_as_numbers_in_order_once():
    line = ("Dec  2 05:31:01 fw kernel: DROP SRC=203.0.113.9 DST=198.51.100.7 LEN=60 (from 192.0.2.0/24, AS64500) "
            "[2001:db8::5]:53 again SRC=203.0.113.9 at 10:30:00 on 2024-01-01 GET example.com")
    got = parse_item(line)
    assert [(type(q).__name__, q.text) for q in got] == [
        ("AddressQuery", "203.0.113.9"), ("AddressQuery", "198.51.100.7"), ("NetworkQuery", "192.0.2.0/24"),
        ("AsQuery", "AS64500"), ("AddressQuery", "[2001:db8::5]:53"),
    ]


def test_free_text_uses_the_traffic_text_extractor():
    # The same rule as `traffic` on a text file: an address inside a word, no address for 10.0.0.300.
    from ipowner.capture.formats.text import addresses_in

    line = "peer=203.0.113.5; bad=10.0.0.300 v6=2001:db8::1."
    assert [q.address for q in parse_item(line)] == addresses_in(line) == ["203.0.113.5", "2001:db8::1"]


def test_arguments_files_stdin_and_ambiguity(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ips.txt").write_text("# list\n\n8.8.8.8\r\n1.1.1.1:53\nsrc 192.0.2.1 dst 198.51.100.1\n"
                                      "ips.txt\nnonsense!\n")
    (tmp_path / "8.8.4.4").write_text("9.9.9.9\n")  # a file named like an address is not read
    (tmp_path / "folder").mkdir()
    stdin = io.StringIO("AS15169\n2001:db8::/48\n")
    got = list(read_arguments(["ips.txt", "./ips.txt", "ips.txt.", "8.8.4.4", "-", "-", "./missing.txt",
                               "folder"], stdin))
    texts = [(type(q).__name__, q.text) for q in got]
    from_file = [("AddressQuery", "8.8.8.8"), ("AddressQuery", "1.1.1.1:53"), ("AddressQuery", "192.0.2.1"),
                 ("AddressQuery", "198.51.100.1"),
                 ("HostnameQuery", "ips.txt"),  # a line of a file is never read as a file
                 ("BadQuery", "nonsense!")]
    assert texts == [*from_file, *from_file, ("HostnameQuery", "ips.txt."), ("AddressQuery", "8.8.4.4"),
                     ("AsQuery", "AS15169"), ("NetworkQuery", "2001:db8::/48"),  # stdin, read once
                     ("BadQuery", "./missing.txt"), ("BadQuery", "folder")]
    assert "no such file" in got[-2].reason and "is a folder" in got[-1].reason


def test_lines_are_bounded(tmp_path):
    p = tmp_path / "long.txt"
    p.write_text("8.8.8.8\n" + "x" * (MAX_LINE + 10) + "\n1.1.1.1\n" + "y" * (3 * MAX_LINE))
    got = list(read_arguments([str(p)]))
    assert [type(q).__name__ for q in got] == ["AddressQuery", "BadQuery", "AddressQuery", "BadQuery"]
    assert got[1].text == f"{p} line 2" and "longer than" in got[1].reason


def test_at_most_max_items(monkeypatch):
    from ipowner.lookups import queries

    monkeypatch.setattr(queries, "MAX_ITEMS", 3)
    got = list(read_arguments(["8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9", "AS1"]))
    assert [type(q).__name__ for q in got] == ["AddressQuery"] * 3 + ["BadQuery"]
    assert "more than 3 queries" in got[-1].reason


def test_library_lookup_takes_ports_and_urls_and_refuses_network_text():
    res = ipowner.lookup(["1.1.1.1:53", "https://[2001:db8::1]/", "8.8.8.0/24"], offline=True)
    assert [(r.query, r.address) for r in res.records] == [("1.1.1.1:53", "1.1.1.1"),
                                                           ("https://[2001:db8::1]/", "2001:db8::1")]
    assert [e.message for e in res.errors] == ["8.8.8.0/24: is a network, not an address"]


# -- networks --------------------------------------------------------------------------------------------

def net(text, **kw):
    res = ipowner.lookup(parse_item(text), offline=True, **kw)
    assert len(res.networks) == 1, res.errors
    return res, res.networks[0]


def test_a_network_is_summarised_from_the_blocks_inside():
    res, n = net("8.8.8.0/23")
    assert (n.network, n.addresses, n.summarised, n.complete) == ("8.8.8.0/23", 512, 512, True)
    assert sum(b.addresses for b in n.blocks) == 512
    assert [(b.prefix, b.asn) for b in n.blocks][0] == ("8.8.8.0/24", 15169)
    assert {t.key for t in n.by_asn} >= {"AS15169"} and sum(t.addresses for t in n.by_asn) == 512
    assert [(t.key, t.addresses) for t in n.by_country] == [("US", 512)]
    # Offline, the registry object is not in the RDAP cache: said, not guessed.
    assert n.registry_objects == [] and any("not in the RDAP cache" in x for x in n.notes)
    assert res.records == [] and res.exit_code == 0
    assert {"embedded:asn", "iana-special"} <= {s.id for s in res.sources}


def test_blocks_tile_the_network_without_gaps_or_overlaps():
    _res, n = net("1.0.0.0-1.0.255.255")
    ints = [(ipowner_int(b.first), ipowner_int(b.last)) for b in n.blocks]
    assert ints[0][0] == ipowner_int("1.0.0.0") and ints[-1][1] == ipowner_int("1.0.255.255")
    assert all(b[0] == a[1] + 1 for a, b in zip(ints, ints[1:], strict=False))
    assert len({(b.country, b.asn) for b in n.blocks}) > 3  # several holders' blocks in one /16
    # adjacent blocks with the same facts are joined
    assert all((a.special, a.country, a.registered_country, a.asn) != (b.special, b.country, b.registered_country,
                                                                       b.asn) for a, b in zip(n.blocks, n.blocks[1:], strict=False))


def ipowner_int(text):
    from ipowner._addr import parse_address

    return parse_address(text)[2]


def test_special_space_is_one_block_and_not_asked_further():
    _res, n = net("10.1.0.0-10.1.2.3")
    assert [(b.first, b.last, b.special) for b in n.blocks] == [("10.1.0.0", "10.1.2.3", "private")]
    assert n.by_asn == [] and n.notes == []


@pytest.mark.parametrize("wide", ["0.0.0.0/0", "2000::/3"])
def test_wide_networks_stop_at_the_cap_and_say_so(wide, monkeypatch):
    monkeypatch.setattr(networks, "MAX_BLOCKS", 50)
    _res, n = net(wide)
    assert not n.complete and n.summarised < n.addresses
    assert len(n.blocks) <= 50
    assert any("wide network: the first 50 database blocks" in x for x in n.notes)
