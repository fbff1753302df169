"""``LookupView``: a lookup for the terminal, one block per address, each fact with its source and date.

Laid out for 80 columns and up: below ``SIDE_BY_SIDE`` columns a fact's source is shown on a dim line
under its value instead of in a column of its own, so a long source name never squeezes the value.

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
from ipowner.render.terminal._console import emit
from ipowner.reports.freshness import age_text
from ipowner.reports.jurisdiction import CLOUD_TRAITS, cloud_from_record, cloud_phrase

if TYPE_CHECKING:
    from ipowner.model.lookup import LookupResult, RdapRun

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
        add("holder", Text("not looked up: not in the RDAP cache (offline, no query made)", style="dim"))
    if rec.registry_chain:
        chain = Text()
        for i, link in enumerate(rec.registry_chain):
            if i:
                chain.append(" > ", style="dim")
            chain.append(terminal_safe(link.name or link.handle or "?"), style="bold" if link.role in ("holder", "sub-assignment") else "")
            if link.role in ("nir", "sub-assignment"):
                chain.append(f" ({terminal_safe(link.role)})", style="dim")
        add("registry chain", chain, "registry_chain")
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


class LookupView:
    """One panel per record, then the sources used and the credits their data requires."""

    def __init__(self, result: LookupResult) -> None:
        self.result = result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        result = self.result
        for r in result.records:
            yield _record_panel(r, result.rdap, options.max_width)
        if result.sources:
            yield sources_footer(result.sources, result.generated)


def write_terminal_lookup(result: LookupResult, stream: TextIO, *, width: int | None = None,
                          verbose: bool = False) -> None:
    """The panels on ``stream``; nothing at all when no address was answered."""
    if result.records:
        emit(stream, LookupView(result), width)
