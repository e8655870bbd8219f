"""Per-user API keys: made here, shown once, stored only as a hash, checked in constant time.

A key reads `pm_<key_id>_<secret>`. `key_id` (public, 12 hex characters) finds the row;
`secret` (32 random bytes, base64url) is never stored, only its SHA-256. A slow password
hash would add nothing: the secret has 256 bits of entropy, so its hash cannot be
brute-forced, and SHA-256 keeps every authenticated request cheap. The comparison uses
hmac.compare_digest, and an unknown key_id is compared against a dummy hash, so a wrong
key costs the same whichever part of it is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from ..errors import InputError
from .sql import Connection, fetch_all, fetch_one

KEY_PREFIX = "pm_"
_KEY = re.compile(r"^pm_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DUMMY_HASH = hashlib.sha256(b"no such key").digest()
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")


@dataclass(frozen=True)
class Principal:
    """Who a request comes from."""

    user_id: str
    user_name: str
    team_id: str
    team_name: str
    is_admin: bool


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once
    key_id: str
    user_name: str
    team_name: str
    is_admin: bool


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    user_name: str
    team_name: str
    is_admin: bool
    created_at: datetime
    revoked_at: datetime | None


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def generate_key() -> tuple[str, str, bytes]:
    """(key, key_id, secret hash)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{key_id}_{secret}", key_id, _hash(secret)


def check_name(what: str, name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(f"{what} must be 1 to 255 printable characters")
    return name


async def create_key(conn: Connection, *, user: str, team: str, admin: bool) -> NewKey:
    """A new key for `user` in `team`, both created if new; `admin` makes the user an
    admin (it never demotes one: revoke and recreate for that)."""
    user, team = check_name("--user", user), check_name("--team", team)[:100]
    key, key_id, secret_hash = generate_key()
    async with conn.transaction():
        team_row = await fetch_one(
            conn,
            "INSERT INTO teams (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name ="
            " EXCLUDED.name RETURNING id",
            (team,),
        )
        assert team_row is not None
        user_row = await fetch_one(
            conn,
            "INSERT INTO users (team_id, name, is_admin) VALUES (%s, %s, %s)"
            " ON CONFLICT (team_id, name) DO UPDATE SET is_admin = users.is_admin OR"
            " EXCLUDED.is_admin RETURNING id, is_admin",
            (team_row["id"], user, admin),
        )
        assert user_row is not None
        await conn.execute(
            "INSERT INTO api_keys (key_id, user_id, secret_hash) VALUES (%s, %s, %s)",
            (key_id, user_row["id"], secret_hash),
        )
    return NewKey(key, key_id, user, team, bool(user_row["is_admin"]))


def key_id_of(key_or_id: str) -> str:
    """The key_id of a whole key, or the id itself."""
    match = _KEY.match(key_or_id)
    if match:
        return match.group(1)
    if re.fullmatch(r"[0-9a-f]{12}", key_or_id):
        return key_or_id
    raise InputError("give a key (pm_...) or its 12-character key id (see list-keys)")


async def revoke_key(conn: Connection, key_or_id: str) -> KeyInfo:
    key_id = key_id_of(key_or_id)
    async with conn.transaction():
        await conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL",
            (key_id,),
        )
        infos = await list_keys(conn, key_id=key_id)
    if not infos:
        raise InputError(f"no key with id {key_id}")
    return infos[0]


async def list_keys(
    conn: Connection, *, team: str | None = None, key_id: str | None = None
) -> list[KeyInfo]:
    rows = await fetch_all(
        conn,
        "SELECT k.key_id, u.name AS user_name, t.name AS team_name, u.is_admin,"
        " k.created_at, k.revoked_at FROM api_keys k JOIN users u ON u.id = k.user_id"
        " JOIN teams t ON t.id = u.team_id"
        " WHERE (%(team)s::text IS NULL OR t.name = %(team)s)"
        " AND (%(key_id)s::text IS NULL OR k.key_id = %(key_id)s)"
        " ORDER BY t.name, u.name, k.created_at",
        {"team": team, "key_id": key_id},
    )
    return [KeyInfo(**row) for row in rows]


async def authenticate(conn: Connection, key: str | None) -> Principal | None:
    """The key's owner, or None for a missing, malformed, unknown or revoked key."""
    match = _KEY.match(key or "")
    key_id, secret = (match.group(1), match.group(2)) if match else ("", "")
    row = None
    if match:
        row = await fetch_one(
            conn,
            "SELECT k.secret_hash, k.revoked_at, u.id AS user_id, u.name AS user_name,"
            " u.is_admin, t.id AS team_id, t.name AS team_name FROM api_keys k"
            " JOIN users u ON u.id = k.user_id JOIN teams t ON t.id = u.team_id"
            " WHERE k.key_id = %s",
            (key_id,),
        )
    stored = bytes(row["secret_hash"]) if row is not None else _DUMMY_HASH
    equal = hmac.compare_digest(stored, _hash(secret))
    if row is None or not equal or row["revoked_at"] is not None:
        return None
    return Principal(
        user_id=str(row["user_id"]),
        user_name=str(row["user_name"]),
        team_id=str(row["team_id"]),
        team_name=str(row["team_name"]),
        is_admin=bool(row["is_admin"]),
    )
