"""Logs as analysts have them: PCAPdroid's DNS rows, generic CSV byte columns under their usual names,
and missing files raised as ``FileNotFoundError`` by the library (issue 14, items 5 and 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import ipowner
from ipowner.capture.traffic import traffic
from ipowner.cli import cli
from ipowner.cli._common import run_guarded
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands
from ipowner.errors import InputError, InputNotFoundError

DATA = Path(__file__).parent / "data" / "traffic"


def _dest(res, address):
    return next(d for d in res.destinations if d.address == address)


# -- PCAPdroid: a DNS row's name is the query, not the resolver's name --------------------------------------

def test_pcapdroid_dns_row_name_is_not_given_to_the_resolver():
    res = traffic([DATA / "synthetic-pcapdroid-connections.csv"])
    resolver = _dest(res, "203.0.113.53")
    assert resolver.hostnames == []
    assert (resolver.bytes_sent, resolver.bytes_received, resolver.ports) == (75, 120, ["udp/53"])
    # The connection to the answer carries the name in its own Info column.
    assert [h.name for h in _dest(res, "198.51.100.7").hostnames] == ["www.example.com"]


def test_pcapdroid_only_query_protocols_lose_the_name(tmp_path):
    p = tmp_path / "synthetic-pcapdroid-mixed.csv"
    p.write_text(
        "IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,"
        "PktsSent,PktsRcvd,FirstSeen,LastSeen\n"
        "17,192.0.2.10,40000,8.8.8.8,53,10123,Example,org.example,DNS,Closed,www.youtube.com,70,90,1,1,"
        "1700000000001,1700000000050\n"
        "6,192.0.2.10,40001,8.8.8.8,443,10123,Example,org.example,TLS,Closed,dns.google,500,900,4,5,"
        "1700000000100,1700000000500\n"
    )
    res = traffic([p])
    assert res.inputs[0].format == "pcapdroid-csv"
    assert [h.name for h in _dest(res, "8.8.8.8").hostnames] == ["dns.google"]


# -- generic CSV: byte columns by their usual names, and a word when there is none ---------------------------

@pytest.mark.parametrize(("sent", "received"), [
    ("out", "in"), ("bytes_out", "bytes_in"), ("orig_bytes", "resp_bytes"), ("sent", "received"),
    ("Tx", "Rx"), ("upload", "download"),
])
def test_generic_csv_byte_column_aliases(tmp_path, sent, received):
    p = tmp_path / "flows.csv"
    p.write_text(f"dst_ip,dst_port,{sent},{received}\n198.51.100.9,443,100,2000\n198.51.100.9,443,5,7\n")
    res = traffic([p])
    d = _dest(res, "198.51.100.9")
    assert (d.ip_bytes_sent, d.ip_bytes_received) == (105, 2007)
    assert res.inputs[0].warnings == []


def test_generic_csv_prefers_ip_level_bytes_over_payload_bytes(tmp_path):
    p = tmp_path / "conn.csv"
    p.write_text("id.resp_h,orig_bytes,orig_ip_bytes,resp_bytes,resp_ip_bytes\n198.51.100.9,10,60,20,80\n")
    d = _dest(traffic([p]), "198.51.100.9")
    assert (d.ip_bytes_sent, d.ip_bytes_received) == (60, 80)


def test_generic_csv_without_byte_columns_says_so_once(tmp_path):
    p = tmp_path / "flows.csv"
    p.write_text("dst_ip,octets_a,octets_b\n198.51.100.9,100,2000\n198.51.100.10,1,2\n")
    res = traffic([p])
    warnings = res.inputs[0].warnings
    assert len(warnings) == 1
    w = warnings[0]
    assert "no byte-count column recognised" in w and "address=dst_ip" in w and "octets_a, octets_b" in w
    assert "--column bytes_sent=NAME" in w
    assert not res.partial  # every row was read


def test_a_plain_address_list_csv_has_nothing_to_warn_about(tmp_path):
    p = tmp_path / "ips.csv"
    p.write_text("ip\n198.51.100.9\n198.51.100.10\n")
    res = traffic([p])
    assert res.inputs[0].warnings == [] and len(res.destinations) == 2


def test_columns_named_on_the_command_line_are_not_second_guessed(tmp_path):
    p = tmp_path / "flows.csv"
    p.write_text("remote,other\n198.51.100.9,3\n")
    res = traffic([p], columns={"address": "remote"})
    assert res.inputs[0].warnings == []


# -- missing files: FileNotFoundError from the library, one line and exit 1 from the command line ------------

@pytest.mark.parametrize("call", [
    lambda p: ipowner.traffic([p]),
    lambda p: ipowner.report([p], offline=True),
    lambda p: ipowner.read_document(p),
    lambda p: ipowner.lookup("8.8.8.8", offline=True, cloud_ranges=[p]),
])
def test_library_raises_file_not_found(tmp_path, call):
    missing = tmp_path / "missing.pcap"
    with pytest.raises(FileNotFoundError) as info:
        call(missing)
    err = info.value
    assert isinstance(err, InputNotFoundError) and isinstance(err, InputError)
    assert err.filename == str(missing) and err.errno == 2
    assert str(err) == f"{missing}: no such file"


def test_a_missing_file_among_several_reads_none(tmp_path):
    good = tmp_path / "ips.txt"
    good.write_text("198.51.100.9\n")
    with pytest.raises(FileNotFoundError):
        ipowner.traffic([good, tmp_path / "missing.log"])


def test_cli_missing_input_is_one_line_exit_1(tmp_path, capsys):
    missing = tmp_path / "missing.pcap"
    for cmd in (["traffic"], ["report", "--offline"], ["diff", "--offline"]):
        extra = [str(missing)] if cmd[0] == "diff" else []
        assert run_guarded(cli, [*cmd, str(missing), *extra]) == 1
        out = capsys.readouterr()
        assert out.err.strip() == f"ipowner: {missing}: no such file" and "Traceback" not in out.err


def test_stdin_is_not_a_missing_file():
    r = CliRunner().invoke(cli, ["traffic", "--format", "json", "-"], input="198.51.100.9\n")
    assert r.exit_code == 0, r.output
    assert [d["address"] for d in json.loads(r.stdout)["destinations"]] == ["198.51.100.9"]


def test_generic_csv_names_the_columns_it_read_and_those_it_ignored(tmp_path):
    p = tmp_path / "flows.csv"
    p.write_text("dst_ip,out,in,vlan,comment\n198.51.100.9,100,2000,7,x\n")
    res = traffic([p])
    d = _dest(res, "198.51.100.9")
    assert (d.ip_bytes_sent, d.ip_bytes_received) == (100, 2000)
    [w] = res.inputs[0].warnings
    assert "columns read: address=dst_ip, bytes_sent=out, bytes_received=in" in w and "ignored: vlan, comment" in w
    assert not res.inputs[0].partial  # a note, not a reading problem
    p.write_text("dst_ip,out,in\n198.51.100.9,100,2000\n")  # every column read: nothing to say
    assert traffic([p]).inputs[0].warnings == []
