"""Finding learned fixes in one document version (runs in a worker thread).

Candidates come from the store's lexical code search over windows of the document (no
embedding: fast); each candidate's before-code is then located token by token with the
matching engine. Window lookups and templates are cached, so that an edit re-queries only the
windows it changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..matching import CodeMatch, DocumentTokens, FixTemplate, build_template, find_matches
from ..memory.service import PatternMemory
from ..memory.types import StoredPattern
from ..patterns import ProblemType
from ..settings import Settings
from .convert import LineIndex

WINDOW_LINES = 60
WINDOW_STEP = 50
CANDIDATES_PER_WINDOW = 20
MAX_FIXES_PER_RANGE = 3

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass(frozen=True)
class FoundFix:
    """A learned fix that applies at one place of one document version."""

    stored: StoredPattern
    match: CodeMatch
    range: types.Range  # the code that resembles the before-code
    edit_range: types.Range  # the span the fix replaces
    preferred: bool  # the single best fix for its range

    @property
    def pattern_id(self) -> str:
        return self.stored.pattern.pattern_id


class Cancelled(Exception):
    """A newer version of the document superseded this analysis."""


@dataclass
class FixFinder:
    """Caches shared by the analyses of all documents."""

    windows: LruCache[tuple[int, str], tuple[StoredPattern, ...]]
    templates: LruCache[tuple[str, str, str], FixTemplate | None]
    generation: int = 0  # bumped when the store changes: window lookups are then stale

    @classmethod
    def create(cls) -> FixFinder:
        return cls(windows=LruCache(4096), templates=LruCache(20_000))

    def store_changed(self) -> None:
        self.generation += 1
        self.windows.clear()

    def candidates(
        self, memory: PatternMemory, settings: Settings, text: str, cancel: threading.Event
    ) -> dict[str, StoredPattern]:
        lines = text.split("\n")
        found: dict[str, StoredPattern] = {}
        last_first = max(len(lines) - WINDOW_LINES + WINDOW_STEP, 1)
        for first in range(0, last_first, WINDOW_STEP):
            if cancel.is_set():
                raise Cancelled
            window = "\n".join(lines[first : first + WINDOW_LINES])
            if not window.strip():
                continue
            key = (self.generation, hashlib.blake2b(window.encode(), digest_size=16).hexdigest())
            hits = self.windows.get(key)
            if hits is None:
                hits = tuple(h.stored for h in memory.search_code(window, k=CANDIDATES_PER_WINDOW))
                self.windows.put(key, hits)
            for stored in hits:
                if _usable(stored, settings):
                    found.setdefault(stored.pattern.pattern_id, stored)
        return found

    def template(self, stored: StoredPattern, language: str) -> FixTemplate | None:
        pattern = stored.pattern
        key = (pattern.pattern_id, pattern.solution_hash, language)
        template = self.templates.get(key)
        if template is None:
            template = build_template(pattern.before_code, pattern.after_code, language)
            self.templates.put(key, template)
        return template

    def find(
        self,
        memory: PatternMemory,
        settings: Settings,
        text: str,
        *,
        language: str,
        codec: PositionCodec,
        cancel: threading.Event,
    ) -> list[FoundFix]:
        candidates = self.candidates(memory, settings, text, cancel)
        if not candidates:
            return []
        document = DocumentTokens.from_text(text, language)
        index = LineIndex(text, codec)
        located: list[tuple[StoredPattern, CodeMatch]] = []
        for stored in candidates.values():
            if cancel.is_set():
                raise Cancelled
            template = self.template(stored, language)
            if template is not None:
                located.extend((stored, match) for match in find_matches(document, template))
        return _rank(located, index)


def _usable(stored: StoredPattern, settings: Settings) -> bool:
    """Only bug fixes are offered in an editor, and only those still trusted."""
    return (
        stored.pattern.problem_type is ProblemType.BUG_FIX
        and not stored.retired
        and stored.success_rate >= settings.min_success_rate
    )


def _rank(located: list[tuple[StoredPattern, CodeMatch]], index: LineIndex) -> list[FoundFix]:
    """Group fixes by the code they cover; keep the best few of each, the best one preferred
    when it is strictly better than the next."""
    groups: dict[tuple[int, int], list[tuple[StoredPattern, CodeMatch]]] = {}
    for stored, match in located:
        groups.setdefault((match.start, match.end), []).append((stored, match))
    fixes: list[FoundFix] = []
    for (start, end), members in sorted(groups.items()):
        members.sort(
            key=lambda sm: (sm[1].score, sm[0].success_rate, sm[0].pattern.confidence),
            reverse=True,
        )
        kept = members[:MAX_FIXES_PER_RANGE]
        ranks = [(m.score, s.success_rate, s.pattern.confidence) for s, m in kept]
        single_best = len(ranks) == 1 or ranks[0] > ranks[1]
        code_range = index.range(start, end)
        for position, (stored, match) in enumerate(kept):
            fixes.append(
                FoundFix(
                    stored=stored,
                    match=match,
                    range=code_range,
                    edit_range=index.range(match.replace_start, match.replace_end),
                    preferred=position == 0 and single_best,
                )
            )
    return fixes
