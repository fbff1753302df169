"""The DuckDB engine of ``ipowner report``: millions of destinations judged in batches, rolled up in SQL.

The judgement needs each destination's full lookup record (chain, holder, sources), which the range table
does not carry, so the destinations go through the same code as the Python engine, a batch at a time:

1. ``lookup()`` of a batch's internet addresses, with providers shared by every batch (databases opened once;
   the RDAP cache read by one provider, so its counts cover the run). Online, RDAP is asked once about every
   address before the batches (one run: one deadline, one progress bar, one summary line), and the batches
   read its answers;
2. ``reports.report.ReportBuilder.judge`` on each destination, the rollup keys of ``reports.rollups.ROLLUPS``
   and the policy rules' hits, as for ``build_report``;
3. each destination's document appended to a file, and its place, rank columns (``rank_key``), counters and rollup keys spooled
   into a DuckDB database in a folder of its own, which DuckDB spills from past its memory limit;
4. the rank order, the rollups (sums per key, the label of the key's first destination in rank order, ranked
   as ``rollups.rollup`` ranks them) and the totals in SQL; the renderer writes the documents by streaming
   from the spool (``render.report_stream``).

Python holds the traffic as read, one batch of records, and per address only its location key where the
capture has a timeline for it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from ipowner.errors import InputError
from ipowner.lookups.lookup import default_chain, lookup, parse_query
from ipowner.model import AddressRecord, Destination, TrafficResult
from ipowner.model.report import PolicyHit, PolicyResult, Report, RollupRow, Totals
from ipowner.providers.base import NO_RANGES, Facts, Provider
from ipowner.providers.chain import Chain
from ipowner.providers.cloud import load_cloud_ranges
from ipowner.providers.rdap import RdapConfig, RdapProvider
from ipowner.providers.special import SpecialProvider
from ipowner.reports.policy import Rule, hits, parse_rule
from ipowner.reports.report import ProblemTally, ReportBuilder, rank_key
from ipowner.reports.rollups import ROLLUPS

AUTO_FROM = 200_000  # destinations from which `--engine auto` picks DuckDB (when the format is one it writes)
DEFAULT_MEMORY = "512MB"  # DuckDB's memory limit unless told otherwise
BATCH = 10_000  # destinations judged per batch: the records Python holds at once
FORMATS = ("json", "jsonl")
DOCS_FILE = "destinations.spool"  # the destinations' documents, one after another, in the spool's folder  # what the engine's documents are written as (render.report_stream)

_INT64 = 1 << 63
# build_report's rank order (reports.report.rank_key, then the traffic's order, as a stable sort keeps it).
_RANK = "nonnet, nbs, nbr, ver, ipint, addr, idx"


class _Asked(Provider):
    """The RDAP provider asked once about every address of the report; each batch reads its answers."""

    name = "rdap"
    problem_kind = RdapProvider.problem_kind

    def __init__(self, inner: RdapProvider, asked: Any) -> None:
        self.inner = inner
        self._facts = inner.facts_many(asked)
        self._row = {text: i for i, text in enumerate(asked.texts)}

    def sources(self) -> list[Any]:
        return self.inner.sources()

    def facts_many(self, addresses: Any) -> Facts:
        out = Facts()
        got, errors = self._facts.ranges, self._facts.errors
        for j, text in enumerate(addresses.texts):
            i = self._row.get(text)
            if i is None:  # not among the report's addresses: asked now, as a lookup would
                one = self.inner.facts_many(type(addresses)([text], [addresses.versions[j]], [addresses.values[j]]))
                out.ranges.append(one.ranges[0] if len(one) else NO_RANGES)
                if one.errors.get(0):
                    out.errors[j] = one.errors[0]
                continue
            out.ranges.append(got[i])
            if i in errors:
                out.errors[j] = errors[i]
        return out

    @property
    def problems(self) -> list[str]:
        return self.inner.problems

    @property
    def stats(self) -> Any:
        return self.inner.stats

    def close(self) -> None:
        self.inner.close()


class SpooledReport:
    """A report whose destinations, policy hits and rollup keys are in a DuckDB spool.

    ``head``: the report without destinations and rollups (provenance, warnings, timelines, policy);
    ``totals``; ``destination_texts()`` the destinations' documents in rank order as encoded when spooled;
    ``rollup_rows(group)`` each rollup's rows in order. Close it (or use ``with``) to remove the spool.
    """

    def __init__(self, head: Report, totals: Totals, con: Any, folder: Path) -> None:
        self.head = head
        self.totals = totals
        self._con = con
        self._folder = folder

    groups = tuple(ROLLUPS)

    def destination_texts(self, chunk: int = 2048) -> Iterator[str]:
        # Only the documents' places are sorted (DuckDB's sort of wide rows needs memory near their size);
        # the texts are read back from the document file in rank order.
        reader = _batches(self._con, f"SELECT doff, dlen FROM dest ORDER BY {_RANK}", None, chunk)
        with open(self._folder / DOCS_FILE, "rb") as f:
            fd = f.fileno()
            for batch in reader:
                for off, n in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                    yield os.pread(fd, n, off).decode("utf-8")

    def rollup_rows(self, group: str, chunk: int = 2048) -> Iterator[RollupRow]:
        gi = self.groups.index(group)
        # rollups.rollup's order: bytes sent, then received, both down; the unknown key last among equals; key.
        reader = _batches(self._con, """SELECT k.key, arg_min(k.label, d.rank), sum(d.bs), sum(d.br), sum(d.flows), count(*)
               FROM keys k JOIN ranked d USING (idx) WHERE k.grp = ?
               GROUP BY k.key ORDER BY 3 DESC, 4 DESC, k.key = ''::BLOB, k.key""", [gi], chunk)
        for batch in reader:
            for key, label, bs, br, flows, n in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                row = RollupRow(key=_text(key), label=_text(label), destinations=int(n))
                row.bytes_sent, row.bytes_received, row.flows = int(bs), int(br), int(flows)
                yield row

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> SpooledReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _batches(con: Any, query: str, params: list[Any] | None, chunk: int) -> Any:
    """A query's rows as Arrow record batches, streamed (DuckDB 2 names it ``to_arrow_reader``)."""
    rel = con.sql(query, params=params)
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    return reader(chunk)


def _blob(text: str) -> bytes:
    # Bytes of UTF-8 compare as the code points do, which is how Python orders the keys; surrogatepass keeps a
    # lone surrogate of a hostile name in its place instead of failing.
    return text.encode("utf-8", "surrogatepass")


def _text(blob: bytes) -> str:
    return blob.decode("utf-8", "surrogatepass")


def _count(n: int, what: str) -> int:
    if not -_INT64 <= n < _INT64:
        raise InputError("traffic", f"a destination's {what} ({n}) is past what the DuckDB engine sums (2^63)")
    return n


def spool_report(
    traffic: TrafficResult,
    *,
    encode: Callable[[dict[str, Any]], str],
    offline: bool = False,
    mmdb: Sequence[str | Path] = (),
    use_embedded: bool = True,
    discover: bool = True,
    cloud_ranges: Sequence[str | Path] = (),
    fail_on: Sequence[Rule | str] = (),
    command_line: list[str] | None = None,
    providers: Sequence[Provider] | None = None,
    rdap: bool = True,
    rdap_config: RdapConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    memory_limit: str = DEFAULT_MEMORY,
    temp_dir: str | Path | None = None,
    batch: int = BATCH,
) -> SpooledReport:
    """The report of ``traffic`` as ``reports.report.report`` makes it, spooled in DuckDB.

    Options as for ``report()``; ``encode`` turns a destination's ``to_dict()`` into the text the writer
    copies (``render.report_stream.encoder``). ``traffic.destinations`` is consumed (emptied as the batches
    go). ``memory_limit``: DuckDB's (``"512MB"``); ``temp_dir``: where the spool and DuckDB's spill files
    go (default: the system's temporary folder).
    """
    from ipowner.engines.extra import require_scale

    require_scale("the duckdb report engine")
    import duckdb
    import pyarrow as pa

    rules = [r if isinstance(r, Rule) else parse_rule(r) for r in fail_on]
    folder = Path(tempfile.mkdtemp(prefix="ipowner-report-", dir=temp_dir))
    con: Any = None
    ranges = load_cloud_ranges(cloud_ranges, snapshot=True)
    chain: Chain | None = None
    try:
        con = duckdb.connect(str(folder / "spool.duckdb"), config={
            "memory_limit": memory_limit, "temp_directory": str(folder / "spill")})
        con.execute("""CREATE TABLE dest (idx BIGINT, nonnet BOOLEAN, nbs BIGINT, nbr BIGINT, ver TINYINT,
                       ipint BLOB, addr BLOB, bs BIGINT, br BIGINT, flows BIGINT, doff BIGINT, dlen BIGINT, hits VARCHAR)""")
        con.execute("CREATE TABLE keys (idx BIGINT, grp TINYINT, key BLOB, label BLOB)")

        pending = deque(traffic.destinations)
        traffic.destinations = []
        any_wanted = any(d.scope == "internet" for d in pending)
        shared: Sequence[Provider] | None = providers
        if any_wanted and providers is None:
            chain = default_chain(mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap_config=rdap_config,
                                  online=not offline and rdap, progress=progress, cloud_ranges=cloud_ranges)
            if not offline and rdap:
                _ask_rdap_once(chain, [d.address for d in pending if d.scope == "internet"])
            shared = chain.providers
        tally = ProblemTally()
        setup = [m for _kind, m in chain.problems()] if chain is not None else []
        builder = ReportBuilder(cloud_ranges=ranges, offline=offline, timeline=traffic.timeline)
        spool = _Spool(con, pa, builder, rules, encode, folder / DOCS_FILE)
        # An address seen more than once (an internet destination and a LAN peer of two inputs, say) has one
        # record, as in build_report's table by address: looked up once, kept, and the peers judged at the end.
        texts = sorted(d.address for d in pending)
        dup = {a for a, b in zip(texts, texts[1:], strict=False) if a == b}
        del texts
        kept: dict[str, AddressRecord] = {}
        deferred: list[tuple[int, Destination]] = []
        idx = 0
        while pending:
            part = [pending.popleft() for _ in range(min(batch, len(pending)))]
            wanted = [d.address for d in part if d.scope == "internet" and d.address not in kept]
            records: dict[str, AddressRecord] = {}
            if wanted:
                lr = lookup(wanted, offline=offline, providers=shared, rdap=rdap, rdap_config=rdap_config,
                            progress=progress, cloud_ranges=cloud_ranges)
                records = {r.address: r for r in lr.records}
                kept.update((a, r) for a, r in records.items() if a in dup)
                builder.add_sources(lr.sources)
                tally.add(lr)
            now_judged: list[tuple[int, Destination]] = []
            for d in part:
                if d.scope != "internet" and d.address in dup:
                    deferred.append((idx, d))
                else:
                    now_judged.append((idx, d))
                idx += 1
            spool.add(now_judged, partial(_either, records, kept))
            del part, records, now_judged
        spool.add(deferred, kept.get)
        spool.close()

        problems = list(dict.fromkeys([*setup, *tally.warnings()]))
        head = builder.head(traffic, command_line=command_line, now=now, warnings=problems)
        head.partial = head.partial or bool(problems)
        con.execute(f"""CREATE TABLE ranked AS SELECT idx, row_number() OVER (ORDER BY {_RANK}) AS rank, bs, br, flows
                        FROM dest WHERE NOT nonnet""")
        if rules:
            policy = PolicyResult(rules=[str(r) for r in rules])
            rows = con.execute(f"SELECT hits FROM dest WHERE hits IS NOT NULL ORDER BY {_RANK}").fetchall()
            for (text,) in rows:
                policy.offending += json.loads(text)
            head.policy = policy
        n, bs, br, flows = con.execute(
            "SELECT count(*), coalesce(sum(bs), 0), coalesce(sum(br), 0), coalesce(sum(flows), 0) "
            "FROM dest WHERE NOT nonnet").fetchall()[0]
        totals: Totals = {"destinations": int(n), "bytes_sent": int(bs), "bytes_received": int(br),
                          "flows": int(flows)}
    except BaseException:
        if con is not None:
            con.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        ranges.close()
        if chain is not None:
            chain.close()
    return SpooledReport(head, totals, con, folder)


def _either(first: dict[str, AddressRecord], then: dict[str, AddressRecord], address: str) -> AddressRecord | None:
    return first.get(address) or then.get(address)


class _Spool:
    """Destinations judged and written to the spool's tables, a batch at a time."""

    def __init__(self, con: Any, pa: Any, builder: ReportBuilder, rules: list[Rule],
                 encode: Callable[[dict[str, Any]], str], docs: Path) -> None:
        self.con, self.pa, self.builder, self.rules, self.encode = con, pa, builder, rules, encode
        self.docs = open(docs, "wb")  # noqa: SIM115 (closed by close())
        self.offset = 0

    def close(self) -> None:
        self.docs.close()

    def add(self, part: list[tuple[int, Destination]], record_of: Callable[[str], AddressRecord | None]) -> None:
        cols: dict[str, list[Any]] = {c: [] for c in (
            "idx", "nonnet", "nbs", "nbr", "ver", "ipint", "addr", "bs", "br", "flows", "doff", "dlen", "hits")}
        keys: dict[str, list[Any]] = {"idx": [], "grp": [], "key": [], "label": []}
        rules, encode = self.rules, self.encode
        for idx, d in part:
            dr = self.builder.judge(d, record_of(d.address))
            nonnet, nbs, nbr, (ver, ipint), addr = rank_key(dr)
            internet = not nonnet
            got: list[PolicyHit] = hits(dr, rules) if rules and internet else []
            doc = encode(dr.to_dict()).encode("utf-8")
            self.docs.write(doc)
            for c, v in (("idx", idx), ("nonnet", nonnet), ("nbs", _count(nbs, "byte count")),
                         ("nbr", _count(nbr, "byte count")), ("ver", ver), ("ipint", ipint.to_bytes(16, "big")),
                         ("addr", _blob(addr)), ("bs", -nbs), ("br", -nbr), ("flows", _count(dr.flows, "flows")),
                         ("doff", self.offset), ("dlen", len(doc)), ("hits", json.dumps(got) if got else None)):
                cols[c].append(v)
            self.offset += len(doc)
            if internet:
                for gi, keys_of in enumerate(ROLLUPS.values()):
                    for key, label in keys_of(dr):
                        keys["idx"].append(idx)
                        keys["grp"].append(gi)
                        keys["key"].append(_blob(key))
                        keys["label"].append(_blob(label))
        self._append("dest", cols)
        self._append("keys", keys)

    def _append(self, table: str, cols: dict[str, list[Any]]) -> None:
        if not cols["idx"]:
            return
        self.con.register("batch_rows", self.pa.table(cols))
        try:
            self.con.execute(f"INSERT INTO {table} SELECT {', '.join(cols)} FROM batch_rows")  # noqa: S608 (our names)
        finally:
            self.con.unregister("batch_rows")


def _ask_rdap_once(chain: Chain, wanted: list[str]) -> None:
    """Online: the chain's RDAP provider asked about every address now (as one lookup would ask it), and
    replaced by ``_Asked``, which hands each batch its part of the answers."""
    at = next((i for i, p in enumerate(chain.providers) if isinstance(p, RdapProvider)), None)
    if at is None:
        return
    inner = chain.providers[at]
    assert isinstance(inner, RdapProvider)
    from ipowner._addr import Addresses
    from ipowner.errors import InvalidAddressError

    parsed = Addresses()
    for text in wanted:
        try:
            p = parse_query(text)
        except InvalidAddressError:
            continue
        if p.parsed is not None:
            parsed.append(p.parsed)
    if not parsed:
        return
    special = SpecialProvider()
    try:
        asked = special.classify_many(parsed).asked
    finally:
        special.close()
    if len(asked):  # none: a single lookup would not ask RDAP either
        chain.providers[at] = _Asked(inner, asked)


__all__ = ["AUTO_FROM", "BATCH", "DEFAULT_MEMORY", "FORMATS", "SpooledReport", "spool_report"]
