"""The team server's configuration, read once from the command line and the environment.

These are a server operator's choices, not an editor user's, so they are not in Settings
(which the editors mirror): `DATABASE_URL` (else an embedded PostgreSQL in the data
directory) and `PATTERN_MEMORY_TEAM_STORAGE` (adapter files, default
`<data dir>/team-server/adapters`) and `PATTERN_MEMORY_TEAM_PAGE_CACHE` (how many GET
/patterns answers a process keeps, default 1000, 0 for none). Every app process
(`--workers`, other hosts) reads the same variables, so all of them share one database and
one storage directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..settings import default_data_dir
from .models import MAX_BODY_BYTES

STORAGE_ENV = "PATTERN_MEMORY_TEAM_STORAGE"
PAGE_CACHE_ENV = "PATTERN_MEMORY_TEAM_PAGE_CACHE"
PAGE_CACHE_ENTRIES = 1_000  # ~20 kB each for 20 patterns
# An adapter upload is a model file, far larger than any JSON body.
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    database_url: str
    storage_dir: Path
    max_body_bytes: int = MAX_BODY_BYTES
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    pool_min: int = 2
    pool_max: int = 10
    page_cache_entries: int = PAGE_CACHE_ENTRIES


def default_storage_dir() -> Path:
    return default_data_dir() / "team-server" / "adapters"


def storage_dir_from_env() -> Path:
    explicit = os.environ.get(STORAGE_ENV)
    return Path(explicit) if explicit else default_storage_dir()


def page_cache_entries_from_env() -> int:
    text = os.environ.get(PAGE_CACHE_ENV, "").strip()
    if not text:
        return PAGE_CACHE_ENTRIES
    try:
        entries = int(text)
    except ValueError:
        raise InputError(f"{PAGE_CACHE_ENV} must be a whole number, not {text!r}") from None
    if entries < 0:
        raise InputError(f"{PAGE_CACHE_ENV} must be 0 or more")
    return entries
