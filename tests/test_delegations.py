"""The RIRs' delegation statistics: the parser and its one count rule, the registry table, the offline answers.

Synthetic files are written by the tests themselves (named ``synthetic`` and saying so in a comment line);
the real file is LACNIC's of 2026-02-12 (``tests/data/rir``, origin in ``tests/data/SOURCES.md``), and the
shipped registry table built from the real files of each registry.
"""

from __future__ import annotations

import ipaddress
import json
import lzma
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import ipowner
from ipowner.cli.commands import cli
from ipowner.datasets.delegations import (
    DelegationError,
    cidrs,
    newest_per_registry,
    parse,
    range_facts,
    read,
    read_set,
)
from ipowner.datasets.registry_table import build_table, disjoint
from ipowner.model import AddressRecord, Registration, RegistryBasis
from ipowner.reference.delegation_table import TableError, load_table, parse_table, write_table
from ipowner.reports.jurisdiction import judge

ROOT = Path(__file__).resolve().parents[1]
RIR = ROOT / "tests" / "data" / "rir"


def synthetic(registry: str, end: str, lines: list[str], *, header_records: int | None = None,
              summaries: dict[str, int] | None = None, version: str = "2") -> str:
    """A delegation file: the header, one summary per type, the records (counts right unless told otherwise)."""
    counts = {t: sum(1 for x in lines if x.split("|")[2] == t) for t in ("asn", "ipv4", "ipv6")}
    counts.update(summaries or {})
    head = ["# synthetic test data for ipowner, not a registry's file",
            f"{version}|{registry}|{end}|{header_records if header_records is not None else len(lines)}|19830101|{end}|+0000"]
    head += [f"{registry}|*|{t}|*|{n}|summary" for t, n in counts.items()]
    return "\n".join(head + lines) + "\n"


APNIC_LINES = [
    "apnic|AU|ipv4|139.130.0.0|65536|20001218|allocated",
    "apnic|JP|ipv4|10.100.0.0|768|20100101|assigned",  # 768 addresses: a /23 and a /24
    "apnic|CN|ipv6|2400:a000::|29|20090101|allocated",
    "apnic||ipv4|1.255.0.0|256||available",
    "apnic|ZZ|ipv6|2401::|32||reserved",
    "apnic|JP|asn|173|1|20020801|allocated",
]


def test_a_file_parses_into_range_facts_with_ipv4_counts_split_into_cidrs():
    f = parse(synthetic("apnic", "20260617", APNIC_LINES).encode(), "synthetic-delegated-apnic-20260617")
    assert (f.registry, f.end_date, f.extended, f.warnings) == ("APNIC", date(2026, 6, 17), False, [])
    assert f.counted == {"records": 6, "asn": 1, "ipv4": 3, "ipv6": 2}
    facts = list(range_facts(f, "delegations:apnic"))
    names = [r.name for r in facts]
    assert names == ["139.130.0.0/16", "10.100.0.0/23", "10.100.2.0/24", "2400:a000::/29", "1.255.0.0/24", "2401::/32"]
    assert all(r.registry == "APNIC" and r.source == "delegations:apnic" for r in facts)
    first = facts[0]
    assert (first.registered_country, dict((p, v) for p, v, _s in first.fields)) == (
        "AU", {"registration.status": "allocated", "registration.delegated": "2000-12-18"})
    # available and reserved space names the registry, no country
    assert [(r.registered_country, r.fields[0][1]) for r in facts[4:]] == [(None, "available"), (None, "reserved")]
    assert list(cidrs(0, 2**32 - 1, 32)) == [(0, 0)]


def test_eu_is_kept_as_the_country_and_bad_records_are_skipped_and_counted():
    lines = ["ripencc|EU|ipv4|95.101.0.0|65536|20080101|allocated",
             "ripencc|DE|ipv4|300.1.1.0|256|20080101|allocated",  # not an address
             "ripencc|DE|ipv6|2a00:1::|129|20080101|allocated",  # not a prefix length
             "ripencc|FR|ipv4|149.202.0.0|65536|19990426|assigned"]
    f = parse(synthetic("ripencc", "20140630", lines).encode(), "synthetic-delegated-ripencc-20140630")
    assert [(r.country, r.start) for r in f.records] == [("EU", int(ipaddress.IPv4Address("95.101.0.0"))),
                                                          ("FR", int(ipaddress.IPv4Address("149.202.0.0")))]
    assert f.bad == 2 and any("2 records skipped" in w for w in f.warnings)


def test_the_count_rule_a_mismatch_with_a_complete_last_line_warns_naming_both_counts():
    text = synthetic("lacnic", "20260212", APNIC_LINES[:1], header_records=3, summaries={"asn": 2})
    f = parse(text.replace("apnic", "lacnic").encode(), "synthetic-delegated-lacnic-20260212")
    assert len(f.warnings) == 1
    assert "records declared 3, read 1" in f.warnings[0] and "asn declared 2, read 0" in f.warnings[0]


def test_the_count_rule_a_truncated_file_is_refused():
    text = synthetic("apnic", "20260617", APNIC_LINES)
    with pytest.raises(DelegationError, match="truncated"):
        parse(text[:-20].encode(), "synthetic-cut")  # cut inside the last line
    with pytest.raises(DelegationError, match="truncated"):
        parse(text.rstrip("\n").encode(), "synthetic-no-final-newline")
    with pytest.raises(DelegationError, match="header"):
        parse(b"hello|world\n", "synthetic-not-stats")


def test_the_real_lacnic_2026_file_is_accepted_with_its_warning():
    f = read(RIR / "delegated-lacnic-20260212.xz")
    assert f.counted["asn"] == 14050 and f.declared["asn"] == 15570
    assert len(f.warnings) == 1 and "asn declared 15570, read 14050" in f.warnings[0]


def test_newest_per_registry_and_opaque_ids_from_the_newest_extended_file(tmp_path):
    old_ext = ["lacnic|BR|ipv4|200.1.0.0|256|20100101|allocated|opaque-1",
               "lacnic|BR|ipv4|200.2.0.0|256|20100101|allocated|opaque-2"]
    new = ["lacnic|BR|ipv4|200.1.0.0|256|20100101|allocated",
           "lacnic|AR|ipv4|200.2.0.0|256|20200101|allocated"]  # re-delegated since: the id no longer matches
    (tmp_path / "delegated-lacnic-extended-20240208").write_text(synthetic("lacnic", "20240208", old_ext))
    (tmp_path / "delegated-lacnic-20260212").write_text(synthetic("lacnic", "20260212", new))
    (tmp_path / "delegated-lacnic-20200101").write_text(synthetic("lacnic", "20200101", new))
    (tmp_path / "README.md").write_text("not a delegation file\n")
    [chosen] = newest_per_registry(tmp_path)
    assert (chosen.newest.name, chosen.extended.name) == ("delegated-lacnic-20260212", "delegated-lacnic-extended-20240208")
    f, notes = read_set(chosen)
    assert [r.opaque_id for r in f.records] == ["opaque-1", None]
    assert "opaque ids of 1 records" in notes[0]


def test_overlapping_claims_the_newer_file_wins_and_the_older_is_cut():
    # (first, last, rank, id): rank 0 is the newer file
    assert disjoint([(0, 99, 1, 1), (50, 59, 0, 2)]) == [(0, 49, 1), (50, 59, 2), (60, 99, 1)]


def test_a_table_reads_back_and_a_damaged_one_is_refused(tmp_path):
    for name, lines in (("delegated-apnic-20260617", APNIC_LINES),
                        ("delegated-ripencc-20140630", ["ripencc|FR|ipv4|149.202.0.0|65536|19990426|assigned"])):
        (tmp_path / name).write_text(synthetic(name.split("-")[1], name[-8:], lines))
    built = build_table(tmp_path)
    write_table(tmp_path / "t.tsv.xz", built.text)
    table = load_table(tmp_path / "t.tsv.xz")
    row = table.find(4, int(ipaddress.IPv4Address("149.202.95.241")))
    assert (row.file.registry, row.country, row.status, row.delegated) == ("RIPE NCC", "FR", "assigned", date(1999, 4, 26))
    assert table.find(0, 173).file.registry == "APNIC"
    assert table.find(4, int(ipaddress.IPv4Address("8.8.8.8"))) is None
    lines = built.text.split("\n")
    with pytest.raises(TableError, match="not sorted"):
        parse_table("\n".join(lines[:2] + [lines[3], lines[2]] + lines[4:]), "swapped")
    with pytest.raises(TableError, match="not an"):
        parse_table("hello\n{}\n", "junk")
    (tmp_path / "bad.tsv.xz").write_bytes(b"not xz")
    with pytest.raises(TableError):
        load_table(tmp_path / "bad.tsv.xz")


def test_the_shipped_table_is_built_from_the_real_files():
    with lzma.open(ROOT / "data" / "ipowner-delegations.tsv.xz") as f:
        assert f.readline() == b"# ipowner-delegations/1\n"
        meta = json.loads(f.readline())
    files = {f["registry"]: (f["name"], f["date"]) for f in meta["files"]}
    assert files == {"AFRINIC": ("delegated-afrinic-extended-20260821", "2026-08-21"),
                     "APNIC": ("delegated-apnic-20260617.xz", "2026-06-17"),
                     "LACNIC": ("delegated-lacnic-20260212", "2026-02-12"),
                     "RIPE NCC": ("delegated-ripencc-20140630.xz", "2014-06-30")}
    sha = {f["registry"]: f["sha256"] for f in meta["files"]}
    assert sha["APNIC"] == "8e0b6c52f19be2f965749f35ec2904e1f880523f53ade185cd5a478ded054c1d"  # the .xz in the README
    assert meta["country_registries"]["FR"] == "RIPE NCC" and "US" not in meta["country_registries"]


# ------------------------------------------------------------------------------------------ offline answers

SEED = {"139.130.4.5": ("APNIC", "2026-06-17", False), "161.117.13.29": ("APNIC", "2026-06-17", False),
        "149.202.95.241": ("RIPE NCC", "2014-06-30", True), "192.162.16.1": ("RIPE NCC", "2014-06-30", True)}


def test_offline_lookup_names_the_registry_of_each_block_with_its_basis():
    res = ipowner.lookup(list(SEED), offline=True, discover=False)
    for rec in res.records:
        registry, day, stale = SEED[rec.address]
        reg = rec.registry
        assert (reg.registry, reg.basis, reg.basis_date.date().isoformat(), reg.stale) == (
            registry, RegistryBasis.DELEGATION_STATISTICS, day, stale), rec.address
        assert reg.basis_text == f"{registry}, delegation statistics of {day}" + (", stale" if stale else "")
        assert rec.provenance["registry"] in {s.id for s in res.sources}
    by = {r.address: r.registry for r in res.records}
    assert (by["149.202.95.241"].country, by["149.202.95.241"].block) == ("DE", "149.202.0.0/16")
    assert (by["192.162.16.1"].country, by["192.162.16.1"].status) == ("RO", "assigned")


def test_offline_report_verdicts_and_every_format_carry_the_basis(tmp_path):
    listing = tmp_path / "synthetic-addresses.txt"
    listing.write_text("\n".join(SEED) + "\n")
    runner = CliRunner()
    doc = json.loads(runner.invoke(cli, ["report", str(listing), "--offline", "--format", "json"]).stdout)
    by = {d["address"]: d["jurisdiction"] for d in doc["destinations"]}
    ovh = by["149.202.95.241"]
    assert ovh["registry"] == "RIPE NCC" and ovh["registry_stale"] is True
    assert ovh["registry_evidence"] == "RIPE NCC, delegation statistics of 2014-06-30, stale"
    # the registration country from the newest dated source, the older disagreeing one beside it
    assert ovh["registered_country"] == "FR" and ovh["registered_country_other"] == (
        "DE per RIPE NCC delegation statistics of 2014-06-30, stale")
    telstra = by["139.130.4.5"]["verdict"]
    assert "APNIC registered the space (delegation statistics of 2026-06-17)" in telstra
    assert telstra.index("APNIC registered") < telstra.index("announced by AS1221")
    assert telstra.endswith("holder unknown offline (no registry answer in the RDAP cache; "
                            "`ipowner lookup 139.130.4.5` asks APNIC's RDAP service)")
    for fmt in ("table", "csv", "markdown", "html"):
        out = runner.invoke(cli, ["report", str(listing), "--offline", "--format", fmt], terminal_width=200).stdout
        assert "delegation statistics of 2026-06-17" in out, fmt
        assert "delegation statistics of 2014-06-30, stale" in out, fmt
    lookup_csv = runner.invoke(cli, ["lookup", "139.130.4.5", "--offline", "--format", "csv"]).stdout
    assert "APNIC, delegation statistics of 2026-06-17" in lookup_csv
    table = runner.invoke(cli, ["lookup", "139.130.4.5", "--offline"], terminal_width=80).stdout
    assert "APNIC, delegation statistics of 2026-06-17" in table


def test_every_ipv6_public_destination_has_a_registry():
    boot = json.loads((ROOT / "data" / "rdap-bootstrap" / "ipv6.json").read_text())
    addresses = []
    for prefixes, _urls in boot["services"]:
        for p in prefixes:
            net = ipaddress.IPv6Network(p)
            addresses += [str(net.network_address + 1), str(net.broadcast_address - 1)]
    res = ipowner.lookup(addresses, offline=True, discover=False)
    public = [r for r in res.records if r.needs_lookup]
    assert len(public) > 60
    missing = [r.address for r in public if r.registry is None]
    assert missing == []
    bases = {r.registry.basis for r in public}
    assert bases == {RegistryBasis.DELEGATION_STATISTICS, RegistryBasis.RDAP_BOOTSTRAP}
    google = next(r for r in ipowner.lookup("2001:4860:4860::8888", offline=True).records)
    assert (google.registry.registry, google.registry.basis) == ("ARIN", RegistryBasis.RDAP_BOOTSTRAP)
    # space IANA has given no registry has none, and the verdict says so rather than leaving it out
    [unallocated] = ipowner.lookup("2e00::1", offline=True, discover=False).records
    assert unallocated.registry is None
    assert "no registry: neither a delegation file nor IANA's RDAP bootstrap lists the block" in judge(
        unallocated, offline=True).verdict


def _record(address: str, country: str | None, registration: Registration) -> AddressRecord:
    rec = AddressRecord(query=address, address=address, registered_country=country)
    rec.registry = registration
    return rec


def test_an_iana_fallback_that_contradicts_the_registration_country_is_uncertain():
    legacy = Registration(registry="ARIN", basis=RegistryBasis.IANA_TABLE, block="192.0.0.0/8")
    j = judge(_record("192.0.47.1", "FR", legacy), offline=True)
    assert j.registry == "ARIN" and j.registry_basis == RegistryBasis.IANA_TABLE
    assert j.registry_uncertain is not None and "registered in FR" in j.registry_uncertain
    assert "RIPE NCC" in j.registry_uncertain and "`ipowner lookup 192.0.47.1`" in j.registry_uncertain
    assert "registry uncertain:" in j.verdict
    # registered in the US, in ARIN's /8: nothing contradicts the table
    assert judge(_record("8.8.8.8", "US", legacy), offline=True).registry_uncertain is None
    # a delegation file's answer is not a fallback
    listed = Registration(registry="RIPE NCC", basis=RegistryBasis.DELEGATION_STATISTICS, country="FR")
    assert judge(_record("149.202.95.241", "DE", listed), offline=True).registry_uncertain is None


def test_a_damaged_user_table_costs_nothing_but_a_problem_line():
    from ipowner.reference.delegation_table import user_table_path

    path = user_table_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(lzma.compress(b"# ipowner-delegations/1\n{\"files\": []}\n4|zz|1|0|x||||\n"))
    res = ipowner.lookup("139.130.4.5", offline=True, discover=False)
    assert res.records[0].registry.registry == "APNIC"  # the shipped table answered
    problems = [e.message for e in res.errors if e.kind == "database"]
    assert len(problems) == 1 and "not a table row" in problems[0] and "using the shipped registry table" in problems[0]
