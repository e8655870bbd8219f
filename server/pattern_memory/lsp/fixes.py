"""Finding learned fixes in one document version (runs in a worker thread).

Candidates come from the store's lexical code search over windows of the document (see
windows.py; no embedding: fast); each candidate's before-code is then located token by token
with the matching engine. Lookups, tokens and templates are cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..matching import (
    CodeMatch,
    DocumentTokens,
    FixTemplate,
    Token,
    build_template,
    find_matches,
    normalize_language,
    tokenize,
)
from ..memory.service import PatternMemory
from ..memory.types import StoredPattern
from ..patterns import ProblemType
from ..settings import Settings
from .convert import LineIndex
from .windows import Window, split_windows

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
    """Caches shared by the analyses of all documents, keyed by window text: after an edit
    only the windows it touched are looked up and tokenized again."""

    lookups: LruCache[tuple[int, str, str], tuple[StoredPattern, ...]]
    tokens: LruCache[tuple[str, str], tuple[Token, ...]]
    templates: LruCache[tuple[str, str, str], FixTemplate | None]
    generation: int = 0  # bumped when the store changes: the lookups are then stale
    store_version: int | None = None  # the store's change token when last looked at
    # Patterns whose counts changed since they were looked up (feedback): these win.
    updated: dict[str, StoredPattern] = field(default_factory=dict)

    @classmethod
    def create(cls) -> FixFinder:
        return cls(lookups=LruCache(4096), tokens=LruCache(4096), templates=LruCache(20_000))

    def store_changed(self) -> None:
        self.generation += 1
        self.lookups.clear()
        self.updated.clear()

    def candidates(
        self,
        memory: PatternMemory,
        settings: Settings,
        windows: list[Window],
        cancel: threading.Event,
        language: str,
    ) -> dict[str, StoredPattern]:
        """Patterns worth locating: looked up by the windows' text, of the document's
        language (a Python fix never rewrites JavaScript), still trusted."""
        found: dict[str, StoredPattern] = {}
        version = memory.change_token()
        if version != self.store_version:
            # Patterns or feedback changed (the CLI, another editor, our own indexer): every
            # cached lookup and count may be stale.
            self.store_version = version
            self.store_changed()
        for window in windows:
            if cancel.is_set():
                raise Cancelled
            key = (self.generation, language, _digest(window.text))
            hits = self.lookups.get(key)
            if hits is None:
                hits = tuple(
                    hit.stored
                    for hit in memory.search_code(
                        window.text, k=CANDIDATES_PER_WINDOW, language=language or None
                    )
                )
                self.lookups.put(key, hits)
            for looked_up in hits:
                stored = self.updated.get(looked_up.pattern.pattern_id, looked_up)
                if _usable(stored, settings, language):
                    found.setdefault(stored.pattern.pattern_id, stored)
        return found

    def document_tokens(self, text: str, windows: list[Window], language: str) -> DocumentTokens:
        """The document's tokens, assembled from each window's (cached) tokens."""
        tokens: list[Token] = []
        for window in windows:
            key = (language, _digest(window.text))
            relative = self.tokens.get(key)
            if relative is None:
                relative = tuple(tokenize(window.text, language))
                self.tokens.put(key, relative)
            shift = window.offset
            tokens.extend(Token(t.kind, t.text, t.start + shift, t.end + shift) for t in relative)
        return DocumentTokens(text, language, tokens)

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
        windows = split_windows(text)
        candidates = self.candidates(memory, settings, windows, cancel, language)
        if not candidates:
            return []
        document = self.document_tokens(text, windows, language)
        index = LineIndex(text, codec)
        located: list[tuple[StoredPattern, CodeMatch]] = []
        for stored in candidates.values():
            if cancel.is_set():
                raise Cancelled
            template = self.template(stored, language)
            if template is not None:
                matches = find_matches(document, template, min_renamed_score=settings.similarity)
                located.extend((stored, match) for match in matches)
        return _rank(located, index)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _usable(stored: StoredPattern, settings: Settings, language: str) -> bool:
    """Only bug fixes of the document's language are offered in an editor (a forged fix
    stated in prose has the language "text": never), and only those still trusted."""
    return (
        stored.pattern.problem_type is ProblemType.BUG_FIX
        and bool(language)
        and normalize_language(stored.pattern.language) == language
        and not stored.retired
        and stored.meets_success_rate(settings.min_success_rate)
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
