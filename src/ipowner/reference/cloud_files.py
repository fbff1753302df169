"""The cloud providers' published range-file formats, and the rules for where their lists overlap.

One parser per format, recognised from the content (plain CIDR lists and geofeeds name no provider, so
those need the publisher's file name): AWS ``ip-ranges.json``, Google ``cloud.json`` and ``goog.json``,
Azure service tags, Oracle ``public_ip_ranges.json``, Fastly ``public-ip-list``, Cloudflare ``ips-v4`` /
``ips-v6``, DigitalOcean's geofeed ``geo.csv``. The shipped snapshot build (``datasets.cloud_ranges``)
and a user's ``--cloud-ranges`` file (``providers.cloud``) both read through here, so the rules live once:

- AWS lists a prefix once per service it serves; the prefix gets its most specific service: ``AMAZON``
  (all of Amazon) only when nothing else names it, ``EC2`` only against ``AMAZON``; region ``GLOBAL`` is
  no region.
- Google's ``goog.json`` minus ``cloud.json`` is Google's own space (``google_own_space``); ``cloud.json``'s
  ``scope`` is the region (``global``: none).
- Azure lists a prefix under many service tags (``AzureCloud`` and ``AzureCloud.southeastasia``...); the
  prefix takes a regional tag, and among those the most specific service.

The files are hostile input: sizes, counts and text lengths are bounded, a malformed entry is skipped and
counted, never fatal.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024  # Azure's service tags are about 4.5 MB
MAX_ENTRIES = 2_000_000
MAX_LABEL = 80  # region and service names are short identifiers

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()/:-]*$")


class CloudFileError(ValueError):
    """A file that is none of the known formats, or holds no usable prefix."""


@dataclass(frozen=True, slots=True)
class CloudPrefix:
    """One prefix of a provider's list, as the rules leave it."""

    prefix: str  # canonical CIDR
    region: str | None = None
    service: str | None = None
    country: str | None = None  # only where the file itself states one (a geofeed)
    city: str | None = None


@dataclass(slots=True)
class CloudFile:
    """One parsed range file."""

    kind: str  # "aws", "google-cloud", "google", "azure", "oracle", "fastly", "cloudflare", "digitalocean"
    provider: str  # operator key of data/cloud-providers.json
    label: str  # "AWS ip-ranges.json"
    date: datetime | None  # the file's own date field, when it has one
    date_field: str | None  # which field that was ("createDate", ...)
    prefixes: list[CloudPrefix] = field(default_factory=list)
    skipped: int = 0  # malformed entries left out
    note: str | None = None  # e.g. "Azure change 398"


# The publisher's short name as a sentence names it ("per AWS's range file"), by file kind.
PUBLISHERS: dict[str, str] = {
    "aws": "AWS", "google-cloud": "Google Cloud", "google": "Google", "azure": "Microsoft Azure",
    "oracle": "Oracle Cloud", "fastly": "Fastly", "cloudflare": "Cloudflare", "digitalocean": "DigitalOcean",
}
# The key of a file kind's source id ("ranges:<key>"): cloud.json keeps the "google" it always had.
SOURCE_KEYS: dict[str, str] = {"google-cloud": "google", "google": "google-own"}


def source_key(kind: str) -> str:
    return SOURCE_KEYS.get(kind, kind)


def publisher_of(source_id: str) -> str | None:
    """The publisher of the range file a source id names ("ranges:aws" -> "AWS"), or None."""
    if not source_id.startswith("ranges:"):
        return None
    key = source_id.split(":", 1)[1].split("#", 1)[0]
    kind = next((k for k, v in SOURCE_KEYS.items() if v == key), key)
    if kind not in PUBLISHERS and kind.startswith("cloudflare"):
        kind = "cloudflare"
    return PUBLISHERS.get(kind)


PROVIDER_OF_KIND: dict[str, str] = {
    "aws": "aws", "google-cloud": "google", "google": "google", "azure": "microsoft", "oracle": "oracle",
    "fastly": "fastly", "cloudflare": "cloudflare", "digitalocean": "digitalocean",
}


def _label(value: Any) -> str | None:
    """A region or service name, or None when absent or not a plausible identifier."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_LABEL or not _LABEL.match(text):
        return None
    return text


def _cidr(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        return None


def _date(text: Any, fmt: str | None) -> datetime | None:
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        dt = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------------
# The overlap rules


AWS_GENERAL = {"AMAZON": 0, "EC2": 1}  # the less specific a service, the lower; any other service is 2


def aws_service(services: Iterable[str]) -> str | None:
    """The most specific of the services AWS lists one prefix under (ties: all, sorted, joined by '+')."""
    named = set(services)
    if not named:
        return None
    top = max(AWS_GENERAL.get(s, 2) for s in named)
    return "+".join(sorted(s for s in named if AWS_GENERAL.get(s, 2) == top))


def aws_region(region: str | None) -> str | None:
    return None if region is None or region.upper() == "GLOBAL" else region


AZURE_GENERAL = {"AzureCloud": 0}


def azure_choice(tags: list[tuple[str, str | None, str | None]]) -> tuple[str | None, str | None]:
    """(region, service) of a prefix listed under several Azure tags, each (tag name, region, service):
    a regional tag first, then the most specific service (``AzureCloud`` is all of Azure), then by name."""
    def rank(t: tuple[str, str | None, str | None]) -> tuple[int, int, str]:
        name, region, service = t
        general = (service or name.split(".")[0]) in AZURE_GENERAL
        return (0 if region else 1, 1 if general else 0, name)
    best = min(tags, key=rank)
    return best[1], best[2] or best[0].split(".")[0]


def google_own_space(goog: CloudFile, cloud: CloudFile) -> list[CloudPrefix]:
    """Google's own space: ``goog.json``'s prefixes minus every address ``cloud.json`` lists."""
    cloud_nets = [ipaddress.ip_network(p.prefix) for p in cloud.prefixes]
    by_version: dict[int, list[Any]] = {4: [], 6: []}
    for n in cloud_nets:
        by_version[n.version].append(n)
    collapsed = {v: list(ipaddress.collapse_addresses(nets)) for v, nets in by_version.items()}
    out: list[CloudPrefix] = []
    for p in goog.prefixes:
        pieces: list[Any] = [ipaddress.ip_network(p.prefix)]
        for c in collapsed[pieces[0].version]:
            nxt: list[Any] = []
            for piece in pieces:
                if c.subnet_of(piece) and c != piece:
                    nxt.extend(piece.address_exclude(c))
                elif piece.subnet_of(c):
                    continue
                else:
                    nxt.append(piece)
            pieces = nxt
        out.extend(CloudPrefix(str(n)) for n in sorted(pieces))
    return out


# ---------------------------------------------------------------------------------------------------
# The formats


def _aws(doc: dict[str, Any]) -> CloudFile:
    f = CloudFile("aws", "aws", "AWS ip-ranges.json", _date(doc.get("createDate"), "%Y-%m-%d-%H-%M-%S"),
                  "createDate")
    grouped: dict[str, tuple[set[str], dict[str, str | None]]] = {}
    for key, pkey in (("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")):
        for item in _list(doc.get(key)):
            cidr = _cidr(item.get(pkey)) if isinstance(item, dict) else None
            if cidr is None:
                f.skipped += 1
                continue
            service = _label(item.get("service"))
            services, regions = grouped.setdefault(cidr, (set(), {}))
            if service:
                services.add(service)
            regions[service or ""] = aws_region(_label(item.get("region")))
    for cidr, (services, regions) in grouped.items():
        service = aws_service(services)
        region = regions.get((service or "").split("+")[0]) or next((r for r in regions.values() if r), None)
        f.prefixes.append(CloudPrefix(cidr, region, service))
    return f


def _google(doc: dict[str, Any]) -> CloudFile:
    items = [x for x in _list(doc.get("prefixes")) if isinstance(x, dict)]
    scoped = any("scope" in x for x in items)
    kind = "google-cloud" if scoped else "google"
    f = CloudFile(kind, "google", "Google Cloud cloud.json" if scoped else "Google goog.json",
                  _date(doc.get("creationTime"), None), "creationTime")
    f.skipped = len(_list(doc.get("prefixes"))) - len(items)
    for item in items:
        cidr = _cidr(item.get("ipv4Prefix") or item.get("ipv6Prefix"))
        if cidr is None:
            f.skipped += 1
            continue
        region = _label(item.get("scope")) if scoped else None
        if region == "global":
            region = None
        f.prefixes.append(CloudPrefix(cidr, region, _label(item.get("service")) if scoped else None))
    return f


def _azure(doc: dict[str, Any]) -> CloudFile:
    f = CloudFile("azure", "microsoft", f"Azure service tags ({_label(doc.get('cloud')) or 'Public'})", None, None)
    change = doc.get("changeNumber")
    if isinstance(change, int) and not isinstance(change, bool):
        f.note = f"change {change}"
        f.label += f", change {change}"
    tags: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for item in _list(doc.get("values")):
        props = item.get("properties") if isinstance(item, dict) else None
        name = _label(item.get("name")) if isinstance(item, dict) else None
        if not isinstance(props, dict) or name is None:
            f.skipped += 1
            continue
        region, service = _label(props.get("region")), _label(props.get("systemService"))
        for prefix in _list(props.get("addressPrefixes")):
            cidr = _cidr(prefix)
            if cidr is None:
                f.skipped += 1
                continue
            tags.setdefault(cidr, []).append((name, region, service))
    for cidr, listed in tags.items():
        region, service = azure_choice(listed)
        f.prefixes.append(CloudPrefix(cidr, region, service))
    return f


def _oracle(doc: dict[str, Any]) -> CloudFile:
    f = CloudFile("oracle", "oracle", "Oracle Cloud public_ip_ranges.json",
                  _date(doc.get("last_updated_timestamp"), None), "last_updated_timestamp")
    for reg in _list(doc.get("regions")):
        region = _label(reg.get("region")) if isinstance(reg, dict) else None
        for item in _list(reg.get("cidrs")) if isinstance(reg, dict) else []:
            cidr = _cidr(item.get("cidr")) if isinstance(item, dict) else None
            if cidr is None or region is None:
                f.skipped += 1
                continue
            tags = sorted(t for t in (_label(x) for x in _list(item.get("tags"))) if t)
            f.prefixes.append(CloudPrefix(cidr, region, "+".join(tags) or None))
    return f


def _fastly(doc: dict[str, Any]) -> CloudFile:
    f = CloudFile("fastly", "fastly", "Fastly public-ip-list", None, None)
    for value in [*_list(doc.get("addresses")), *_list(doc.get("ipv6_addresses"))]:
        cidr = _cidr(value)
        if cidr is None:
            f.skipped += 1
        else:
            f.prefixes.append(CloudPrefix(cidr))
    return f


def _plain_list(text: str, kind: str, label: str) -> CloudFile:
    f = CloudFile(kind, PROVIDER_OF_KIND[kind], label, None, None)
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cidr = _cidr(line)
        if cidr is None:
            f.skipped += 1
        else:
            f.prefixes.append(CloudPrefix(cidr))
    return f


def _geofeed(text: str, kind: str, label: str) -> CloudFile:
    """An RFC 8805 geofeed: prefix,country,subdivision,city,postal (the provider's own statement of place)."""
    f = CloudFile(kind, PROVIDER_OF_KIND[kind], label, None, None)
    for row in csv.reader(io.StringIO(text)):
        if not row or row[0].lstrip().startswith("#"):
            continue
        cidr = _cidr(row[0])
        if cidr is None:
            f.skipped += 1
            continue
        cc = row[1].strip().upper() if len(row) > 1 else ""
        city = row[3].strip() if len(row) > 3 else ""
        f.prefixes.append(CloudPrefix(
            cidr,
            country=cc if re.fullmatch(r"[A-Z]{2}", cc) else None,
            city=city if city and len(city) <= MAX_LABEL and city.isprintable() else None,
        ))
    return f


# Publishers' file names of the formats that do not say whose they are.
NAMED_FORMATS: dict[str, tuple[str, str, str]] = {  # file name -> (format, kind, label)
    "ips-v4": ("list", "cloudflare", "Cloudflare ips-v4"),
    "ips-v6": ("list", "cloudflare", "Cloudflare ips-v6"),
    "geo.csv": ("geofeed", "digitalocean", "DigitalOcean geo.csv"),
}


def parse_cloud_file(data: bytes, name: str) -> CloudFile:
    """Parse one provider's range file; ``name`` is its file name (it tells a plain list's publisher).

    Raises ``CloudFileError`` when the content is none of the known formats or lists no usable prefix.
    """
    if len(data) > MAX_FILE_BYTES:
        raise CloudFileError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CloudFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    parsed: CloudFile
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise CloudFileError(f"not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise CloudFileError("not a range file (expected a JSON object)")
        prefixes = doc.get("prefixes")
        if isinstance(prefixes, list) and ("createDate" in doc or "ipv6_prefixes" in doc
                                           or any(isinstance(x, dict) and "ip_prefix" in x for x in prefixes[:50])):
            parsed = _aws(doc)
        elif isinstance(prefixes, list):
            parsed = _google(doc)
        elif isinstance(doc.get("values"), list):
            parsed = _azure(doc)
        elif isinstance(doc.get("regions"), list):
            parsed = _oracle(doc)
        elif isinstance(doc.get("addresses"), list):
            parsed = _fastly(doc)
        else:
            raise CloudFileError("not a known range file (AWS, Google, Azure, Oracle or Fastly JSON)")
    elif base in NAMED_FORMATS:
        fmt, kind, label = NAMED_FORMATS[base]
        parsed = _plain_list(text, kind, label) if fmt == "list" else _geofeed(text, kind, label)
    else:
        raise CloudFileError("not a known range file (a plain list or geofeed needs its publisher's file name: "
                             + ", ".join(sorted(NAMED_FORMATS)) + ")")
    if len(parsed.prefixes) > MAX_ENTRIES:
        raise CloudFileError(f"lists more than {MAX_ENTRIES} prefixes")
    if not parsed.prefixes:
        raise CloudFileError("lists no usable prefix")
    return parsed
