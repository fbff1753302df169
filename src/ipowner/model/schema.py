"""JSON Schemas (draft 2020-12) of every document, generated from the model's type hints.

The same annotations drive ``serialize.plain`` (what is written) and this generator (what the schema
allows), so the two cannot drift apart unnoticed: the shipped files under ``data/schemas/`` are this
module's output, and a test regenerates them and compares. Write them with
``python -m ipowner.model.schema data/schemas`` (or ``scripts/make_schemas.py``).

Every key a record writes is ``required`` (a fact nobody knows is ``null``, not absent), except the keys a
record names in ``_added_keys``: keys added within a version, which its earlier documents lack. Objects allow
keys the schema does not list, as the documents' rule says readers must ignore keys they do not know.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from ipowner import paths
from ipowner.model.cache import CachedAnswerRow, CachedObjectRow
from ipowner.model.diff import DiffRow, DiffSide
from ipowner.model.documents import KINDS, DocumentKind
from ipowner.model.kinds import ByteKind, DiffLine, ReportLine, RollupGroup
from ipowner.model.report import DestinationReport, PolicyResult, Provenance, RollupRow, Totals
from ipowner.model.serialize import hints, json_keys, optional_of, unwrap
from ipowner.model.traffic import Destination

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# ISO 8601 in UTC with a trailing Z, fractions of a second when the source has them.
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


class _Generator:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def ref(self, name: str, build: typing.Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: a record may refer to itself
            self.defs[name] = build()
        return {"$ref": f"#/$defs/{name}"}

    def of(self, tp: Any) -> dict[str, Any]:
        base, epoch = unwrap(tp)
        if epoch or base is datetime:
            return self.ref("time", lambda: {"type": "string", "format": "date-time", "pattern": TIME_PATTERN,
                                             "description": "ISO 8601, UTC"})
        if base is Any or base is object:
            return {}
        if base in _SIMPLE:
            return {"type": _SIMPLE[base]}
        inner = optional_of(base)
        if inner is not None:
            got = self.of(inner)
            if set(got) == {"type"} and isinstance(got["type"], str):
                return {"type": [got["type"], "null"]}
            return {"anyOf": [got, {"type": "null"}]}
        origin, args = get_origin(base), get_args(base)
        if origin in (Union, types.UnionType):
            return {"anyOf": [self.of(a) for a in args]}
        if origin is Literal:
            values = [a.value if isinstance(a, Enum) else a for a in args]
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            return {"type": "array", "items": self.of(args[0])}
        if origin is tuple:
            return {"type": "array", "prefixItems": [self.of(a) for a in args], "items": False,
                    "minItems": len(args)}
        if origin is dict:
            out: dict[str, Any] = {"type": "object", "additionalProperties": self.of(args[1])}
            if isinstance(args[0], type) and issubclass(args[0], Enum):
                out["propertyNames"] = self.of(args[0])
            return out
        if isinstance(base, type) and issubclass(base, Enum):
            return self.ref(base.__name__, lambda: {"type": "string", "enum": [m.value for m in base],
                                                    **_description(base)})
        if typing.is_typeddict(base):
            return self.ref(base.__name__, lambda: self.object(list(hints(base).items()), base))
        if dataclasses.is_dataclass(base) and isinstance(base, type):
            return self.ref(base.__name__, lambda: self.object(json_keys(base), base))
        raise TypeError(f"no JSON Schema for {tp!r}")

    def object(self, keys: list[tuple[str, Any]], cls: type | None = None, **extra: Any) -> dict[str, Any]:
        props = {name: self.of(tp) for name, tp in keys}
        out: dict[str, Any] = {"type": "object", **(_description(cls) if cls else {})}
        out["properties"] = {**{k: v for k, v in extra.items()}, **props}
        added = getattr(cls, "_added_keys", ()) if cls is not None else ()
        out["required"] = [k for k in out["properties"] if k not in added]
        return out


def _description(cls: type) -> dict[str, str]:
    doc = cls.__dict__.get("__doc__")
    if not doc or doc.startswith(f"{cls.__name__}("):  # dataclasses invent a signature when there is none
        return {}
    return {"description": " ".join(doc.strip().split("\n\n", 1)[0].split())}


def _const(value: str) -> dict[str, Any]:
    return {"const": value}


def _root(kind: DocumentKind, title: str, body: dict[str, Any], gen: _Generator, suffix: str = "") -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": f"urn:ipowner:schema:{kind.name}{suffix}:{kind.schema.rsplit('/', 1)[1]}",
        "title": title,
        **body,
        "$defs": dict(sorted(gen.defs.items())),
    }


def document_schema(kind: DocumentKind) -> dict[str, Any]:
    """The schema of ``kind``'s JSON document."""
    gen = _Generator()
    assert kind.document is not None
    body = gen.object(json_keys(kind.document), kind.document, schema=_const(kind.schema))
    return _root(kind, kind.schema, body, gen)


def lines_schema(kind: DocumentKind) -> dict[str, Any]:
    """The schema of one line of ``kind``'s JSON Lines form."""
    gen = _Generator()
    schema = _const(kind.schema)
    keys = json_keys
    variants: list[dict[str, Any]]
    if kind.name == "lookup":
        from ipowner.model.address import AddressRecord

        variants = [gen.object(keys(AddressRecord), AddressRecord, schema=schema)]
    elif kind.name == "traffic":
        variants = [gen.object([*keys(Destination), ("byte_kind", ByteKind)], Destination, schema=schema)]
    elif kind.name == "report":
        line = {m: _const(m.value) for m in ReportLine}
        variants = [
            gen.object([*keys(Provenance), ("totals", Totals), ("partial", bool), ("warnings", list[str])],
                       Provenance, schema=schema, kind=line[ReportLine.PROVENANCE]),
            gen.object([("rank", int), *keys(DestinationReport)], DestinationReport, schema=schema,
                       kind=line[ReportLine.DESTINATION]),
            gen.object([("group", RollupGroup), ("rank", int), *keys(RollupRow)], RollupRow, schema=schema,
                       kind=line[ReportLine.ROLLUP]),
            gen.object(keys(PolicyResult), PolicyResult, schema=schema, kind=line[ReportLine.POLICY]),
        ]
    elif kind.name == "diff":
        variants = [
            gen.object([("side", Literal["before", "after"]), *keys(DiffSide)], DiffSide, schema=schema,
                       kind=_const(DiffLine.SIDE.value)),
            gen.object(keys(DiffRow), DiffRow, schema=schema, kind=_const(DiffLine.CHANGE.value)),
        ]
    elif kind.name == "cache":
        variants = [gen.object(keys(c), c, schema=schema) for c in (CachedAnswerRow, CachedObjectRow)]
    else:
        raise ValueError(f"{kind.name} has no JSON Lines form")
    body = variants[0] if len(variants) == 1 else {"oneOf": variants}
    return _root(kind, f"{kind.schema} (one JSON Lines line)", body, gen, suffix="-line")


def schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, schema) of every shipped schema file."""
    for kind in KINDS:
        if kind.document is not None:
            yield f"{kind.name}.schema.json", document_schema(kind)
        if kind.lines is not None:
            yield f"{kind.name}-line.schema.json", lines_schema(kind)


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=True) + "\n"


def write(folder: str | Path) -> list[Path]:
    """Write every schema file into ``folder``; the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas():
        path = out / name
        path.write_text(dumps(schema), encoding="utf-8")
        written.append(path)
    return written


def shipped_folder() -> Path:
    """Where the schemas are: ``ipowner/data/schemas`` in a wheel, ``data/schemas`` in a source tree."""
    return paths.shipped("schemas")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in write(args[0] if args else shipped_folder()):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
