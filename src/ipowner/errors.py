"""One exception hierarchy for the whole library.

Every error a user can cause (bad input, a corrupt database, an unreachable registry) is an
``IpownerError``; the CLI turns these into one-line messages and exit codes, never tracebacks.
"""

from __future__ import annotations

import errno
import os


class IpownerError(Exception):
    """Base class of every error ipowner raises on purpose."""


class UsageError(IpownerError):
    """The caller asked for something that cannot be done as asked (exit code 2)."""


class InputError(IpownerError):
    """An input (address, hostname, file) could not be read or understood."""

    def __init__(self, input_name: str, reason: str) -> None:
        super().__init__(f"{input_name}: {reason}")
        self.input_name = input_name
        self.reason = reason


class InputNotFoundError(InputError, FileNotFoundError):
    """An input file that does not exist. Also a ``FileNotFoundError`` (``errno`` ENOENT, ``filename``),
    so that ``except FileNotFoundError`` catches it as it catches ``open``'s own."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        name = os.fspath(path)
        InputError.__init__(self, name, "no such file")
        self.errno = errno.ENOENT
        self.strerror = os.strerror(errno.ENOENT)
        self.filename = name

    def __str__(self) -> str:
        return f"{self.input_name}: {self.reason}"


class DocumentError(InputError):
    """A JSON document that is not one ipowner wrote, or of a schema version it cannot read."""


class InvalidAddressError(InputError):
    """Text that is neither an IP address nor a resolvable hostname."""


class ResolutionError(InputError):
    """A hostname that could not be resolved."""


class DatabaseError(IpownerError):
    """A location/ASN database is missing, unreadable or corrupt."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class CaptureError(InputError):
    """A capture or log could not be read (or could only be read in part)."""


class RdapError(IpownerError):
    """A registry query failed: HTTP error, RDAP error object, malformed body, timeout."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class OfflineError(IpownerError):
    """A network operation was attempted while running offline."""
