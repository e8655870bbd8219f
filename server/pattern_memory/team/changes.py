"""The database's change notifications, heard by one connection per app process, applied to
that process's caches (team/caches.py).

Migration 0003's triggers NOTIFY on every committed change of keys, users, teams, patterns
and contributors. This listener turns the caches on once it is LISTENing (emptied first:
changes made before were not heard), and off, emptied, as soon as its connection fails or
does not answer the heartbeat; it then reconnects with a backoff. So a cache never serves
what a change committed while nobody was listening made stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import psycopg

from .caches import ScopedCache
from .db import CONNECT_TIMEOUT_S
from .keys import Principal
from .migrations import AUTH_CHANNEL, PATTERNS_CHANNEL

log = logging.getLogger(__name__)

# A connection that dies without a word (a cut network) is noticed within this long.
HEARTBEAT_S = 5.0
RETRY_S = (0.2, 5.0)  # first and longest wait between reconnections


@dataclass
class ChangeListener:
    url: str
    principals: ScopedCache[Principal]
    pages: ScopedCache[bytes]
    _task: asyncio.Task[None] | None = None
    listening: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="team-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._off()

    def _caches(self) -> tuple[ScopedCache[Principal], ScopedCache[bytes]]:
        return (self.principals, self.pages)

    def _off(self) -> None:
        self.listening.clear()
        for cache in self._caches():
            cache.enabled = False
            cache.clear()

    async def _run(self) -> None:
        wait = RETRY_S[0]
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self.listening.is_set():
                    log.warning("change notifications lost, caches off: %s", exc)
                    wait = RETRY_S[0]
            self._off()
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_S[1])

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        ) as conn:
            await conn.execute(f"LISTEN {AUTH_CHANNEL}")
            await conn.execute(f"LISTEN {PATTERNS_CHANNEL}")
            for cache in self._caches():
                cache.clear()
                cache.enabled = True
            self.listening.set()
            while True:
                async for notice in conn.notifies(timeout=HEARTBEAT_S):
                    self._apply(notice.channel, notice.payload)
                async with asyncio.timeout(HEARTBEAT_S):
                    await conn.execute("SELECT 1")

    def _apply(self, channel: str, payload: str) -> None:
        if channel == AUTH_CHANNEL:
            self.principals.clear()
        elif channel == PATTERNS_CHANNEL:
            self.pages.drop(payload)
