"""The team server's configuration, read once from the command line and the environment.

These are a server operator's choices, not an editor user's, so they are not in Settings
(which the editors mirror): `DATABASE_URL` (else an embedded PostgreSQL in the data
directory) and `PATTERN_MEMORY_TEAM_STORAGE` (adapter files, default
`<data dir>/team-server/adapters`). Every app process (`--workers`, other hosts) reads the
same two variables, so all of them share one database and one storage directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..settings import default_data_dir
from .models import MAX_BODY_BYTES

STORAGE_ENV = "PATTERN_MEMORY_TEAM_STORAGE"
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


def default_storage_dir() -> Path:
    return default_data_dir() / "team-server" / "adapters"


def storage_dir_from_env() -> Path:
    explicit = os.environ.get(STORAGE_ENV)
    return Path(explicit) if explicit else default_storage_dir()
