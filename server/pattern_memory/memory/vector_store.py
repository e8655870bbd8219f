"""SQL for vectors: the embedding cache (model id + SHA-256 of the text -> vector) and the
sqlite-vec table, a rebuildable index of the patterns table (row id = patterns.id).

Counters in `meta` tell readers what changed: `vector_seq` grows with every vector saved
(patterns.vector_seq records it), `vector_epoch` changes when vectors are removed or
rebuilt. Without the sqlite-vec extension the cache itself is the index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from ..errors import StoreError
from .db import Database, bump_counter, row_values

VECTOR_TABLE = "pattern_vectors"
# Bumped when a stored pattern's evidence or revert state changes (not on insert): the
# vector index re-reads what it filters on.
EVIDENCE_GENERATION = "evidence_generation"


@dataclass(frozen=True)
class UnembeddedRow:
    row_id: int
    lookup_text: str
    lookup_hash: str


@dataclass(frozen=True)
class VectorState:
    """What the meta table says of the stored vectors."""

    epoch: int  # changes when every vector is dropped: the in-memory index rebuilds
    seq: int  # the highest vector sequence number handed out
    model: str | None  # the model id that made them; None: no vectors yet


@dataclass(frozen=True)
class IndexedVector:
    row_id: int
    vector_seq: int
    user_id: str
    source: str
    repository: str
    last_evidence: str
    problem_type: str
    vector: bytes


class VectorStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def forget_row(self, c: apsw.Connection, row_id: int) -> None:
        """Inside the caller's transaction: the pattern `row_id` is being deleted."""
        if self.db.vec_available and self._vector_table_exists(c):
            c.execute(f"DELETE FROM {VECTOR_TABLE} WHERE rowid = ?", (row_id,))
        bump_counter(c, "vector_epoch")

    def unembedded(self, limit: int) -> list[UnembeddedRow]:
        rows = self.db.query(
            "SELECT id, lookup_text, lookup_hash FROM patterns WHERE vector_seq IS NULL "
            "ORDER BY id LIMIT ?",
            (limit,),
        )
        return [UnembeddedRow(int(i), str(t), str(h)) for i, t, h in rows]

    def count_unembedded(self) -> int:
        rows = self.db.query("SELECT count(*) FROM patterns WHERE vector_seq IS NULL")
        return int(row_values(rows[0])[0])

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        if not hashes:
            return {}
        rows = self.db.query(
            "SELECT text_hash, vector FROM embedding_cache WHERE model_id = ? AND text_hash IN "
            "(SELECT value FROM json_each(?))",
            (model_id, json.dumps(list(hashes))),
        )
        return {str(h): bytes(v) for h, v in rows}

    def save_vectors(
        self, model_id: str, dim: int, vectors: Sequence[tuple[int, str, bytes]]
    ) -> None:
        """Cache (text hash -> vector) and index (pattern row -> vector) in one transaction."""
        with self.db.atomic() as c:
            self._ensure_vector_table(c, model_id, dim)
            seq = bump_counter(c, "vector_seq", len(vectors)) - len(vectors)
            for row_id, hash_, blob in vectors:
                seq += 1
                c.execute(
                    "INSERT OR IGNORE INTO embedding_cache (model_id, text_hash, vector) "
                    "VALUES (?, ?, ?)",
                    (model_id, hash_, blob),
                )
                c.execute("UPDATE patterns SET vector_seq = ? WHERE id = ?", (seq, row_id))
                if self.db.vec_available:
                    c.execute(f"DELETE FROM {VECTOR_TABLE} WHERE rowid = ?", (row_id,))
                    c.execute(
                        f"INSERT INTO {VECTOR_TABLE} (rowid, embedding) VALUES (?, ?)",
                        (row_id, blob),
                    )

    def vector_state(self) -> VectorState:
        rows = dict(
            self.db.query(
                "SELECT key, value FROM meta WHERE key IN "
                "('vector_epoch', 'vector_seq', 'vector_model')"
            )
        )
        return VectorState(
            epoch=int(rows.get("vector_epoch", 0)),
            seq=int(rows.get("vector_seq", 0)),
            model=rows.get("vector_model"),
        )

    def vectors_after(self, seq: int) -> list[IndexedVector]:
        """The patterns embedded after `seq`, with what the vector index filters on. From
        the sqlite-vec table when the extension is loaded, else from the cache."""
        model = self.vector_state().model
        if model is None:
            return []
        if self.db.vec_available:
            sql = (
                "SELECT p.id, p.vector_seq, p.user_id, p.source, p.repository, p.last_evidence, "
                "p.problem_type, "
                "v.embedding "
                f"FROM {VECTOR_TABLE} v JOIN patterns p ON p.id = v.rowid WHERE p.vector_seq > ?"
            )
            params: tuple[Any, ...] = (seq,)
        else:
            sql = (
                "SELECT p.id, p.vector_seq, p.user_id, p.source, p.repository, p.last_evidence, "
                "p.problem_type, "
                "c.vector FROM patterns p "
                "JOIN embedding_cache c ON c.model_id = ? AND c.text_hash = p.lookup_hash "
                "WHERE p.vector_seq > ?"
            )
            params = (model, seq)
        return [
            IndexedVector(int(a), int(b), str(u), str(s), str(r), str(t), str(k), bytes(v))
            for a, b, u, s, r, t, k, v in self.db.query(sql, params)
        ]

    def evidence_generation(self) -> int:
        """Changes when a stored pattern's evidence or revert state changes."""
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (EVIDENCE_GENERATION,))
        return int(rows[0][0]) if rows else 0

    def evidence(self) -> list[tuple[int, str]]:
        """(row id, last_evidence) of every embedded pattern."""
        rows = self.db.query("SELECT id, last_evidence FROM patterns WHERE vector_seq IS NOT NULL")
        return [(int(i), str(t)) for i, t in rows]

    def repository_clocks(self) -> dict[tuple[str, str], str]:
        """(owner, repository) -> the newest commit date learned from it."""
        rows = self.db.query("SELECT user_id, repository, newest FROM repository_clock")
        return {(str(u), str(r)): str(n) for u, r, n in rows}

    def vec_knn(self, query: bytes, k: int) -> list[tuple[int, float]]:
        """Exact KNN through sqlite-vec (cosine distance); the baseline the NumPy index is
        measured and tested against."""
        rows = self.db.query(
            f"SELECT rowid, distance FROM {VECTOR_TABLE} WHERE embedding MATCH ? AND k = ? "
            "ORDER BY distance",
            (query, k),
        )
        return [(int(r), float(d)) for r, d in rows]

    def reset_vectors(self, model_id: str | None, dim: int | None) -> None:
        """Forget every pattern's vector (the cache stays): they are embedded again, from
        the cache when the model is unchanged. Used by `reindex` and on a model change."""
        with self.db.atomic() as c:
            c.execute("UPDATE patterns SET vector_seq = NULL WHERE vector_seq IS NOT NULL")
            if self.db.vec_available:
                c.execute(f"DROP TABLE IF EXISTS {VECTOR_TABLE}")
            c.execute("DELETE FROM meta WHERE key = 'vector_model'")
            bump_counter(c, "vector_epoch")
            if model_id is not None and dim is not None:
                self._ensure_vector_table(c, model_id, dim)

    def rebuild_vector_table(self) -> int:
        """Recreate the sqlite-vec table from the patterns' cached vectors; returns how many
        it holds. (No-op without the extension: the cache is then the index.)"""
        if not self.db.vec_available:
            return 0
        with self.db.atomic() as c:
            meta = dict(
                row_values(r)
                for r in c.execute(
                    "SELECT key, value FROM meta WHERE key IN ('vector_model', 'vector_dim')"
                )
            )
            if "vector_model" not in meta:
                return 0
            c.execute(f"DROP TABLE IF EXISTS {VECTOR_TABLE}")
            self._ensure_vector_table(c, meta["vector_model"], int(meta["vector_dim"]))
            c.execute(
                f"INSERT INTO {VECTOR_TABLE} (rowid, embedding) SELECT p.id, c.vector "
                "FROM patterns p JOIN embedding_cache c ON c.model_id = ? "
                "AND c.text_hash = p.lookup_hash WHERE p.vector_seq IS NOT NULL",
                (meta["vector_model"],),
            )
            bump_counter(c, "vector_epoch")
            return int(
                row_values(c.execute(f"SELECT count(*) FROM {VECTOR_TABLE}").fetchall()[0])[0]
            )

    def vector_index_consistent(self) -> bool:
        """False when the sqlite-vec table lacks vectors that the patterns say exist (e.g.
        written by a process that could not load the extension)."""
        if not self.db.vec_available or self.vector_state().model is None:
            return True
        c = self.db.connection()
        if not self._vector_table_exists(c):
            return False
        # One statement reads one snapshot, without the write lock.
        indexed, embedded = self.db.query(
            f"SELECT (SELECT count(*) FROM {VECTOR_TABLE}), "
            "(SELECT count(*) FROM patterns WHERE vector_seq IS NOT NULL)"
        )[0]
        return int(indexed) == int(embedded)

    def _vector_table_exists(self, c: apsw.Connection) -> bool:
        return bool(
            c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (VECTOR_TABLE,)).fetchall()
        )

    def _ensure_vector_table(self, c: apsw.Connection, model_id: str, dim: int) -> None:
        current = c.execute("SELECT value FROM meta WHERE key = 'vector_model'").fetchall()
        if current and current[0][0] != model_id:
            raise StoreError(
                f"the pattern vectors were made by {current[0][0]}, not {model_id}; "
                "run `pattern-memory reindex`"
            )
        if self.db.vec_available and not self._vector_table_exists(c):
            c.execute(
                f"CREATE VIRTUAL TABLE {VECTOR_TABLE} USING vec0 "
                f"(embedding float[{int(dim)}] distance_metric=cosine)"
            )
        if not current:
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_model', ?)", (model_id,)
            )
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_dim', ?)", (str(dim),)
            )
