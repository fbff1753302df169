"""``LookupView``: a lookup for the terminal: a card for one address, a table for many, a summary per network.

One address gets a card, each fact with its source and date; laid out for 80 columns and up: below
``SIDE_BY_SIDE`` columns a fact's source is shown on a dim line under its value instead of in a column of
its own, so a long source name never squeezes the value. Several addresses get one row each (``-v``: a
card each), in the house's stacked layout: address, location, registration country and AS on the first
line, the rest (AS name, holder, special-purpose block, errors) on detail lines. A network (CIDR or range)
gets its registry objects, its addresses by AS, location and registration country, and its blocks.

Every untrusted string (hostnames, AS names, city names, database metadata) goes through
``terminal_safe`` and is placed as plain ``Text``, so neither control sequences nor rich markup in the
data can act on the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ipowner.model import AddressRecord, SourceInfo
from ipowner.render.escape import terminal_safe
from ipowner.render.terminal._console import Col, detail, emit, safe, stacked, title
from ipowner.reports.freshness import age_text
from ipowner.reports.jurisdiction import CLOUD_TRAITS, cloud_from_record, cloud_phrase

if TYPE_CHECKING:
    from ipowner.model.lookup import LookupResult, NetworkSummary, NetworkTally, RdapRun

_NONE = "—"


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).date().isoformat() if value else "date unknown"


def _age(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "age unknown"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = (now - value).total_seconds()
    if seconds < -86400:
        return "dated in the future"
    days = seconds / 86400
    if days < 1:
        return "today"
    return f"{age_text(days)} old"


def _source_of(rec: AddressRecord, *paths: str) -> SourceInfo | None:
    """The source of the first of ``paths`` that has provenance (exact path, then any sub-field)."""
    for path in paths:
        sid = rec.provenance.get(path)
        if sid is None:
            sid = next((v for k, v in sorted(rec.provenance.items()) if k.startswith(path + ".")), None)
        if sid is not None:
            return rec.sources.get(sid)
    return None


def _src_text(source: SourceInfo | None) -> Text:
    if source is None:
        return Text("")
    return Text(f"{terminal_safe(source.id, 60)} · {_day(source.date)}", style="dim")


def _special_text(special: Any) -> Text:
    t = Text(terminal_safe(special.label), style="bold yellow")
    t.append(f"  {terminal_safe(special.name)} ({terminal_safe(special.prefix)})")
    if special.rfc:
        t.append(f" {terminal_safe(special.rfc)}", style="dim")
    return t


def _ownership(rec: AddressRecord, add: Any, rdap: RdapRun | None) -> None:
    """Holder, its country, the registry chain, the network and the abuse contact (from RDAP)."""
    h = rec.holder
    if h is not None:
        if h.name or h.handle:
            t = Text(terminal_safe(h.name or h.handle), style="bold")
            if h.name and h.handle:
                t.append(f"  {terminal_safe(h.handle)}", style="dim")
            label = f"inferred from {h.rule}" if h.inferred else (f"rule: {h.rule}" if h.rule else "")
            if label:
                t.append(f"  ({terminal_safe(label)})", style="yellow" if h.inferred else "dim")
        else:
            t = Text("unknown", style="dim")
        if h.reason:
            t.append(f"\n{terminal_safe(h.reason)}", style="dim")
        add("holder", t, "holder")
        if h.country:
            add("holder country", Text(terminal_safe(h.country)).append(
                f"  ({terminal_safe(h.country_basis or 'basis unknown')})", style="dim"), "holder")
    elif rec.needs_lookup and rdap is not None and rdap.offline:
        who = f"{rec.registry.registry}'s RDAP service" if rec.registry is not None else "the registries"
        add("holder", Text("not looked up: not in the RDAP cache (offline, no query made); "
                           f"`ipowner lookup {terminal_safe(rec.attributed)}` asks {terminal_safe(who)}", style="dim"))
    if rec.registry_chain:
        chain = Text()
        for i, link in enumerate(rec.registry_chain):
            if i:
                chain.append(" > ", style="dim")
            chain.append(terminal_safe(link.name or link.handle or "?"), style="bold" if link.role in ("holder", "sub-assignment") else "")
            if link.role in ("nir", "sub-assignment"):
                chain.append(f" ({terminal_safe(link.role)})", style="dim")
        add("registry chain", chain, "registry_chain")
    reg = rec.registry
    if reg is not None and not rec.registry_chain:
        t = Text(terminal_safe(reg.registry), style="bold")
        listed = ", ".join(terminal_safe(x) for x in (
            reg.status, f"delegated {_day(reg.delegated)}" if reg.delegated else None, reg.country,
            reg.block, f"id {reg.opaque_id}" if reg.opaque_id else None) if x)
        if listed:
            t.append(f"  {listed}")
        t.append(f"\n{terminal_safe(reg.basis_text)}", style="yellow" if reg.stale else "dim")
        add("registry", t, "registry")
    n = rec.network
    if n is not None:
        t = Text(f"{terminal_safe(n.start)} - {terminal_safe(n.end)}")
        if n.cidrs:
            t.append(f"  ({terminal_safe(', '.join(n.cidrs[:4]))}{', ...' if len(n.cidrs) > 4 else ''})", style="dim")
        detail = " ".join(terminal_safe(x) for x in (n.handle, n.name, n.type) if x)
        if detail:
            t.append(f"\n{detail}", style="dim")
        add("network", t, "network")
    if rec.abuse is not None and (rec.abuse.email or rec.abuse.phone):
        add("abuse", rec.abuse.email or rec.abuse.phone, "abuse")


# From this width on, a fact's source has a column of its own; below it, a line under the value.
SIDE_BY_SIDE = 110


def _record_panel(rec: AddressRecord, rdap: RdapRun | None = None, width: int = SIDE_BY_SIDE) -> Panel:
    side = width >= SIDE_BY_SIDE
    rows = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    rows.add_column("field", style="bold", no_wrap=True)
    rows.add_column("value", overflow="fold")
    if side:
        rows.add_column("source", no_wrap=True)

    def add(label: str, value: Text | str | None, *paths: str) -> None:
        if value is None or value == "":
            return
        text = value if isinstance(value, Text) else Text(terminal_safe(value))
        src = _src_text(_source_of(rec, *paths)) if paths else Text("")
        if side:
            rows.add_row(label, text, src)
        else:
            rows.add_row(label, text + Text("\n") + src if src.plain else text)

    add("address", rec.address)
    if rec.resolution is not None:
        add("resolved", f"{rec.resolution.hostname} -> {', '.join(rec.resolution.answers)}", "resolution")
    add("special", _special_text(rec.special) if rec.special else Text(_NONE, style="dim"), "special")
    lt = rec.looked_through
    if lt is not None:
        if lt.teredo_server:
            t = Text(f"client {terminal_safe(lt.ipv4)} (attributed), server {terminal_safe(lt.teredo_server)}")
        else:
            t = Text(f"{terminal_safe(lt.ipv4)} (attributed)")
        t.append(f" via {terminal_safe(lt.mechanism)} {terminal_safe(lt.prefix)}", style="dim")
        add("looks through", t, "looked_through")
        if lt.special is not None:
            add("  IPv4 is", _special_text(lt.special), "looked_through")
    loc = rec.location
    if loc.country or loc.represented_country or loc.city or loc.is_anycast:
        add("location", loc.country or Text("unknown", style="dim"), "location.country")
        if loc.represented_country:
            add("represents", loc.represented_country, "location.represented_country")
        place = ", ".join(terminal_safe(p) for p in (loc.city, loc.subdivision) if p)
        if place:
            add("city", place, "location.city", "location.subdivision")
        if loc.accuracy_km is not None:
            add("accuracy", f"{loc.accuracy_km} km radius", "location.accuracy_km")
        if loc.is_anycast:
            add("anycast", Text("yes: the address is served from many places", style="yellow"), "location.is_anycast")
    elif rec.needs_lookup:
        add("location", Text("unknown", style="dim"))
    add("registered", rec.registered_country, "registered_country")
    if rec.asn is not None and (rec.asn.number is not None or rec.asn.name):
        t = Text(f"AS{rec.asn.number}" if rec.asn.number is not None else "AS?", style="bold")
        if rec.asn.name:
            t.append(f"  {terminal_safe(rec.asn.name)}")
        add("origin AS", t, "asn.number", "asn.name", "asn")
        add("prefix", rec.asn.network, "asn.network")
    elif rec.needs_lookup:
        add("origin AS", Text("unknown", style="dim"))
    _ownership(rec, add, rdap)
    cloud = cloud_from_record(rec)
    if cloud is not None:
        who = f"{cloud.company} ({cloud.country})" if cloud.country else cloud.company
        add("cloud", f"{who}: {cloud_phrase(cloud)}", "traits.cloud_provider")
    for key, value in sorted(rec.traits.items()):
        if cloud is not None and key in CLOUD_TRAITS:
            continue
        add(terminal_safe(key, 40), terminal_safe(value), f"traits.{key}")
    for message in rec.errors:
        rows.add_row(Text("error", style="bold red"), Text(terminal_safe(message), style="red"), *([Text("")] if side else []))

    title = Text(terminal_safe(rec.query, 120), style="bold")
    if rec.query != rec.address:
        title.append(f"  {terminal_safe(rec.address)}", style="cyan")
    return Panel(rows, title=title, title_align="left", box=box.ROUNDED, expand=True)


def sources_footer(sources: list[SourceInfo], now: datetime | None = None) -> Group:
    """Every source used, one line each with its date, age and licence, then the credits their data requires."""
    now = now or datetime.now(UTC)
    grid = Table.grid(padding=(0, 2, 0, 2), expand=True)
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(ratio=1, overflow="fold")
    credits: dict[str, None] = {}
    for s in sources:
        line = Text(f"{terminal_safe(s.name)}; {_day(s.date)} ({_age(s.date, now)})")
        if s.licence:
            line.append(f"; {terminal_safe(s.licence)}")
        grid.add_row(Text(terminal_safe(s.id, 60)), line)
        # A combined database's credit joins its inputs' credits with "; ": show each once.
        for part in (s.credit or "").split("; "):
            if part.strip():
                credits.setdefault(part.strip(), None)
    parts: list[RenderableType] = [Text("Sources", style="bold"), grid]
    if credits:
        parts.append(Text("Credits", style="bold"))
        parts += [Padding(Text(terminal_safe(c)), (0, 0, 0, 2)) for c in credits]
    return Group(*parts)


def _as_cell(number: int | None, name: str | None) -> Text:
    """AS number and name in the column that folds: the name wraps at spaces, the number never."""
    if number is None and not name:
        return Text("-", style="dim")
    out = Text(f"AS{number}" if number is not None else "AS?")
    if name:
        out.append(f" {terminal_safe(name)}")
    return out


def _as_text(rec: AddressRecord) -> Text:
    return _as_cell(rec.asn.number, rec.asn.name) if rec.asn is not None else _as_cell(None, None)


def _not_cached(rec: AddressRecord, rdap: RdapRun | None) -> bool:
    return rec.holder is None and rec.needs_lookup and rdap is not None and rdap.offline


def _location_text(rec: AddressRecord) -> Text:
    if rec.special is not None:
        return Text(terminal_safe(rec.special.label), style="yellow")
    country = rec.location.country
    text = Text(terminal_safe(country)) if country else Text("-", style="dim")
    if rec.location.is_anycast:
        text.append(" anycast", style="yellow")
    return text


def _registry_cell(rec: AddressRecord) -> Text:
    """The RIR (and NIR) from the registry chain when RDAP answered, else the block's registry offline."""
    names = [link.name for link in rec.registry_chain if link.role in ("rir", "nir") and link.name]
    if names:
        return safe(" > ".join(names))
    if rec.registry is not None:
        return safe(rec.registry.registry)
    return Text("-", style="dim")


def _row_details(rec: AddressRecord, rdap: RdapRun | None) -> list[Text]:
    lines: list[Text] = []
    parts: list[tuple[str, Text | str | None]] = []
    if rec.query != rec.address:
        parts.append(("query", safe(rec.query, 200)))
    if rec.special is not None:
        lines.append(detail(("special", safe(f"{rec.special.name} ({rec.special.prefix})"))))
    lt = rec.looked_through
    if lt is not None:
        via = f"{lt.ipv4}{f' ({lt.special.label})' if lt.special is not None else ''} via {lt.mechanism} {lt.prefix}"
        if lt.teredo_server:
            via += f", server {lt.teredo_server}"
        lines.append(detail(("looks through to", safe(via))))
    if rec.asn is not None and rec.asn.network:
        parts.append(("prefix", safe(rec.asn.network)))
    if rec.location.city:
        parts.append(("city", safe(rec.location.city)))
    reg = rec.registry
    if reg is not None and not rec.registry_chain:  # the registry offline, with its basis and date
        parts.append(("registry", Text(terminal_safe(reg.basis_text), style="yellow" if reg.stale else "")))
    if parts:
        lines.insert(0, detail(*parts))  # the query as given and the prefix first, then the special block
    h = rec.holder
    if h is not None and (h.name or h.handle):
        who = safe(h.name or h.handle)
        if h.inferred:
            who.append(f" (inferred from {terminal_safe(h.rule or '?')})", style="yellow")
        chain = " > ".join(
            terminal_safe(link.name or link.handle or "?") + (f" ({link.role})" if link.role in ("nir", "sub-assignment") else "")
            for link in rec.registry_chain)
        lines.append(detail(("holder", who), ("holder country", safe(h.country) if h.country else None),
                            ("chain", Text(chain) if chain else None)))
    cloud = cloud_from_record(rec)
    if cloud is not None:
        lines.append(detail(("cloud", safe(cloud_phrase(cloud), 300))))
    lines += [Text(terminal_safe(m), style="red") for m in rec.errors]
    return lines


def records_table(records: list[AddressRecord], rdap: RdapRun | None) -> RenderableType:
    """One row per address: the short facts on the first line, the long ones below."""
    cols = [Col("address"), Col("location"), Col("registered"), Col("registry"), Col("AS", grows=True)]
    rows = [([safe(r.address), _location_text(r), safe(r.registered_country), _registry_cell(r), _as_text(r)],
             _row_details(r, rdap)) for r in records]
    table = stacked(cols, rows, indent=2)
    missing = sum(1 for r in records if _not_cached(r, rdap))
    if not missing:
        return table
    return Group(table, Text(f"holder: {missing} of {len(records)} addresses not in the RDAP cache (offline, no "
                             "query made; look them up online once)", style="dim"))


# Blocks of a network listed in the terminal (all are in JSON); tallies shown per kind.
SHOWN_BLOCKS = 20
SHOWN_TALLIES = 8


def _share(part: int, whole: int) -> str:
    if whole <= 0:
        return ""
    pct = 100 * part / whole
    return f"{pct:.0f}%" if pct >= 1 or pct == 0 else "<1%"


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"2^{n.bit_length() - 1}+"


def _tallies(label: str, tallies: list[NetworkTally], whole: int) -> Text:
    out = Text(f"{label}: ", style="bold")
    for i, t in enumerate(tallies[:SHOWN_TALLIES]):
        if i:
            out.append("; ", style="dim")
        out.append(terminal_safe(t.key) if t.key else "unknown", style="" if t.key else "dim")
        if t.name:
            out.append(f" {terminal_safe(t.name, 80)}")
        out.append(f" {_count(t.addresses)} ({_share(t.addresses, whole)})", style="dim")
    if len(tallies) > SHOWN_TALLIES:
        out.append(f"; +{len(tallies) - SHOWN_TALLIES} more in JSON", style="dim")
    return out


def network_view(net: NetworkSummary, verbose: bool = False) -> Group:
    """A network's summary: registry objects, addresses by AS, location and registration, then its blocks."""
    parts: list[RenderableType] = []
    head = Text(terminal_safe(net.network, 120), style="bold cyan")
    if net.query != net.network:
        head.append(f"  (as given: {terminal_safe(net.query, 120)})", style="dim")
    head.append(f"  {_count(net.addresses)} IPv{net.version} addresses", style="dim")
    parts.append(head)
    for n in net.notes:
        parts.append(Padding(Text(terminal_safe(n), style="yellow"), (0, 0, 0, 2)))
    if net.registry_objects:
        for o in net.registry_objects:
            t = Text("registry object: ", style="bold")
            t.append(terminal_safe(o.holder or o.name or o.handle or "unnamed"))
            if o.holder_country:
                t.append(f" ({terminal_safe(o.holder_country)})")
            t.append(f"  {terminal_safe(o.first)} - {terminal_safe(o.last)}", style="dim")
            extra = " ".join(terminal_safe(x) for x in (o.handle, o.registry) if x)
            if extra:
                t.append(f"  {extra}", style="dim")
            t.append("  covers the network" if o.covers_network else "  part of the network", style="dim")
            parts.append(Padding(t, (0, 0, 0, 2)))
        if len(net.by_holder) > 1:
            parts.append(Padding(_tallies("by holder", net.by_holder, net.addresses), (0, 0, 0, 2)))
    public = sum(t.addresses for t in net.by_country)  # the shares are of the public addresses summarised
    for label, tallies in (("by AS", net.by_asn), ("by location", net.by_country),
                           ("by registration", net.by_registered_country)):
        if tallies:
            parts.append(Padding(_tallies(label, tallies, public), (0, 0, 0, 2)))
    shown = net.blocks if verbose else net.blocks[:SHOWN_BLOCKS]
    if shown:
        cols = [Col("block"), Col("addresses", "right"), Col("location"), Col("registered"), Col("AS", grows=True)]
        rows: list[tuple[list[Text], list[Text]]] = []
        for b in shown:
            where = Text(terminal_safe(b.special), style="yellow") if b.special else safe(b.country)
            rows.append(([safe(b.prefix or f"{b.first}-{b.last}"), Text(_count(b.addresses)), where,
                          safe(b.registered_country), _as_cell(b.asn, b.as_name)], []))
        parts.append(Padding(stacked(cols, rows, indent=2), (0, 0, 0, 2)))
        if len(net.blocks) > len(shown):
            parts.append(Padding(Text(f"+{len(net.blocks) - len(shown)} more blocks (-v or JSON lists them)",
                                      style="dim"), (0, 0, 0, 2)))
    return Group(*parts)


class LookupView:
    """A card for one address (``verbose``: for each), a table for several; a summary per network; then the
    sources used and the credits their data requires."""

    def __init__(self, result: LookupResult, verbose: bool = False) -> None:
        self.result = result
        self.verbose = verbose

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        result = self.result
        if len(result.records) == 1 or self.verbose:
            for r in result.records:
                yield _record_panel(r, result.rdap, options.max_width)
        elif result.records:
            yield title(f"Addresses ({len(result.records)})")
            yield records_table(result.records, result.rdap)
        for net in result.networks:
            yield network_view(net, self.verbose)
        if result.sources:
            yield sources_footer(result.sources, result.generated)


def write_terminal_lookup(result: LookupResult, stream: TextIO, *, width: int | None = None,
                          verbose: bool = False) -> None:
    """The cards, table and network summaries on ``stream``; nothing at all when nothing was answered."""
    if result.records or result.networks:
        emit(stream, LookupView(result, verbose), width)
