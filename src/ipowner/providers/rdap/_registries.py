"""The registries RDAP asks and recognises: the one RIR/NIR table of ``reference.registries``.

Used to name the registry behind a URL or a response, and to recognise an NIR by the maintainer,
IRT and entity handles it leaves on its members' records.
"""

from __future__ import annotations

from ipowner.reference.registries import (
    RIR_KEYS,
    Registry,
    by_name,
    by_port43,
    by_url,
    nirs,
    registries,
    registry_of_handle,
    rirs,
)

__all__ = ["RIR_KEYS", "Registry", "by_name", "by_port43", "by_url", "nirs", "registries", "registry_of_handle", "rirs"]
