"""npm packages from their publisher, the npm registry: version document -> tarball URL -> tarball, checked.

``manifest_url`` is the registry's document of a package's latest version (``<registry>/<package>/latest``:
``name``, ``version``, ``dist.tarball``, ``dist.integrity``, ``dist.shasum``); ``check_manifest`` takes
what the build needs from it, and ``check_integrity`` compares a tarball with the published digest (the
strongest of the SRI ``dist.integrity`` sha512/sha384/sha256, else the sha1 ``dist.shasum``). Everything
the registry or a mirror sends is hostile input: ``read_members`` reads named members of a tarball without
extracting anything to disk, with bounds on the tarball's members (count, sizes, what is unpacked), and
refuses links, special files and paths that leave the package folder.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

REGISTRY = "https://registry.npmjs.org"
MAX_MANIFEST_BYTES = 1 << 20  # one version's document; the real ones are a few KiB
MAX_TARBALL_BYTES = 256 << 20  # compressed
MAX_MEMBER_BYTES = 1 << 30  # one member read (the numeric CSVs are up to a few hundred MiB)
MAX_UNPACKED_BYTES = 2 << 30  # the whole tar stream, members read or skipped: what gunzip is made to produce
MAX_MEMBERS = 10_000
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+-]{0,63}")  # semver: begins with a digit
_SRI = {"sha512": hashlib.sha512, "sha384": hashlib.sha384, "sha256": hashlib.sha256}


def size_text(n: int) -> str:
    """A byte limit as people read it (1 MiB, 8 KiB, 100 bytes)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n:,} bytes"


class NpmError(ValueError):
    """A registry answer or a tarball that cannot be used; the message is one line."""


@dataclass(frozen=True, slots=True)
class Manifest:
    package: str
    version: str
    tarball: str  # the tarball's URL, as the registry names it
    integrity: str | None  # "sha512-<base64>" (SRI), possibly several separated by spaces
    shasum: str | None  # sha1, hex


def manifest_url(package: str, registry: str = REGISTRY) -> str:
    return f"{registry}/{package}/latest"


def check_manifest(body: bytes, package: str, registry: str = REGISTRY) -> Manifest:
    """The version document of ``package``; raises ``NpmError``. The tarball must be on the registry's host."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise NpmError(f"the registry's answer is not JSON ({str(exc)[:200]})") from exc
    if not isinstance(doc, dict):
        raise NpmError("the registry's answer is not a version document")
    if doc.get("name") != package:
        raise NpmError(f"a version document of {str(doc.get('name'))[:80]!r} where {package}'s was expected")
    version, dist = doc.get("version"), doc.get("dist")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise NpmError("the version document has no usable version")
    if not isinstance(dist, dict) or not isinstance(dist.get("tarball"), str):
        raise NpmError("the version document names no tarball")
    tarball = dist["tarball"][:2000]
    parts, home = urlsplit(tarball), urlsplit(registry)
    if parts.scheme not in ("https", "http") or parts.netloc != home.netloc or ".." in parts.path.split("/"):
        raise NpmError(f"the tarball URL {tarball[:200]!r} is not on {home.netloc}; refused")
    integrity = dist.get("integrity") if isinstance(dist.get("integrity"), str) else None
    shasum = dist.get("shasum") if isinstance(dist.get("shasum"), str) else None
    if integrity is None and shasum is None:
        raise NpmError("the version document publishes no integrity or shasum; refused")
    return Manifest(package, version, tarball, integrity[:2000] if integrity else None,
                    shasum[:80] if shasum else None)


def check_integrity(body: bytes, manifest: Manifest) -> str:
    """Compare ``body`` with the published digest; returns what was checked, raises ``NpmError``."""
    if manifest.integrity:
        best: tuple[str, str] | None = None
        for item in manifest.integrity.split():
            algo, _, digest = item.partition("-")
            if algo in _SRI and (best is None or list(_SRI).index(algo) < list(_SRI).index(best[0])):
                best = (algo, digest.split("?")[0])
        if best is not None:
            algo, want = best
            got = base64.b64encode(_SRI[algo](body).digest()).decode("ascii")
            if got != want:
                raise NpmError(f"{algo} {got[:16]}... differs from the registry's integrity {want[:16]}...; refused")
            return f"{algo} matches the registry's integrity"
    if manifest.shasum:
        got = hashlib.sha1(body, usedforsecurity=False).hexdigest()
        if got != manifest.shasum.lower():
            raise NpmError(f"sha1 {got} differs from the registry's shasum {manifest.shasum[:40]}; refused")
        return "sha1 matches the registry's shasum"
    raise NpmError("the registry publishes no digest ipowner can check (sha512, sha384, sha256 or sha1); refused")


class _Bounded(io.RawIOBase):
    """The uncompressed tar stream, refused past ``limit`` bytes (a gzip bomb stops here)."""

    def __init__(self, raw: gzip.GzipFile, limit: int) -> None:
        self.raw, self.left = raw, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.raw.read(min(len(buf), self.left + 1))
        if len(data) > self.left:
            raise NpmError(f"tarball unpacks to more than {size_text(MAX_UNPACKED_BYTES)}; refused")
        self.left -= len(data)
        buf[: len(data)] = data
        return len(data)


def _safe_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    return ".." not in name.split("/")


def read_members(tarball: bytes, wanted: list[str]) -> dict[str, bytes]:
    """The bytes of each member named in ``wanted`` (all must be there); raises ``NpmError``."""
    if len(tarball) > MAX_TARBALL_BYTES:
        raise NpmError(f"tarball larger than {size_text(MAX_TARBALL_BYTES)}; refused")
    out: dict[str, bytes] = {}
    unpacked = 0
    stream = _Bounded(gzip.GzipFile(fileobj=io.BytesIO(tarball), mode="rb"), MAX_UNPACKED_BYTES)
    try:
        # stream mode: each member is read or skipped once, in order, through the bounded stream
        with tarfile.open(fileobj=stream, mode="r|") as tf:
            for count in range(MAX_MEMBERS + 1):
                member = tf.next()
                if member is None:
                    break
                if count == MAX_MEMBERS:
                    raise NpmError(f"more than {MAX_MEMBERS} members in the tarball; refused")
                name = member.name
                if not _safe_name(name):
                    raise NpmError(f"member {name[:120]!r} leaves the package folder; refused")
                if not (member.isfile() or member.isdir()):
                    raise NpmError(f"member {name[:120]!r} is a link or a special file; refused")
                unpacked += member.size
                if unpacked > MAX_UNPACKED_BYTES:
                    raise NpmError(f"members larger than {size_text(MAX_UNPACKED_BYTES)} together; refused")
                if name in wanted and member.isfile():
                    if member.size > MAX_MEMBER_BYTES:
                        raise NpmError(f"member {name} larger than {size_text(MAX_MEMBER_BYTES)}; refused")
                    if name in out:
                        raise NpmError(f"member {name} twice in the tarball; refused")
                    fh = tf.extractfile(member)
                    data = fh.read(MAX_MEMBER_BYTES + 1) if fh is not None else b""
                    if len(data) != member.size:
                        raise NpmError(f"member {name} is cut short")
                    out[name] = data
    except NpmError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise NpmError(f"not a readable npm tarball ({type(exc).__name__}: {str(exc)[:200]})") from exc
    missing = [n for n in wanted if n not in out]
    if missing:
        raise NpmError(f"no {', '.join(missing)} in the tarball")
    return out


def tarball_name(manifest: Manifest) -> str:
    """The file name a checked tarball is kept under (one package, one version)."""
    return f"{tarball_prefix(manifest.package)}{manifest.version}.tgz"


def tarball_prefix(package: str) -> str:
    return f"{package.strip('@').replace('/', '-')}-"


def is_tarball_of(name: str, package: str) -> bool:
    """Whether a kept file name is a tarball of ``package`` (not of one whose name merely begins the same)."""
    prefix = tarball_prefix(package)
    return name.startswith(prefix) and name.endswith(".tgz") and bool(_VERSION.fullmatch(name[len(prefix):-4]))


__all__ = ["MAX_MANIFEST_BYTES", "MAX_TARBALL_BYTES", "REGISTRY", "Manifest", "NpmError", "check_integrity",
           "check_manifest", "is_tarball_of", "manifest_url", "read_members", "tarball_name", "tarball_prefix"]
