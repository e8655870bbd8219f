"""PatternMemory: the facade the CLI, the language server and the assistant hooks use.

Every method is safe to call from any thread: the database gives each thread its own
connection, the vector index has its own lock, and calls into the model are serialised.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import InputError, StoreError
from ..languages import normalize_language
from ..matching.tokens import Token
from ..patterns import Pattern, PatternSource, ProblemType
from ..settings import Settings
from .db import Database
from .embedder import Embedder
from .filters import Filters, Scope
from .lifecycle import Decay, Lifecycle
from .metrics import FORGED, LOOKUP_MS, TIMING_WINDOW, Metrics, summarize
from .migrations import schema_version
from .search import CODE_COLUMNS, HybridSearch, Query
from .stats import LifecycleCounts, Stats, Timing
from .store import PatternStore
from .team_store import TeamSyncStore
from .text import lookup_text
from .types import ImportReport, Outcome, SaveStatus, SearchHit, StoredPattern
from .vectorize import Progress, VectorizeResult, vectorize_pending
from .vectors import FloatArray, VectorIndex

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
METRICS_FLUSH_SECONDS = 30.0
LOOKUP_COUNT = LOOKUP_MS + ".count"
# Query vectors kept per memory (one user: no user can time another's queries), latest
# first. Agent loops and retries send the same last message again; 128 vectors are 192 KiB.
QUERY_VECTORS_KEPT = 128


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PatternMemory:
    def __init__(
        self,
        settings: Settings,
        store: PatternStore,
        embedder: Embedder,
        *,
        clock: Clock = _utc_now,
        vector_index: VectorIndex | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._store = store
        self._embedder = embedder
        self._embed_lock = threading.Lock()
        self._query_vectors_lock = threading.Lock()
        self._query_vectors: OrderedDict[str, FloatArray] = OrderedDict()
        self._clock = clock
        self._index = VectorIndex(store.vectors) if vector_index is None else vector_index
        self._search = HybridSearch(store, self._index)
        self._flushed_at = time.monotonic()

    def for_user(self, user_id: str) -> PatternMemory:
        """This memory as another user sees it (a proxy serving several): the same store,
        model and vector index (which holds every user's rows and masks by scope), so that
        each user adds no copy of the vectors; its own settings, metrics and query cache."""
        settings = dataclasses.replace(self.settings, user_id=user_id)
        return PatternMemory(
            settings, self._store, self._embedder, clock=self._clock, vector_index=self._index
        )

    @classmethod
    def open(
        cls, settings: Settings, embedder: Embedder | None = None, *, clock: Clock = _utc_now
    ) -> PatternMemory:
        """Open (creating and migrating if needed) the database at `settings.db_path`."""
        if embedder is None:
            from .embedder import load_embedder

            embedder = load_embedder()
        store = PatternStore(Database(settings.db_path))
        stored_model = store.vectors.vector_state().model
        if stored_model is not None and stored_model != embedder.model_id:
            # Vectors of another model (or truncation) cannot be compared with this one's:
            # drop them; the next index, add or reindex embeds again (the cache keeps both).
            log.warning(
                "the stored vectors were made by %s, not %s: they will be embedded again",
                stored_model,
                embedder.model_id,
            )
            store.vectors.reset_vectors(None, None)
        elif not store.vectors.vector_index_consistent():
            # Vectors were added by a process that could not load sqlite-vec.
            store.vectors.rebuild_vector_table()
        return cls(settings, store, embedder, clock=clock)

    def close(self) -> None:
        try:
            self.flush_metrics()
        finally:
            self._store.db.close()

    def __enter__(self) -> PatternMemory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- learning ----------------------------------------------------------------------

    def add_patterns(
        self, patterns: Sequence[Pattern], *, lookup_texts: Sequence[str] | None = None
    ) -> list[str]:
        """Upsert (dedupe on the user's solution_hash), embed; returns the stored pattern
        ids (the existing one's for a duplicate). `lookup_texts`: what to embed for each
        pattern (e.g. the request a forged fix answered), else its message and changed
        lines."""
        return [pattern_id for pattern_id, _ in self._add(patterns, lookup_texts)]

    def import_patterns(
        self,
        patterns: Sequence[Pattern],
        lifecycles: Sequence[Lifecycle | None] | None = None,
        *,
        embed_progress: Progress | None = None,
    ) -> ImportReport:
        """Add patterns read from JSONL (with the lifecycle an export recorded, restored
        for the new ones): how many were new, already known, and the ids the user already
        has for another change (conflicts, left as they were). Every pattern still without
        a vector is embedded, also those an interrupted run left behind;
        embed_progress(done, total) counts them."""
        report = ImportReport()
        saved = self._add(patterns, None, lifecycles, skip_forgotten=True, embed=False)
        result = vectorize_pending(
            self._store.vectors, self._embedder, self._embed_lock, progress=embed_progress
        )
        report.embedded, report.embedded_from_cache = result.embedded, result.from_cache
        for pattern_id, status in saved:
            if status is SaveStatus.ADDED:
                report.added += 1
            elif status is SaveStatus.KNOWN:
                report.known += 1
            elif status is SaveStatus.FORGOTTEN:
                report.forgotten += 1
            else:
                report.conflicts.append(pattern_id)
        return report

    def add_team_patterns(
        self, patterns: Sequence[Pattern], owner: str
    ) -> list[tuple[str, SaveStatus]]:
        """Patterns pulled from a team server (source team), stored under `owner`
        (team_store.team_owner) and embedded: users who opt in with includeTeam see them."""
        return self._add(patterns, None, owner=owner)

    def drop_team_patterns(self, pattern_ids: Sequence[str], owner: str) -> int:
        """Team patterns the team server deleted (its tombstones), gone from this store
        too; the user's own patterns are never touched. Returns how many were here."""
        return self._store.delete_team_patterns(pattern_ids, owner)

    def _add(
        self,
        patterns: Sequence[Pattern],
        lookup_texts: Sequence[str] | None,
        lifecycles: Sequence[Lifecycle | None] | None = None,
        *,
        skip_forgotten: bool = False,
        embed: bool = True,
        owner: str | None = None,
    ) -> list[tuple[str, SaveStatus]]:
        if lookup_texts is not None and len(lookup_texts) != len(patterns):
            raise InputError("add_patterns: one lookup text per pattern, or none")
        texts = (
            list(lookup_texts) if lookup_texts is not None else [lookup_text(p) for p in patterns]
        )
        if lifecycles is not None and len(lifecycles) != len(patterns):
            raise InputError("import_patterns: one lifecycle (or None) per pattern, or none")
        saved = self._store.upsert(
            list(zip(patterns, texts, strict=True)),
            owner or self.settings.user_id,
            self._now(),
            lifecycles,
            skip_forgotten=skip_forgotten,
        )
        forged = sum(
            1
            for pattern, (_id, status) in zip(patterns, saved, strict=True)
            if status is SaveStatus.ADDED and pattern.source is PatternSource.FORGE
        )
        if forged:
            self.metrics.count(FORGED, forged)
        if embed:
            vectorize_pending(self._store.vectors, self._embedder, self._embed_lock)
        return saved

    # --- retrieval ---------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        k: int | None = None,
        problem_type: ProblemType | None = None,
        include_stale: bool = False,
        include_reverted: bool = False,
    ) -> list[SearchHit]:
        """Hybrid lexical + vector search with every filter of the settings applied.
        include_stale / include_reverted: also patterns past decayAfterDays and patterns of
        reverted commits (the CLI's search shows them flagged; injection never asks)."""
        started = time.perf_counter()
        vector = self._query_vector(text) if text.strip() else None
        query = self._with_hidden(
            self._query(text, k or self.settings.max_injected, problem_type),
            include_stale,
            include_reverted,
        )
        hits = self._search.search(query, vector)
        self._observe(started)
        return hits

    def search_code(
        self,
        code: str,
        *,
        k: int = 20,
        language: str | None = None,
        problem_type: ProblemType | None = None,
        include_stale: bool = False,
        include_reverted: bool = False,
        min_relevance: float | None = None,
        tokens: Sequence[Token] | None = None,
    ) -> list[SearchHit]:
        """Lexical (FTS5 over the patterns' before-code tokens) and by shape (the code with
        its identifiers as placeholders, so renamed code is found too): fast, no embedding.
        The score fuses the IDF-weighted share of a pattern's before-code tokens found in
        `code` with the share of its shape's shingles found there (1.0 when it can match),
        so a long window that contains a short pattern scores high. `language`: how to read
        `code` (an editor language id or a suffix), and only patterns of that language are
        returned (in the candidate queries); unknown, it is read both ways, any language.
        Stale patterns and those of reverted commits only with include_stale /
        include_reverted (the CLI's `search --file --line`, which flags them; never the
        editor). min_relevance: hits scoring less are cut (default: `similarity`; the editor
        passes 0: its token matcher decides). problem_type: only patterns of that type (in
        the candidate queries, so others do not use up the candidate budget). tokens: `code`
        as matching.tokenize read it for `language`, when the caller has them (the editor's
        finder tokenizes each window once and hands its tokens on)."""
        started = time.perf_counter()
        query = self._with_hidden(
            self._query(code, k, problem_type), include_stale, include_reverted
        )
        if min_relevance is not None:
            query = dataclasses.replace(query, similarity=min_relevance)
        if language:
            filters = dataclasses.replace(query.filters, language=normalize_language(language))
            query = dataclasses.replace(query, filters=filters)
        hits = self._search.search(
            query,
            None,
            columns=CODE_COLUMNS,
            containment=True,
            language=language,
            tokens=tokens,
        )
        self._observe(started)
        return hits

    def get(self, pattern_id: str) -> StoredPattern | None:
        """The pattern if the user sees it (own; the team's when opted in)."""
        return self._store.get(pattern_id, self._scope(), self._decay())

    def commit_patterns(self, commit_sha: str, *, limit: int = 200) -> list[Pattern]:
        """Up to `limit` of the caller's patterns learned from one commit."""
        if not commit_sha:
            return []
        return self.store.commit_patterns(commit_sha, self._scope(), limit)

    def stored_templates(self, keys: Sequence[str], version: str) -> dict[str, str]:
        """The finder's stored Prepared texts (matching/prepared.py) by content key, those
        made under `version`; none when they cannot be read (the finder builds them: a
        damaged template table must not stop the editor's diagnostics)."""
        try:
            return self._store.templates.texts(keys, version)
        except StoreError as exc:
            log.warning("stored templates cannot be read (%s): building them", exc)
            return {}

    def store_templates(self, texts: Mapping[str, str], version: str) -> None:
        """Keep Prepared texts the finder built, for the next process (best effort: never
        waits for another writer)."""
        self._store.templates.store_texts(texts, version)

    def iter_patterns(self) -> Iterator[Pattern]:
        """Every pattern the user sees (own, and the team's when opted in), oldest first."""
        return self._store.iter_patterns(self._scope())

    def iter_stored(self) -> Iterator[StoredPattern]:
        """The same, with each pattern's lifecycle state (for export)."""
        return self._store.iter_stored(self._scope(), self._decay())

    # --- lifecycle ---------------------------------------------------------------------

    def record_outcome(self, pattern_id: str, outcome: Outcome) -> StoredPattern:
        scope = self._scope()
        recorded = self._store.feedback.record(pattern_id, scope, Outcome(outcome), self._now())
        stored = self._store.get(pattern_id, scope, self._decay()) if recorded else None
        if stored is None:
            raise InputError(f"no pattern with id {pattern_id!r}")
        return stored

    def forget(self, pattern_id: str) -> bool:
        """Delete one of the user's own patterns (not a team pattern), for good: indexing
        or importing the same change again skips it."""
        return self._store.delete(pattern_id, self.settings.user_id, self._now())

    def embed_pending(
        self, *, cancel: threading.Event | None = None, progress: Progress | None = None
    ) -> VectorizeResult:
        """Give every stored pattern still without a vector its vector (indexing stores
        patterns first and embeds them in large chunks); stops early on cancel.
        progress(done, total) counts patterns."""
        return vectorize_pending(
            self._store.vectors, self._embedder, self._embed_lock, cancel, progress
        )

    def prepare_templates(
        self, *, cancel: threading.Event | None = None, progress: Progress | None = None
    ) -> int:
        """Work out the stored templates the editor's finder would otherwise build on first
        use (after an index, in the background: memory/template_store.fill); returns how
        many were written. progress(done, total) counts patterns."""
        return self._store.templates.fill(progress=progress, cancel=cancel)

    def reindex(self) -> VectorizeResult:
        """Rebuild the code shapes, the stored templates and the vector index from the
        patterns table; the embedding cache spares the model every text it has seen
        (`embedded` counts the texts the model had to embed)."""
        db = self._store.db
        db.rebuilding = True  # a failure now must not advise running reindex again
        try:
            self._store.shapes.rebuild()
            self._store.templates.rebuild()
            self._store.vectors.reset_vectors(self._embedder.model_id, self._embedder.dim)
            return vectorize_pending(self._store.vectors, self._embedder, self._embed_lock)
        finally:
            db.rebuilding = False

    def change_token(self) -> int:
        """A number that changes whenever any pattern or feedback changes, in this process
        or another: equal tokens (from any thread or process) mean nothing a search could
        return has changed since. Cheap: one read of the database's meta table."""
        return self._store.change_generation()

    # --- numbers -----------------------------------------------------------------------

    def stats(self) -> Stats:
        """Counts, the database's versions and the metrics, summed over every process that
        used the database (timings: the last TIMING_WINDOW lookups)."""
        self.flush_metrics()
        counts = self._store.counts.counts(self._scope())
        snapshot = self.metrics.snapshot()
        snapshot.update(self._store.metrics.persisted_counters())
        lookups = snapshot.pop(LOOKUP_COUNT, 0)
        lookup_ms = summarize(self._store.metrics.metric_samples(LOOKUP_MS), lookups)
        return Stats(
            patterns=counts["patterns"],
            lifecycle=self.lifecycle_counts(),
            embedded=counts["embedded"],
            successes=counts["successes"],
            feedback=counts["feedback"],
            by_type=counts["by_type"],
            by_source=counts["by_source"],
            repositories=counts["repositories"],
            db_path=str(self._store.db.path),
            schema_version=schema_version(),
            vec_version=self._store.db.vec_version,
            vector_model=self._store.vectors.vector_state().model,
            # The snapshot's one timing (lookup_ms) is this process's: the database's is above.
            counters={name: int(v) for name, v in snapshot.items() if not isinstance(v, dict)},
            lookup_ms=Timing.from_summary(lookup_ms),
        )

    def lifecycle_counts(self) -> LifecycleCounts:
        """How many of the user's patterns are active, decayed (latest evidence more than
        decayAfterDays behind their clock), retired and reverted (each counted once)."""
        active, decayed, retired, reverted = self._store.counts.lifecycle_counts(
            self._scope(), self._decay()
        )
        return LifecycleCounts(active=active, decayed=decayed, retired=retired, reverted=reverted)

    def flush_metrics(self) -> None:
        """Add this process's new counts and timings to the database's totals. Best effort:
        when another connection is writing, the counts wait for the next flush (a lookup
        never waits for a writer, nor fails because of one)."""
        counters, samples = self.metrics.take_unflushed()
        self._flushed_at = time.monotonic()
        if not (counters or samples):
            return
        stored = dict(counters)
        if LOOKUP_MS in samples:
            stored[LOOKUP_COUNT] = stored.get(LOOKUP_COUNT, 0) + len(samples[LOOKUP_MS])
        try:
            self._store.metrics.add_metrics(stored, samples, self._now(), TIMING_WINDOW, wait=False)
        except StoreError as exc:
            log.debug("metrics not flushed this time: %s", exc)
            self.metrics.keep_unflushed(counters, samples)

    # --- helpers -----------------------------------------------------------------------

    @property
    def store(self) -> PatternStore:
        return self._store

    @property
    def embedder(self) -> Embedder:
        """The model this memory embeds with (the forge detector reads sentences with it)."""
        return self._embedder

    @property
    def team_sync(self) -> TeamSyncStore:
        """What `pattern-memory sync` knows per team server (team/sync.py)."""
        return TeamSyncStore(self._store.db)

    def now(self) -> str:
        """The memory's clock, as the timestamps it stores are written."""
        return self._now()

    def _now(self) -> str:
        return self._clock().strftime("%Y-%m-%d %H:%M:%S")

    def _scope(self) -> Scope:
        return Scope(self.settings.user_id, self.settings.include_team)

    def _with_hidden(self, query: Query, stale: bool, reverted: bool) -> Query:
        filters = dataclasses.replace(query.filters, include_stale=stale, include_reverted=reverted)
        return dataclasses.replace(query, filters=filters)

    def _decay(self) -> Decay:
        return Decay(self.settings.decay_after_days, self._now())

    def _query(self, text: str, k: int, problem_type: ProblemType | None) -> Query:
        return Query(
            text=text,
            filters=Filters(
                scope=self._scope(),
                decay=self._decay(),
                problem_type=problem_type.value if problem_type else None,
                min_success_rate=self.settings.min_success_rate,
            ),
            k=max(1, k),
            similarity=self.settings.similarity,
        )

    def _query_vector(self, text: str) -> FloatArray:
        """The query's vector, from the QUERY_VECTORS_KEPT latest when it was seen before
        (a hit does not wait for the model, which an indexing batch may hold)."""
        with self._query_vectors_lock:
            kept = self._query_vectors.get(text)
            if kept is not None:
                self._query_vectors.move_to_end(text)
                return kept
        with self._embed_lock:
            embedded: FloatArray = np.asarray(self._embedder.embed([text]), dtype=np.float32)
        vector: FloatArray = embedded[0]
        vector.setflags(write=False)
        with self._query_vectors_lock:
            self._query_vectors[text] = vector
            if len(self._query_vectors) > QUERY_VECTORS_KEPT:
                self._query_vectors.popitem(last=False)
        return vector

    def _observe(self, started: float) -> None:
        self.metrics.observe(LOOKUP_MS, (time.perf_counter() - started) * 1000.0)
        if time.monotonic() - self._flushed_at > METRICS_FLUSH_SECONDS:
            self.flush_metrics()


__all__ = ["Outcome", "PatternMemory", "SearchHit", "Stats", "StoredPattern"]
