"""The policy gate (`--fail-on`): rules a report's destinations must not match.

Rules, each ``KIND:VALUE[,VALUE...]``:
  location:CN,RU        a destination geolocated in one of these countries
  holder-country:CN     a destination whose holder's country is one of these
  holder:NAME           a holder whose handle equals NAME or whose name contains NAME as whole
                        words, case-insensitively
  unknown:holder        a destination whose holder is unknown (also ``unknown:location``)
Only internet destinations are checked; LAN, multicast and broadcast peers are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ipowner.errors import UsageError
from ipowner.model.report import DestinationReport, PolicyHit, PolicyResult, Report
from ipowner.reports.names import names_by_evidence

KINDS = ("location", "holder-country", "holder", "unknown")


@dataclass(slots=True, frozen=True)
class Rule:
    kind: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind}:{','.join(self.values)}"

    def match(self, d: DestinationReport) -> str | None:
        """The offending value when ``d`` breaks this rule, else None."""
        j = d.jurisdiction
        if self.kind == "location":
            return j.location_country if j.location_country in self.values else None
        if self.kind == "holder-country":
            return j.holder_country if j.holder_country in self.values else None
        if self.kind == "holder":
            for v in self.values:
                if j.holder_handle and j.holder_handle.casefold() == v.casefold():
                    return j.holder_handle
                for text in (j.holder, j.holder_handle):
                    if text and re.search(r"(?<!\w)" + re.escape(v) + r"(?!\w)", text, re.IGNORECASE):
                        return text
            return None
        if self.kind == "unknown":
            if "holder" in self.values and j.holder is None:
                return "holder"
            if "location" in self.values and j.location_country is None and not j.anycast:
                return "location"
        return None


def parse_rule(text: str) -> Rule:
    """Parse one ``--fail-on`` value; raises ``UsageError`` with the reason."""
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    values = tuple(v.strip() for v in rest.split(",") if v.strip())
    if not sep or kind not in KINDS or not values:
        raise UsageError(f"--fail-on {text!r}: expected one of {', '.join(k + ':...' for k in KINDS)}")
    if kind in ("location", "holder-country"):
        bad = [v for v in values if not re.fullmatch(r"[A-Za-z]{2}", v)]
        if bad:
            raise UsageError(f"--fail-on {text!r}: {', '.join(bad)} is not a two-letter country code")
        values = tuple(v.upper() for v in values)
    if kind == "unknown":
        bad = [v for v in values if v.lower() not in ("holder", "location")]
        if bad:
            raise UsageError(f"--fail-on {text!r}: unknown: takes holder or location")
        values = tuple(v.lower() for v in values)
    return Rule(kind, values)


def evaluate(report: Report, rules: list[Rule]) -> PolicyResult:
    """Which destinations break which rule; sets nothing on the report."""
    result = PolicyResult(rules=[str(r) for r in rules])
    for d in report.internet:
        result.offending += hits(d, rules)
    return result


def hits(d: DestinationReport, rules: list[Rule]) -> list[PolicyHit]:
    """The rules one internet destination breaks, in the rules' order."""
    out: list[PolicyHit] = []
    for r in rules:
        value = r.match(d)
        if value is not None:
            out.append(
                {
                    "address": d.address,
                    "hostnames": [name for name, _ in names_by_evidence(d.hostnames)],
                    "rule": str(r),
                    "value": value,
                    "bytes_sent": d.bytes_sent,
                    "verdict": d.jurisdiction.verdict,
                }
            )
    return out
