"""What one app process keeps between requests: who a key belongs to, and the answers of
GET /patterns (ranked pages), so that a repeated request needs no database round trip.

Every fact still lives in PostgreSQL: a cache only serves while the process listens to the
database's change notifications (team/changes.py, triggers of migration 0003), which drop
what a change makes stale in every process, whoever made the change. While the listener is
not connected (at start, when the database is lost) the caches are off: every request reads
the database, as without them.

A value read from the database is stored only if nothing dropped its scope while it was read
(`ticket()` before the read, `put(ticket, ...)` after): a read that raced a change never
refills the cache with what the change replaced.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class Ticket:
    scope: str
    clears: int
    drops: int


class ScopedCache(Generic[V]):
    """A bounded LRU of values by (scope, key); a scope (a team) or everything can be dropped."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.enabled = False
        self._entries: OrderedDict[tuple[str, Hashable], V] = OrderedDict()
        self._clears = 0
        self._drops: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, scope: str, key: Hashable) -> V | None:
        if not self.enabled:
            return None
        value = self._entries.get((scope, key))
        if value is not None:
            self._entries.move_to_end((scope, key))
        return value

    def ticket(self, scope: str) -> Ticket:
        return Ticket(scope, self._clears, self._drops.get(scope, 0))

    def put(self, ticket: Ticket, key: Hashable, value: V) -> None:
        if not self.enabled or self.max_entries == 0 or ticket != self.ticket(ticket.scope):
            return
        self._entries[(ticket.scope, key)] = value
        self._entries.move_to_end((ticket.scope, key))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, scope: str) -> None:
        self._drops[scope] = self._drops.get(scope, 0) + 1
        for entry in [entry for entry in self._entries if entry[0] == scope]:
            del self._entries[entry]

    def clear(self) -> None:
        self._clears += 1
        self._entries.clear()
