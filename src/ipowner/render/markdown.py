"""Report as Markdown: summary, destinations with their verdicts, rollups, provenance.

Every untrusted value passes through ``markdown_safe``: no pipe, newline, HTML or link syntax
from registry data or hostnames survives into the table structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from ipowner.model.report import Report
from ipowner.render.escape import markdown_safe
from ipowner.render.report_rows import ROLLUP_TITLES, destination_rows, human_bytes, provenance_items


def registry_cell(r: dict[str, Any]) -> str:
    """The registry (RIR > NIR) with its basis and date when no registry answered: "APNIC, delegation statistics of 2026-06-17"."""
    names = " > ".join(x for x in (r["registry"], r["nir"]) if x)
    if r.get("registry_uncertain"):
        return f"{names} (uncertain)"
    if not r["nir"] and r.get("registry_basis"):
        return r["registry_basis"]
    return names


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, (list, tuple)):
        return markdown_safe(", ".join(str(v) for v in value))
    if isinstance(value, int):
        return str(value)
    return markdown_safe(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(_cell(v) for v in r) + " |")
    return out


def render_markdown(report: Report) -> str:
    t = report.totals()
    p = report.provenance
    lines = ["# ipowner report", ""]
    lines.append(
        f"{t['destinations']} internet destinations, {human_bytes(t['bytes_sent'])} sent, "
        f"{human_bytes(t['bytes_received'])} received, {t['flows']} flows "
        f"(bytes: {markdown_safe(p.byte_kind)})."
    )
    if report.partial:
        lines += ["", "**Partial:** some inputs or addresses could not be read or answered."]
    if report.policy is not None and report.policy.fired:
        lines += ["", f"**Policy gate fired** ({markdown_safe(', '.join(report.policy.rules))}):", ""]
        lines += _table(
            ["address", "hostnames", "rule", "value"],
            [[o["address"], o["hostnames"], o["rule"], o["value"]] for o in report.policy.offending],
        )
    rows = destination_rows(report)
    lines += ["", "## Destinations (ranked by bytes sent)", ""]
    lines += _table(
        ["#", "address", "hostnames", "location", "holder", "holder country", "registry", "AS", "cloud",
         "sent", "received", "flows", "flags"],
        [
            [
                r["rank"], r["address"], r["hostnames"], r["location"], r["holder"] or "unknown",
                r["holder_country"], registry_cell(r),
                f"AS{r['asn']} {r['as_name'] or ''}".strip() if r["asn"] is not None else None,
                " ".join(x for x in (r["cloud"], r["cloud_region"]) if x), r["bytes_sent"], r["bytes_received"],
                r["flows"], r["flags"],
            ]
            for r in rows
        ],
    )
    lines += ["", "## Verdicts", ""]
    for r in rows:
        lines.append(f"{r['rank']}. {markdown_safe(r['address'])}: {markdown_safe(r['verdict'])}")
    for group, items in report.rollups.items():
        if not items:
            continue
        lines += ["", f"## {ROLLUP_TITLES.get(group, group)}", ""]
        lines += _table(
            ["key", "name", "sent", "received", "flows", "destinations"],
            [[r.key, r.label, r.bytes_sent, r.bytes_received, r.flows, r.destinations] for r in items],
        )
    lines += ["", "## Provenance", ""]
    lines += _table(["what", "key", "value", "detail"], provenance_items(report))
    lines.append("")
    return "\n".join(lines)


def write_markdown(report: Report, stream: TextIO) -> None:
    stream.write(render_markdown(report))
