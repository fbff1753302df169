"""The providers one run asks, in order: their facts, their lifecycle, their problems and stats.

The special-purpose provider always comes first: it marks the addresses nothing further can be learnt
about and gives the IPv4 address a translation address carries, which is what every later provider is
asked about. ``answers()`` is the one place that decides who is asked what; ``lookup()`` copies the
answers onto records (``enrich``), ``ipowner.enrich()`` hands them out as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

from ipowner._addr import Addresses, parse_all
from ipowner.errors import IpownerError
from ipowner.model import AddressRecord, SourceInfo
from ipowner.providers.base import Facts, Provider, Ranges, RecordProvider, apply_all, apply_facts
from ipowner.providers.special import SpecialProvider


@dataclass(slots=True)
class Answers:
    """Every provider's facts for a batch of addresses, by column (no object per address)."""

    special: dict[int, Ranges]  # address position -> the special-purpose provider's ranges, where there are some
    skipped: list[int]  # positions the later providers were not asked about (nothing to learn), ascending
    asked: Addresses  # what they were asked for the other positions, in order (a carried IPv4 for some)
    facts: list[Facts | None]  # per later provider: its facts for ``asked``, in order (None: it fills
    #                            records itself and has no facts)

    def spread(self, column: list[Any], fill: Any) -> list[Any]:
        """A column of the later providers' answers (one per asked address) as one per address of the
        batch, ``fill`` at the skipped positions."""
        if not self.skipped:
            return column
        out = list(column)
        for i in self.skipped:
            out.insert(i, fill)
        return out


class _Adopted(RecordProvider):
    """An object with the old two-method protocol (``sources()``, ``enrich(records)``), run as a provider."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def sources(self) -> list[SourceInfo]:
        return list(self.wrapped.sources())

    def enrich(self, records: list[AddressRecord]) -> None:
        self.wrapped.enrich(records)

    @property
    def problems(self) -> list[str]:
        # The old protocol left these optional: read once here, at the edge, instead of in the pipeline.
        return [str(p) for p in (getattr(self.wrapped, "problems", None) or [])]


def adopt(provider: Provider | Any) -> Provider:
    """A ``Provider`` as it is; an object with ``sources()`` and ``enrich(records)`` wrapped as one."""
    if isinstance(provider, Provider):
        return provider
    if callable(getattr(provider, "enrich", None)) and callable(getattr(provider, "sources", None)):
        return _Adopted(provider)
    raise TypeError(f"{type(provider).__name__} is not a provider (no sources() and enrich())")


def _label(provider: Provider) -> str:
    return type(provider.wrapped if isinstance(provider, _Adopted) else provider).__name__


class Chain:
    """The ordered providers of one run.

    ``providers`` are asked in order after the special-purpose one; objects with the old protocol are
    adopted. With ``own`` the chain closes them when it is closed (``with``); providers passed in by a
    caller are usually not owned. ``problems`` given here are set-up problems (a provider that could
    not be made), reported first.
    """

    def __init__(
        self,
        providers: Iterable[Provider | Any] = (),
        *,
        special: SpecialProvider | None = None,
        own: bool = False,
        problems: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.special = special if special is not None else SpecialProvider()
        self.providers: list[Provider] = [adopt(p) for p in providers]
        self._own = own
        self._setup = list(problems)
        self._failures: list[tuple[int, str]] = []  # (provider position, message): providers that failed as a whole
        self._asked = False  # whether any address went past the special-purpose provider

    # -- facts -------------------------------------------------------------------------------------
    def answers(self, addresses: Addresses) -> Answers:
        """Every provider's facts for each address (a provider that fails as a whole gives none)."""
        first = self.special.classify_many(addresses)
        asked = first.asked
        self._asked = self._asked or bool(asked)
        facts: list[Facts | None] = []
        for i, provider in enumerate(self.providers):
            if isinstance(provider, RecordProvider):
                facts.append(None)
            elif not asked:
                facts.append(Facts())
            else:
                got = self._guarded(i, provider, provider.facts_many, asked)
                if got is not None and len(got) != len(asked):
                    self._fail(i, f"{_label(provider)} failed (gave {len(got)} answers for {len(asked)} addresses)")
                    got = None
                facts.append(got if got is not None else Facts.none(len(asked)))
        return Answers(first.special, first.skipped, asked, facts)

    def enrich(self, records: list[AddressRecord], addresses: Addresses | None = None) -> None:
        """The record view: every provider's facts copied onto the records, in provider order.

        ``addresses``: the records' addresses already parsed (``_addr.parse_address(record.address)``).
        """
        if addresses is None:
            addresses = parse_all([r.address for r in records])
        got = self.answers(addresses)
        known = {s.id: s for s in self.special.sources()}
        for i, ranges in got.special.items():
            apply_facts(records[i], ranges, known)
        skipped = set(got.skipped)
        asked = [rec for i, rec in enumerate(records) if i not in skipped] if skipped else records
        for i, (provider, facts) in enumerate(zip(self.providers, got.facts, strict=True)):
            if facts is None:
                self._guarded(i, provider, provider.enrich, records)
            elif len(facts):
                self._guarded(i, provider, _apply, provider, asked, facts)

    def _guarded(self, i: int, provider: Provider, fn: Any, *args: Any) -> Any:
        """Run one provider's step; if it fails as a whole, say so once and keep the others."""
        try:
            return fn(*args)
        except IpownerError as exc:
            self._fail(i, str(exc))
        except Exception as exc:  # a provider bug must not lose what the others found
            self._fail(i, f"{_label(provider)} failed ({type(exc).__name__}: {exc})")
        return None

    def _fail(self, i: int, message: str) -> None:
        self._failures.append((i, message))

    # -- what the run used, what went wrong, what it cost --------------------------------------------
    def sources(self) -> list[SourceInfo]:
        """The sources consulted: the special-purpose provider's, and every later provider's once any
        address was asked about (first of each id)."""
        out: dict[str, SourceInfo] = {s.id: s for s in self.special.sources()}
        if self._asked:
            for provider in self.providers:
                for s in provider.sources():
                    out.setdefault(s.id, s)
        return list(out.values())

    def problems(self) -> list[tuple[str, str]]:
        """(kind, message) of every problem: set-up problems, providers that failed as a whole
        ("provider"), then each provider's unusable data sources (its ``problem_kind``)."""
        out = list(self._setup)
        out += [("provider", m) for _i, m in sorted(self._failures, key=lambda f: f[0])]
        for provider in [self.special, *self.providers]:
            out += [(provider.problem_kind, str(m)) for m in provider.problems]
        return out

    def stats(self) -> dict[str, dict[str, Any]]:
        """Each counting provider's stats by its name ("rdap": requests, cache hits)."""
        out: dict[str, dict[str, Any]] = {}
        for provider in self.providers:
            st = provider.stats
            if st is not None:
                out[provider.name] = st.to_dict()
        return out

    # -- lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the providers the chain owns."""
        if self._own:
            for provider in self.providers:
                provider.close()
        self.special.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _apply(provider: Provider, records: list[AddressRecord], facts: Facts) -> None:
    apply_all(records, facts, provider.sources())  # sources after the facts: some are learnt as they go
