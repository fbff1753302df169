"""Flat views of a report shared by the tabular renderers (CSV, Markdown, terminal).

Values here are raw (untrusted text unescaped); each renderer escapes for its own reader.
"""

from __future__ import annotations

from typing import Any

from ipowner.model.report import Report
from ipowner.model.serialize import epoch_iso, iso
from ipowner.reports.freshness import age_note
from ipowner.reports.names import from_certificate_only, names_by_evidence

DEST_COLUMNS = [
    "rank",
    "address",
    "scope",
    "hostnames",
    "hostname_sources",
    "domains",
    "location_country",
    "location",
    "holder",
    "holder_handle",
    "holder_country",
    "holder_inferred",
    "registry",
    "registry_country",
    "registry_basis",
    "registry_uncertain",
    "nir",
    "registered_country",
    "registered_country_other",
    "asn",
    "as_name",
    "cloud",
    "cloud_region",
    "bytes_sent",
    "bytes_received",
    "packets_sent",
    "packets_received",
    "flows",
    "first_seen",
    "last_seen",
    "ports",
    "devices",
    "apps",
    "flags",
    "verdict",
    "policy",
]

ROLLUP_TITLES = {
    "location": "By location country",
    "holder_country": "By holder country",
    "holder": "By holder",
    "asn": "By origin AS",
    "registry": "By registry (RIR > NIR)",
    "domain": "By registered domain",
    "device": "By device",
    "app": "By app",
}


def destination_rows(report: Report) -> list[dict[str, Any]]:
    """One flat row per destination. ``hostnames`` are in the order of their evidence (SNI, HTTP Host,
    QUIC, DNS, certificate), ``hostname_sources`` the same names with where each was seen ("a.com (sni,
    dns)"), ``certificate_only`` how many of them only a certificate named; ``policy`` the ``--fail-on``
    rules the destination breaks."""
    broken: dict[str, list[str]] = {}
    if report.policy is not None:
        for o in report.policy.offending:
            broken.setdefault(o["address"], []).append(o["rule"])
    rows = []
    for rank, d in enumerate(report.destinations, 1):
        j = d.jurisdiction
        names = names_by_evidence(d.hostnames)
        rows.append(
            {
                "rank": rank,
                "address": d.address,
                "scope": d.scope,
                "hostnames": [n for n, _ in names],
                "hostname_sources": [f"{n} ({', '.join(src)})" for n, src in names],
                "certificate_only": sum(1 for _, src in names if from_certificate_only(src)),
                "domains": list(d.domains),
                "location_country": j.location_country,
                "location": j.location,
                "holder": j.holder,
                "holder_handle": j.holder_handle,
                "holder_country": j.holder_country,
                "holder_inferred": j.holder_inferred,
                "registry": j.registry,
                "registry_country": j.registry_country,
                "registry_basis": j.registry_evidence,
                "registry_uncertain": j.registry_uncertain,
                "nir": j.nir,
                "registered_country": j.registered_country,
                "registered_country_other": j.registered_country_other,
                "asn": j.asn,
                "as_name": j.as_name,
                "cloud": j.cloud.name if j.cloud else None,
                "cloud_region": j.cloud.region if j.cloud else None,
                "bytes_sent": d.bytes_sent,
                "bytes_received": d.bytes_received,
                "packets_sent": d.packets_sent,
                "packets_received": d.packets_received,
                "flows": d.flows,
                "first_seen": epoch_iso(d.first_seen),
                "last_seen": epoch_iso(d.last_seen),
                "ports": list(d.ports),
                "devices": list(d.devices),
                "apps": list(d.apps),
                "flags": list(j.flags),
                "verdict": j.verdict,
                "policy": broken.get(d.address, []),
            }
        )
    return rows


def provenance_items(report: Report) -> list[tuple[str, str, str, str]]:
    """(group, key, value, detail) lines describing where the report came from."""
    p = report.provenance
    out: list[tuple[str, str, str, str]] = [
        ("tool", p.tool, p.tool_version, ""),
        ("generated", "", iso(p.generated) or "", ""),
        ("command_line", "", " ".join(p.command_line) if p.command_line else "", ""),
        ("offline", "", "true" if p.offline else "false", ""),
        ("capture", "start", epoch_iso(p.capture_start) or "", ""),
        ("capture", "end", epoch_iso(p.capture_end) or "", ""),
        ("bytes", "kind", p.byte_kind, byte_kind_text(p.byte_kind)),
    ]
    for i in p.inputs:
        detail = f"{i.format}, {i.records} records" + (", partial" if i.partial else "")
        out.append(("input", i.name, i.sha256 or "", detail))
    for n in p.data_sources:
        s = n.source
        age = "" if n.age_days is None else f"{age_note(n.age_days)} the capture"
        out.append(("source", s.id, f"{s.name}; dated {iso(s.date) or 'unknown'}", age))
    for c in p.credits:
        out.append(("credit", "", c, ""))
    for w in report.warnings:
        out.append(("warning", "", w, ""))
    return out


def byte_kind_text(kind: str) -> str:
    return {
        "frame": "on-the-wire frame lengths as captured",
        "ip": "IP-level byte counts (logs, or captures mixed with logs)",
        "none": "no byte counts (the inputs list addresses only)",
    }.get(kind, kind)


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"
