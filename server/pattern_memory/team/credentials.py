"""Team API keys on this machine: `PATTERN_MEMORY_API_KEY`, else the key `pattern-memory
team login` saved for the server.

Keys live in their own file in the user's config directory (`team-keys.json`, mode 0600,
one key per server URL), never in config.yaml or a repository's .pattern-memory.yaml (the
settings have no key field at all, so no layer can carry one). Like ssh with its private
keys, a key file that others can read is refused rather than used.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import InputError
from ..settings import ENV_PREFIX

API_KEY_ENV = ENV_PREFIX + "API_KEY"
KEY_FILE_NAME = "team-keys.json"
MAX_KEY_CHARS = 512


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pattern-memory"


def key_file() -> Path:
    return config_dir() / KEY_FILE_NAME


def check_key(key: str) -> str:
    """A key as typed or pasted: one line of printable ASCII, surrounding blanks dropped."""
    key = key.strip()
    if not key:
        raise InputError("the API key is empty")
    if len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable() or " " in key:
        raise InputError("that does not look like an API key (one word of printable ASCII)")
    return key


def _read(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"{path} can be read by other users: run `chmod 600 {path}` (or log in again)"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}; log in again to rewrite it") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, dict):
        raise InputError(f"{path} is not a key file; log in again to rewrite it")
    return {str(k): str(v) for k, v in keys.items() if isinstance(v, str)}


def _write(path: Path, keys: Mapping[str, str]) -> None:
    """Atomically, owner-only from the first byte (mkstemp creates the file 0600)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump({"version": 1, "keys": dict(keys)}, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_key(server: str, key: str) -> Path:
    path = key_file()
    keys = _read(path)
    keys[server] = check_key(key)
    _write(path, keys)
    return path


def remove_key(server: str) -> bool:
    path = key_file()
    keys = _read(path)
    if keys.pop(server, None) is None:
        return False
    _write(path, keys)
    return True


def resolve_key(server: str, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(key, where it came from): the environment wins over the saved key."""
    env = os.environ if environ is None else environ
    if env.get(API_KEY_ENV, "").strip():
        return check_key(env[API_KEY_ENV]), API_KEY_ENV
    saved = _read(key_file()).get(server)
    return (saved, str(key_file())) if saved else (None, "")
