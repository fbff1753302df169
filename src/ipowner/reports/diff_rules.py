"""The diff gate (``ipowner diff --fail-on``): changes between two reports that CI should stop on.

Rules, each ``KIND[:VALUE,...]``:
  new-destination              an internet destination present after only
  new-location-country[:CN,RU] a location country present after only (any, or one of these)
  new-holder-country[:CN]      a holder country present after only
  new-domain[:example.com]     a registered domain present after only
  bytes-up:N[%]                bytes sent to a location or holder country grew by more than N percent
                               (from nothing counts as growth without bound)
Keys nobody knows (an unknown location, no holder) and anycast are not jurisdictions and never match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ipowner.errors import UsageError
from ipowner.model.diff import ByteChange, Diff
from ipowner.reference.countries import country_name

KINDS = ("new-destination", "new-location-country", "new-holder-country", "new-domain", "bytes-up")


@dataclass(slots=True, frozen=True)
class DiffRule:
    kind: str
    values: tuple[str, ...] = ()
    percent: float | None = None  # bytes-up only

    def __str__(self) -> str:
        if self.kind == "bytes-up":
            return f"bytes-up:{self.percent:g}%"
        return self.kind + (f":{','.join(self.values)}" if self.values else "")


@dataclass(slots=True, frozen=True)
class Finding:
    """One change that matched a rule: the rule, the key (an address, a country code, a domain), why."""

    rule: str
    key: str
    detail: str


@dataclass(slots=True)
class GateResult:
    rules: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def fired(self) -> bool:
        return bool(self.findings)


def parse_diff_rule(text: str) -> DiffRule:
    """Parse one ``diff --fail-on`` value; ``UsageError`` with the reason."""
    kind, _sep, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    values = tuple(v.strip() for v in rest.split(",") if v.strip())
    if kind not in KINDS:
        raise UsageError(f"--fail-on {text!r}: expected one of {', '.join(KINDS)} (diff rules)")
    if kind == "bytes-up":
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%?", rest.strip())
        if m is None:
            raise UsageError(f"--fail-on {text!r}: bytes-up takes a percentage, e.g. bytes-up:50%")
        return DiffRule(kind, percent=float(m.group(1)))
    if kind == "new-destination" and values:
        raise UsageError(f"--fail-on {text!r}: new-destination takes no value")
    if kind in ("new-location-country", "new-holder-country"):
        bad = [v for v in values if not re.fullmatch(r"[A-Za-z]{2}", v)]
        if bad:
            raise UsageError(f"--fail-on {text!r}: {', '.join(bad)} is not a two-letter country code")
        values = tuple(v.upper() for v in values)
    if kind == "new-domain":
        values = tuple(v.lower().rstrip(".") for v in values)
    return DiffRule(kind, values)


def _growth(m: ByteChange) -> float:
    """Percent growth of bytes sent; infinite from nothing."""
    if m.bytes_sent_before == 0:
        return float("inf") if m.bytes_sent_after > 0 else 0.0
    return 100.0 * (m.bytes_sent_after - m.bytes_sent_before) / m.bytes_sent_before


def evaluate_diff(diff: Diff, rules: list[DiffRule]) -> GateResult:
    """Which changes of ``diff`` match which rule (the diff is not changed)."""
    out = GateResult(rules=[str(r) for r in rules])
    for rule in rules:
        name = str(rule)
        if rule.kind == "new-destination":
            for d in diff.destinations.added:
                where = d.location or d.location_country or "location unknown"
                out.findings.append(Finding(name, d.address, f"{', '.join(d.hostnames[:3]) or 'no hostname'}; {where}"))
        elif rule.kind in ("new-location-country", "new-holder-country"):
            added = diff.jurisdictions.location.added if rule.kind == "new-location-country" else \
                diff.jurisdictions.holder_country.added
            for code in added:
                if code in ("", "anycast") or (rule.values and code not in rule.values):
                    continue
                out.findings.append(Finding(name, code, country_name(code) or code))
        elif rule.kind == "new-domain":
            for dom in diff.domains.added:
                if not rule.values or dom in rule.values:
                    out.findings.append(Finding(name, dom, "registered domain seen after only"))
        elif rule.kind == "bytes-up":
            for label, moves in (("location", diff.bytes.location), ("holder country", diff.bytes.holder_country)):
                for m in moves:
                    if m.key in ("", "anycast") or rule.percent is None:
                        continue
                    growth = _growth(m)
                    if growth > rule.percent:
                        how = "from nothing" if growth == float("inf") else f"+{growth:.0f}%"
                        out.findings.append(Finding(
                            name, m.key, f"bytes sent to {label} {country_name(m.key) or m.key}: "
                                         f"{m.bytes_sent_before} -> {m.bytes_sent_after} ({how})"))
    return out
