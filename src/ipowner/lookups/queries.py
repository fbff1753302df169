"""What people paste, as typed queries: addresses, networks, AS numbers and hostnames.

One item (an argument, a line of a file or of stdin) is read by ``parse_item``, trying these forms in
this order, the first that fits wins:

1. an address: ``8.8.8.8``, ``2001:db8::1``, ``[2001:db8::1]``, ``fe80::1%eth0``;
2. a network: a CIDR ``8.8.8.0/24`` (host bits are cleared: ``8.8.8.1/24`` is ``8.8.8.0/24``) or a range
   ``8.8.8.0-8.8.8.255`` (both ends of one IP version, first not after last);
3. an AS number: ``AS15169``, ``as15169``, ``ASN15169``;
4. an address or hostname with a port: ``1.1.1.1:53``, ``[2001:db8::1]:443``, ``dns.google:853``;
5. a URL: ``https://8.8.8.8/``, ``https://[2001:db8::1]:8443/x``, ``http://example.com/path``;
6. a hostname (IDNA allowed; a trailing dot is dropped).

An item that is none of these is free text (a log line, a sentence): each of its words that is an address,
a network, an AS number or an address with a port or in a URL is taken, and any other address inside a
word (``src=10.1.2.3``) is found by the text reader's extractor (``capture.formats.text.addresses_in``),
the same rule ``traffic`` uses for text files. Free text gives no hostnames: a word is too often a
hostname by accident (``GET``, ``from``). Free text in which nothing is found is a ``BadQuery``.

Arguments (``read_arguments``) are items too, with two more rules, in this order: ``-`` reads stdin, one
item or free text per line; an argument that is not an address, network or AS number and names an existing
file is read as that file, line by line (lines of a file are never read as files themselves). So
``ips.txt`` is the file when it exists and the hostname otherwise; ``ips.txt.`` (a trailing dot) is always
the hostname, and an argument with a ``/`` that is neither a network nor a URL and names no file is a
``BadQuery`` ("no such file"), never a hostname. Empty lines and lines starting with ``#`` are skipped.

Everything read is bounded: ``MAX_LINE`` characters a line (longer lines are one ``BadQuery`` each) and
``MAX_ITEMS`` queries a run (the rest is one ``BadQuery`` saying where reading stopped).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO, TypeAlias
from urllib.parse import urlsplit

import idna

from ipowner._addr import Address, network_text, parse, parse_address, text4, text6
from ipowner.capture.formats.text import addresses_in

MAX_LINE = 64 * 1024  # characters in one line of a file or of stdin
MAX_ITEMS = 1_000_000  # queries in one run, all inputs together
MAX_AS = 4_294_967_295  # AS numbers are 32-bit (RFC 6793)

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_AS = re.compile(r"^as(?:n)?\s?(\d{1,20})$", re.IGNORECASE)
_RANGE = re.compile(r"^([0-9A-Fa-f:.\[\]%\w]+?)\s*-\s*([0-9A-Fa-f:.\[\]%\w]+)$")
_PORT = re.compile(r"^(?P<host>[^\s:\[\]/]+):(?P<port>\d{1,5})$")
_V6_PORT = re.compile(r"^\[(?P<host>[^\]\s]+)\]:(?P<port>\d{1,5})$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,30}://", re.IGNORECASE)
_ADDRESS_LIKE = re.compile(r"^(?:[\d.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$")
_TRIM = "\"'()<>{},;|"  # punctuation around a word of free text


@dataclass(frozen=True, slots=True)
class AddressQuery:
    """One address; ``port`` when it was given with one (``1.1.1.1:53``), which is kept for the reader only."""

    text: str  # the item as given (whitespace stripped), or the word of free text it was found in
    address: str  # canonical text, without zone id
    parsed: Address
    port: int | None = None


@dataclass(frozen=True, slots=True)
class HostnameQuery:
    """One hostname to resolve (its ASCII form, lower case, no trailing dot)."""

    text: str
    hostname: str
    port: int | None = None


@dataclass(frozen=True, slots=True)
class NetworkQuery:
    """A CIDR block or a range of addresses, answered for the network as a whole."""

    text: str
    version: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def first_text(self) -> str:
        return text4(self.first) if self.version == 4 else text6(self.first)

    @property
    def last_text(self) -> str:
        return text4(self.last) if self.version == 4 else text6(self.last)

    @property
    def cidr(self) -> str | None:
        """The network as one CIDR block, when it is one."""
        size = self.size
        if size & (size - 1) or self.first & (size - 1):
            return None
        bits = 32 if self.version == 4 else 128
        return network_text(self.version, self.first, bits - size.bit_length() + 1)

    @property
    def name(self) -> str:
        return self.cidr or f"{self.first_text}-{self.last_text}"


@dataclass(frozen=True, slots=True)
class AsQuery:
    """An autonomous system number."""

    text: str
    number: int


@dataclass(frozen=True, slots=True)
class BadQuery:
    """An item that parses as nothing, with the one-line reason."""

    text: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.text}: {self.reason}"


Query: TypeAlias = AddressQuery | HostnameQuery | NetworkQuery | AsQuery


def parse_address_text(text: str) -> Address | None:
    """An address as people write it: plain, in brackets, or with a zone id (dropped); None otherwise."""
    got = parse(text)
    if got is not None:
        return got
    s = text[1:-1].strip() if text.startswith("[") and text.endswith("]") else text
    if ":" in s:
        s = s.split("%", 1)[0]
    try:
        return parse_address(s)
    except ValueError:
        return None


def hostname_of(text: str) -> str | None:
    """The ASCII (IDNA) form of a hostname, lower case, without its trailing dot; None when it is none.

    A name whose last label is all digits is refused: it is an address written wrong (``999.1.1.1``).
    """
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 1024:
        return None
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return ascii_name


def _network(text: str) -> NetworkQuery | BadQuery | None:
    """A CIDR or a range; a ``BadQuery`` for one that is written wrong; None when it is neither."""
    if "/" in text and not _SCHEME.match(text):
        base, _, bits = text.partition("/")
        addr = parse_address_text(base)
        if addr is None or not bits.isdigit():
            return BadQuery(text, "not a valid network (CIDR is ADDRESS/LENGTH)") if addr is not None else None
        width = 32 if addr[1] == 4 else 128
        plen = int(bits)
        if plen > width:
            return BadQuery(text, f"not a valid network (an IPv{addr[1]} prefix length is 0 to {width})")
        shift = width - plen
        first = addr[2] >> shift << shift
        return NetworkQuery(text, addr[1], first, first + (1 << shift) - 1)
    m = _RANGE.match(text)
    if m is None:
        return None
    a, b = parse_address_text(m.group(1)), parse_address_text(m.group(2))
    if a is None or b is None:
        return None
    if a[1] != b[1]:
        return BadQuery(text, "not a valid range (both ends must be IPv4, or both IPv6)")
    if a[2] > b[2]:
        return BadQuery(text, "not a valid range (the first address is after the last)")
    return NetworkQuery(text, a[1], a[2], b[2])


def _as_number(text: str) -> AsQuery | BadQuery | None:
    m = _AS.match(text)
    if m is None:
        return None
    n = int(m.group(1))
    if n > MAX_AS:
        return BadQuery(text, f"not a valid AS number (AS numbers are 0 to {MAX_AS})")
    return AsQuery(text, n)


def _host_port(text: str, host: str, port: str) -> Query | BadQuery | None:
    number = int(port)
    if number > 65535:
        return BadQuery(text, "not a valid port (0 to 65535)")
    addr = parse_address_text(host)
    if addr is not None:
        return AddressQuery(text, addr[0], addr, number)
    name = hostname_of(host)
    return HostnameQuery(text, name, number) if name is not None else None


def _url(text: str) -> Query | BadQuery | None:
    if not _SCHEME.match(text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        return BadQuery(text, f"not a valid URL ({exc})")
    if not host:
        return BadQuery(text, "a URL without a host")
    addr = parse_address_text(host)
    if addr is not None:
        return AddressQuery(text, addr[0], addr, port)
    name = hostname_of(host)
    if name is None:
        return BadQuery(text, "the URL's host is neither an IP address nor a valid hostname")
    return HostnameQuery(text, name, port)


def parse_strict(text: str) -> Query | BadQuery | None:
    """The forms that cannot be anything else (address, network, AS number), or None."""
    addr = parse_address_text(text)
    if addr is not None:
        return AddressQuery(text, addr[0], addr)
    return _network(text) or _as_number(text)


def parse_item(text: str) -> list[Query | BadQuery]:
    """One item (stripped of surrounding whitespace) as its queries, in the order of the module's rules:
    one query for a form that fits, the finds of free text otherwise, or one ``BadQuery``."""
    raw = text.strip()
    if not raw:
        return [BadQuery(repr(text), "empty input")]
    got = parse_strict(raw) or _port_or_url(raw)
    if got is not None:
        return [got]
    name = hostname_of(raw)
    if name is not None:
        return [HostnameQuery(raw, name)]
    if _ADDRESS_LIKE.match(raw):  # an address written wrong, not text: say what is wrong with it
        try:
            parse_address(raw)
        except ValueError as exc:
            return [BadQuery(raw, f"not a valid IP address ({exc})")]
    return free_text(raw)


def _port_or_url(raw: str) -> Query | BadQuery | None:
    m = _V6_PORT.match(raw)
    if m is not None:
        addr = parse_address_text(m.group("host"))
        if addr is None or addr[1] != 6:
            return BadQuery(raw, "not a valid IPv6 address in brackets")
        got = _host_port(raw, m.group("host"), m.group("port"))
        return got
    m = _PORT.match(raw)
    if m is not None:
        return _host_port(raw, m.group("host"), m.group("port"))
    return _url(raw)


def free_text(text: str) -> list[Query | BadQuery]:
    """The addresses, networks and AS numbers in a line of free text, in order, each once."""
    found: dict[tuple[str, object], Query] = {}
    for word in text.split():
        w = word.strip(_TRIM)
        if not w:
            continue
        got = parse_strict(w) or _port_or_url(w)
        if isinstance(got, (AddressQuery, NetworkQuery, AsQuery)):
            found.setdefault(_key(got), got)
            continue
        for a in addresses_in(w):
            q = AddressQuery(a, a, parse_address(a))
            found.setdefault(_key(q), q)
    if not found:
        if len(text.split()) == 1:
            return [BadQuery(_shown(text), "neither an IP address nor a valid hostname")]
        return [BadQuery(_shown(text), "no address, network or AS number found in it")]
    return list(found.values())


def _key(q: Query) -> tuple[str, object]:
    if isinstance(q, AddressQuery):
        return ("address", q.address)
    if isinstance(q, NetworkQuery):
        return ("network", (q.version, q.first, q.last))
    if isinstance(q, AsQuery):
        return ("as", q.number)
    return ("hostname", q.hostname)


def _shown(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_lines(lines: Iterable[str], where: str) -> Iterator[Query | BadQuery]:
    """The queries of each line (one item or free text a line); ``where`` names the input in errors."""
    for n, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            yield BadQuery(f"{where} line {n}", f"longer than {MAX_LINE} characters; skipped")
            continue
        s = line.strip().lstrip("\ufeff")
        if not s or s.startswith("#"):
            continue
        yield from parse_item(s)


def _looks_like_path(text: str) -> bool:
    return "/" in text or text.startswith(("~", ".")) or os.sep in text


def read_arguments(args: Iterable[str], stdin: TextIO | None = None) -> Iterator[Query | BadQuery]:
    """The queries of command-line arguments, by the module's rules (files, ``-`` for ``stdin``), at most
    ``MAX_ITEMS`` (then one ``BadQuery`` saying reading stopped)."""
    count = 0
    for got in _arguments(args, stdin):
        if count >= MAX_ITEMS:
            yield BadQuery("input", f"more than {MAX_ITEMS} queries; the rest was not read")
            return
        if not isinstance(got, BadQuery):
            count += 1
        yield got


def _arguments(args: Iterable[str], stdin: TextIO | None) -> Iterator[Query | BadQuery]:
    stdin_read = False
    for arg in args:
        if arg == "-":
            if stdin is not None and not stdin_read:
                stdin_read = True
                yield from read_lines(stdin, "stdin")
            continue
        raw = arg.strip()
        strict = parse_strict(raw) if raw else None
        if strict is not None:
            yield strict
            continue
        if raw and not _SCHEME.match(raw) and os.path.lexists(raw):
            yield from _read_file(raw)
            continue
        if raw and _looks_like_path(raw) and not _SCHEME.match(raw) and _PORT.match(raw) is None:
            yield BadQuery(raw, "no such file (a URL needs its scheme: https://...)")
            continue
        yield from parse_item(arg)


def _read_file(path: str) -> Iterator[Query | BadQuery]:
    if os.path.isdir(path):
        yield BadQuery(path, "is a folder, not a file of addresses")
        return
    try:
        fh = open(path, encoding="utf-8", errors="replace", newline=None)  # noqa: SIM115 - closed below
    except OSError as exc:
        yield BadQuery(path, f"cannot read ({exc.strerror or exc})")
        return
    try:
        yield from read_lines(_bounded_lines(fh), path)
    except OSError as exc:
        yield BadQuery(path, f"read error ({exc.strerror or exc})")
    finally:
        fh.close()


def _bounded_lines(fh: TextIO) -> Iterator[str]:
    """Lines of at most ``MAX_LINE`` + 1 characters, so that a file without line breaks is not read whole:
    the rest of an over-long line is skipped."""
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith("\n"):
            while True:  # drop the rest of it
                rest = fh.readline(MAX_LINE)
                if not rest or rest.endswith("\n"):
                    break
        yield line


__all__ = [
    "MAX_ITEMS", "MAX_LINE", "AddressQuery", "AsQuery", "BadQuery", "HostnameQuery", "NetworkQuery", "Query",
    "free_text", "hostname_of", "parse_address_text", "parse_item", "parse_strict", "read_arguments",
    "read_lines",
]
