"""Record dataclasses to JSON-ready values and back, driven by their type hints.

One set of rules, read from the annotations, serves the three directions a document needs:
``plain`` (model -> JSON values), ``from_plain`` (JSON values -> model) and ``model.schema`` (the JSON
Schema of what ``plain`` writes). Times are ISO 8601 in UTC with a trailing ``Z``; a field the model
keeps as epoch seconds is annotated ``Epoch`` and is written the same way. Enums are written as their
values. A class lists the keys it writes, in order, in ``_json_keys`` when they are not simply its
public fields (properties may be listed: computed keys are written, never read back).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from ipowner.errors import DocumentError


class _EpochMark:
    """Marks a float of epoch seconds (UTC) that documents write as an ISO 8601 time."""

    def __repr__(self) -> str:
        return "EPOCH"


EPOCH = _EpochMark()
Epoch = Annotated[float, EPOCH]

T = TypeVar("T")


# --------------------------------------------------------------------------------------------- times


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def epoch_iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (microseconds kept when there are any); None stays None.

    A time no calendar date can hold (a capture's corrupt timestamp, year 586524) is unknown: None,
    never an error that would cost the rest of the output.
    """
    if t is None:
        return None
    try:
        # An aware UTC time always ends "+00:00"; slicing it off is iso() without its conversions.
        return datetime.fromtimestamp(t, tz=UTC).isoformat()[:-6] + "Z"
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def parse_time(text: str | None) -> datetime | None:
    """The inverse of ``iso``: an aware UTC datetime (a plain date is midnight UTC); None stays None."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def epoch_of(value: str | float | None) -> float | None:
    """Epoch seconds of an ISO 8601 time; a number (as the first document versions wrote) is taken as is."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    parsed = parse_time(str(value))
    return parsed.timestamp() if parsed is not None else None


# --------------------------------------------------------------------------------------------- types


_HINTS: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of a class, Annotated extras kept (cached)."""
    got = _HINTS.get(cls)
    if got is None:
        got = _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return got


def _class_attr(cls: type, name: str) -> Any:
    for c in cls.__mro__:
        if name in c.__dict__:
            return c.__dict__[name]
    return None


def json_keys(cls: type) -> list[tuple[str, Any]]:
    """(key, type) of every key ``plain`` writes for an instance of ``cls``, in order.

    The keys are ``_json_keys`` (fields and properties) or else the public fields; ``_json_types``
    gives the written type of a key whose JSON form differs from the attribute's (a class with its own
    ``to_dict`` says so there).
    """
    shape = getattr(cls, "_json_shape", None)
    if shape is not None:
        return list(shape())
    names = _class_attr(cls, "_json_keys")
    overrides = _class_attr(cls, "_json_types") or {}
    h = hints(cls)
    if names is None:
        names = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    out = []
    for name in names:
        if name in overrides:
            out.append((name, overrides[name]))
        elif name in h:
            out.append((name, h[name]))
        else:
            prop = getattr(cls, name)
            fget = prop.fget if isinstance(prop, property) else prop
            out.append((name, typing.get_type_hints(fget, include_extras=True)["return"]))
    return out


def unwrap(tp: Any) -> tuple[Any, bool]:
    """(the type without Annotated, whether it was marked Epoch)."""
    if get_origin(tp) is Annotated:
        base, *extras = get_args(tp)
        return base, any(e is EPOCH for e in extras)
    return tp, False


def optional_of(tp: Any) -> Any | None:
    """X for ``X | None``, else None."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0]
    return None


# --------------------------------------------------------------------------------------------- writing


_Encoder = Callable[[Any], Any]
_ENCODERS: dict[Any, _Encoder | None] = {}
_KEYS: dict[type, list[tuple[str, _Encoder | None, bool]]] = {}
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def _encoder(tp: Any) -> _Encoder | None:
    """A writer for values of type ``tp``, or None when ``plain`` (by value) writes them right."""
    try:
        return _ENCODERS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable annotation: write by value
        return None
    base, epoch = unwrap(tp)
    enc: _Encoder | None = None
    if epoch:
        enc = epoch_iso
    elif (inner := optional_of(base)) is not None:
        sub = _encoder(inner)
        if sub is not None:
            enc = lambda v, sub=sub: None if v is None else sub(v)  # noqa: E731
    else:
        origin, args = get_origin(base), get_args(base)
        if origin in (list, tuple) and args and (origin is list or (len(args) == 2 and args[1] is Ellipsis)):
            sub = _encoder(args[0])
            if sub is not None:
                enc = lambda v, sub=sub: [sub(x) for x in v]  # noqa: E731
        elif origin is tuple and args:
            subs = [_encoder(a) or plain for a in args]
            if any(s is not plain for s in subs):
                enc = lambda v, subs=subs: [s(x) for s, x in zip(subs, v, strict=True)]  # noqa: E731
        elif origin is dict and len(args) == 2:
            sub = _encoder(args[1])
            if sub is not None:
                enc = lambda v, sub=sub: {str(k): sub(x) for k, x in v.items()}  # noqa: E731
    _ENCODERS[tp] = enc
    return enc


def _keys(cls: type) -> list[tuple[str, _Encoder | None, bool]]:
    got = _KEYS.get(cls)
    if got is None:
        try:
            got = [(name, _encoder(tp), inspect.isroutine(getattr(cls, name, None))) for name, tp in json_keys(cls)]
        except NameError:  # a dataclass from elsewhere whose annotations cannot be resolved: write by value
            got = [(f.name, None, False) for f in dataclasses.fields(cls) if not f.name.startswith("_")]
        _KEYS[cls] = got
    return got


_SCALAR_HINTS = frozenset({str, int, float, bool})
_WRITERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _scalar_hint(tp: Any) -> bool:
    """Whether values of ``tp`` are written as they are (str, int, float, bool, or one of them | None)."""
    base, epoch = unwrap(tp)
    if epoch:
        return False
    base = optional_of(base) or base
    return base in _SCALAR_HINTS


def _writer(cls: type) -> Callable[[Any], dict[str, Any]]:
    """The compiled ``to_plain`` of one record class: one dict display, each key written by its type.

    Documents hold tens of thousands of records; a generated function per class writes them about
    three times as fast as walking the key table for every record.
    """
    got = _WRITERS.get(cls)
    if got is not None:
        return got
    try:
        scalar = {name: _scalar_hint(tp) for name, tp in json_keys(cls)}
    except NameError:
        scalar = {}
    env: dict[str, Any] = {"plain": plain}
    items = []
    for i, (name, enc, call) in enumerate(_keys(cls)):
        value = f"o.{name}()" if call else f"o.{name}"
        if not name.isidentifier():  # never in the model; kept correct for any dataclass
            value = f"getattr(o, {name!r})" + ("()" if call else "")
        if enc is not None:
            env[f"e{i}"] = enc
            value = f"e{i}({value})"
        elif not scalar.get(name):
            value = f"plain({value})"
        items.append(f"{name!r}: {value}")
    source = "def write(o):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, f"<ipowner writer of {cls.__qualname__}>", "exec"), env)  # noqa: S102
    got = _WRITERS[cls] = env["write"]
    return got


def to_plain(obj: Any) -> dict[str, Any]:
    """The JSON object of one record dataclass: its keys in order, each written by its type
    (a key named after a method is the method's result)."""
    return _writer(type(obj))(obj)


def _identity(value: Any) -> Any:
    return value


def _enum_value(value: Any) -> Any:
    return value.value


def _mapping(value: Any) -> Any:
    return {str(k): plain(v) for k, v in value.items()}


def _sequence(value: Any) -> Any:
    return [plain(v) for v in value]


def _set(value: Any) -> Any:
    return [plain(v) for v in sorted(value, key=repr)]


_PLAIN_BY_CLASS: dict[type, Callable[[Any], Any]] = {c: _identity for c in _SCALARS}


def _plain_of_class(cls: type) -> Callable[[Any], Any]:
    """How ``plain`` writes every value of class ``cls`` (decided once per class)."""
    fn: Callable[[Any], Any]
    if issubclass(cls, Enum):
        fn = _enum_value
    elif dataclasses.is_dataclass(cls):
        fn = cls.to_dict if "to_dict" in _own_methods(cls) else _writer(cls)  # type: ignore[attr-defined]
    elif issubclass(cls, (datetime, date)):
        fn = iso
    elif issubclass(cls, dict):
        fn = _mapping
    elif issubclass(cls, (list, tuple)):
        fn = _sequence
    elif issubclass(cls, (set, frozenset)):
        fn = _set
    else:
        fn = _identity
    _PLAIN_BY_CLASS[cls] = fn
    return fn


def plain(value: Any) -> Any:
    """Recursively convert dataclasses, dates, enums, sets and tuples to JSON types."""
    cls = type(value)
    fn = _PLAIN_BY_CLASS.get(cls)
    if fn is None:
        if isinstance(value, type):  # a class object itself is written by value, as before
            return value
        fn = _plain_of_class(cls)
    return fn(value)


_OWN: dict[type, frozenset[str]] = {}


def _own_methods(cls: type) -> frozenset[str]:
    """Methods a class writes itself (to_dict, from_dict) rather than leaving to the generic rules."""
    got = _OWN.get(cls)
    if got is None:
        got = _OWN[cls] = frozenset(
            n for n in ("to_dict", "from_dict") if any(n in c.__dict__ for c in cls.__mro__[:-1] if c is not object)
        )
    return got


# --------------------------------------------------------------------------------------------- reading


def from_plain(tp: Any, data: Any, where: str = "document") -> Any:
    """A value of type ``tp`` from what ``plain`` wrote; unknown keys are ignored, missing ones default.

    Raises ``DocumentError`` naming the path (``where``) of a value of the wrong type.
    """
    base, epoch = unwrap(tp)
    if epoch:
        try:
            return epoch_of(data)
        except (TypeError, ValueError):
            raise DocumentError(where, f"not a time: {data!r}") from None
    if base is Any or base is object:
        return data
    inner = optional_of(base)
    if inner is not None:
        return None if data is None else from_plain(inner, data, where)
    origin, args = get_origin(base), get_args(base)
    if origin is list:
        _expect(data, list, where)
        return [from_plain(args[0], x, f"{where}[{i}]") for i, x in enumerate(data)]
    if origin is tuple:
        _expect(data, list, where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], x, f"{where}[{i}]") for i, x in enumerate(data))
        if len(data) != len(args):
            raise DocumentError(where, f"expected {len(args)} items, got {len(data)}")
        return tuple(from_plain(a, x, f"{where}[{i}]") for i, (a, x) in enumerate(zip(args, data, strict=True)))
    if origin is dict:
        _expect(data, dict, where)
        return {from_plain(args[0], k, where): from_plain(args[1], v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(base, type):
        if issubclass(base, Enum):
            try:
                return base(data)
            except ValueError:
                raise DocumentError(where, f"{data!r} is not a known {base.__name__}") from None
        if dataclasses.is_dataclass(base):
            _expect(data, dict, where)
            if "from_dict" in _own_methods(base):
                return base.from_dict(data)  # type: ignore[attr-defined]
            return record_from_plain(base, data, where)
        if base is datetime:
            try:
                return parse_time(_expect(data, str, where))
            except ValueError:
                raise DocumentError(where, f"not a time: {data!r}") from None
        if base is float:
            if isinstance(data, bool) or not isinstance(data, (int, float)):
                raise DocumentError(where, f"expected a number, got {data!r}")
            return float(data)
        if base is int:
            if isinstance(data, bool) or not isinstance(data, int):
                raise DocumentError(where, f"expected an integer, got {data!r}")
            return data
        if base in (str, bool):
            return _expect(data, base, where)
        if typing.is_typeddict(base):
            return _expect(data, dict, where)
    return data


def record_from_plain(cls: type[T], data: Mapping[str, Any], where: str = "document") -> T:
    """An instance of the dataclass ``cls`` from its JSON object, field by field."""
    h = hints(cls)
    written = _class_attr(cls, "_json_types") or {}  # a key written in another type than the attribute's
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.init and f.name in data:
            kwargs[f.name] = from_plain(written.get(f.name, h[f.name]), data[f.name], f"{where}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise DocumentError(where, f"not a {cls.__name__} ({exc})") from None


def check_schema(doc: Any, accepted: tuple[str, ...]) -> str:
    """The document's ``schema``; ``DocumentError`` unless it is one of ``accepted``."""
    if not isinstance(doc, Mapping):
        raise DocumentError("document", "not a JSON object")
    schema = doc.get("schema")
    if schema not in accepted:
        raise DocumentError(str(schema), f"schema {schema!r} is not one this version reads ({', '.join(accepted)})")
    return str(schema)


def _expect(data: Any, kind: type, where: str) -> Any:
    if not isinstance(data, kind):
        raise DocumentError(where, f"expected {kind.__name__}, got {type(data).__name__}")
    return data


__all__ = [
    "EPOCH",
    "Epoch",
    "check_schema",
    "epoch_iso",
    "epoch_of",
    "from_plain",
    "iso",
    "json_keys",
    "parse_time",
    "plain",
    "record_from_plain",
    "to_plain",
    "unwrap",
]
