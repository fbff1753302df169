"""The databases a run uses, for ``ipowner data`` (``ipowner.data/3``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ipowner.exitcodes import ExitCode, combine
from ipowner.model.kinds import DatabaseOrigin
from ipowner.model.serialize import check_schema, record_from_plain, to_plain
from ipowner.model.sources import SourceInfo

SCHEMA_DATA = "ipowner.data/3"
# /2 had no due on a database and no cloud_sources; /1 had no registry_sources either
SCHEMA_DATAS_READ = ("ipowner.data/3", "ipowner.data/2", "ipowner.data/1")


@dataclass(slots=True)
class DatabaseInfo:
    """One location/AS database in use, for `ipowner data` and report footers."""

    path: str
    source_id: str
    database_type: str
    kind: str  # city, country, asn, isp, anonymous-ip, enterprise, connection-type, domain, ..., embedded
    vendor: str  # "MaxMind", "DB-IP", "IPinfo", "ipowner", "unknown"
    build_date: datetime | None
    age_days: int | None  # whole days since the build date
    licence: str | None
    ip_version: int  # 4: IPv4 only; 6: IPv4 and IPv6
    node_count: int
    origin: DatabaseOrigin
    description: str | None = None
    sources: list[SourceInfo] = field(default_factory=list)  # the embedded database's inputs, with their dates
    due: bool = False  # the embedded database's oldest input is older than the due age: `ipowner data update` would refresh it

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class TableSource:
    """One input of the registry table (a registry's delegation statistics), for `ipowner data`."""

    name: str  # "APNIC delegation statistics (delegated-apnic-20260617)"
    registry: str
    date: datetime | None  # the file's date (None: the table has no file of this registry)
    age_days: int | None
    licence: str | None  # the publisher's terms
    due: bool  # older than the due age, or missing: `ipowner data update` would fetch it
    path: str | None  # the table it is in

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class CloudSource:
    """One provider's range file in the cloud snapshot in use, for `ipowner data`."""

    name: str  # "AWS ip-ranges.json"
    publisher: str  # "AWS"
    url: str  # where the publisher puts it
    date: datetime | None  # the file's own date
    age_days: int | None
    terms: str  # what is known of the publisher's terms (data/README.md)
    due: bool  # older than the due age, or undated: `ipowner data update` would fetch it
    path: str  # the snapshot it is in

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class DataStatus:
    """Every database in use and every one that could not be opened."""

    databases: list[DatabaseInfo] = field(default_factory=list)  # given, then discovered, then embedded
    problems: list[str] = field(default_factory=list)  # one line each: "<path>: <reason>"
    registry_sources: list[TableSource] = field(default_factory=list)  # the registry table's inputs
    cloud_sources: list[CloudSource] = field(default_factory=list)  # the cloud snapshot's range files

    SCHEMA: ClassVar[str] = SCHEMA_DATA

    @property
    def embedded(self) -> DatabaseInfo | None:
        """The database shipped with ipowner (its build date and age, its inputs), when it is in use."""
        return next((d for d in self.databases if d.origin == DatabaseOrigin.EMBEDDED), None)

    @property
    def due(self) -> list[str]:
        """The name of every input `ipowner data update` would refresh: the embedded database, the registry
        table's files, the cloud snapshot's files."""
        return ([f"embedded database ({d.path})" for d in self.databases if d.due]
                + [s.name for s in self.registry_sources if s.due] + [c.name for c in self.cloud_sources if c.due])

    @property
    def exit_code(self) -> ExitCode:
        """0 every database opened, 1 none usable and some failed, 4 some failed."""
        return combine(answered=len(self.databases), failed=len(self.problems))

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner.data/3`` document."""
        return {"schema": SCHEMA_DATA, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DataStatus:
        check_schema(doc, SCHEMA_DATAS_READ)
        return record_from_plain(cls, doc, "data")


__all__ = ["SCHEMA_DATA", "SCHEMA_DATAS_READ", "CloudSource", "DataStatus", "DatabaseInfo", "TableSource"]
