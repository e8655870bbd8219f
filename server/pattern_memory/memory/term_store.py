"""SQL for the lexical index: each pattern's code tokens in FTS5 (table patterns_fts, rowid =
patterns.id; columns before, after, message) and the document frequency of every token
(table term_stats, kept here because FTS5's own vocabulary table walks whole posting lists).

A pattern's tokens never change while its row exists, so the token sets that scoring reads
are split from their FTS5 text once and kept (TOKEN_SET_CACHE of them); a deleted row bumps a
counter that drops them, as a later pattern may reuse its row id. Document frequencies are
kept too (a search weighs the whole vocabulary of its candidates), until the store's change
generation moves (any pattern stored, changed or deleted, in any process).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

import apsw

from ..patterns import Pattern
from .db import Database, bump_counter, row_values
from .filters import Filters, eligible_sql
from .text import token_text

# Rows whose token sets are kept (a few hundred bytes to a few kB each).
TOKEN_SET_CACHE = 20_000
# Bumped when a row's tokens are deleted: the kept token sets may name a reused row id.
TERMS_EPOCH = "terms_epoch"
# Terms whose document frequency is kept (the vocabulary of a large store: ~50 bytes each).
FREQUENCY_CACHE = 200_000
# Bumped by triggers on every change to patterns (migration 0008_change_generation).
CHANGE_GENERATION = "change_generation"


def add_terms(c: apsw.Connection, row_id: int, pattern: Pattern) -> None:
    """Inside the caller's transaction: index the tokens of the pattern stored as `row_id`."""
    columns = (
        token_text(pattern.before_code),
        token_text(pattern.after_code),
        token_text(pattern.commit_msg + " " + pattern.file_path),
    )
    c.execute(
        "INSERT INTO patterns_fts (rowid, before, after, message) VALUES (?, ?, ?, ?)",
        (row_id, *columns),
    )
    _count_terms(c, " ".join(columns), +1)


def forget_terms(c: apsw.Connection, row_id: int) -> None:
    """Inside the caller's transaction: the pattern `row_id` is being deleted."""
    tokens = c.execute(
        "SELECT before || ' ' || after || ' ' || message FROM patterns_fts WHERE rowid = ?",
        (row_id,),
    ).fetchall()
    if tokens:
        _count_terms(c, str(row_values(tokens[0])[0]), -1)
    c.execute("DELETE FROM patterns_fts WHERE rowid = ?", (row_id,))
    bump_counter(c, TERMS_EPOCH)


def _count_terms(c: apsw.Connection, tokens: str, delta: int) -> None:
    c.execute(
        "INSERT INTO term_stats (term, docs) SELECT DISTINCT value, ? FROM "
        "json_each(?) WHERE true ON CONFLICT (term) DO UPDATE SET docs = docs + ?",
        (delta, json.dumps(tokens.split()), delta),
    )


class TermStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self._lock = threading.Lock()
        self._epoch: int | None = None
        # (row id, columns) -> the row's distinct tokens in those columns, least recently
        # used first (searches ask for one of two column lists, search.py).
        self._sets: OrderedDict[tuple[int, tuple[str, ...]], frozenset[str]] = OrderedDict()
        # Document frequencies and the pattern count as of change generation _generation.
        self._generation: int | None = None
        self._frequencies: dict[str, int] = {}
        self._total: int | None = None

    def lexical(
        self, terms: Sequence[str], columns: Sequence[str], limit: int, filters: Filters
    ) -> list[int]:
        """Row ids of the eligible patterns (eligible_sql) whose FTS5 columns contain any of
        the terms, best BM25 first: the limit counts only patterns a search may return."""
        if not terms:
            return []
        ors = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        match = "{" + " ".join(columns) + "} : (" + ors + ")"
        where, args = eligible_sql(filters)
        rows = self.db.query(
            "SELECT f.rowid FROM patterns_fts f JOIN patterns p ON p.id = f.rowid "
            f"WHERE patterns_fts MATCH ? AND {where} ORDER BY f.rank LIMIT ?",
            (match, *args, limit),
        )
        return [int(r[0]) for r in rows]

    def document_frequencies(self, terms: Sequence[str]) -> tuple[dict[str, int], int]:
        """How many patterns contain each term (terms in none left out), and how many
        patterns there are."""
        if not terms:
            return {}, 0
        generation = self._meta_int(CHANGE_GENERATION)
        with self._lock:
            if generation != self._generation:
                self._frequencies.clear()
                self._generation, self._total = generation, None
            known = {t: self._frequencies[t] for t in terms if t in self._frequencies}
            total = self._total
        missing = [t for t in dict.fromkeys(terms) if t not in known]
        if missing:
            rows = self.db.query(
                "SELECT term, docs FROM term_stats WHERE term IN (SELECT value FROM json_each(?))",
                (json.dumps(missing),),
            )
            read = dict.fromkeys(missing, 0) | {str(t): int(d) for t, d in rows}
            known.update(read)
        if total is None:
            total = int(self.db.query("SELECT count(*) FROM patterns")[0][0])
        with self._lock:
            if generation == self._generation:
                if len(self._frequencies) + len(missing) > FREQUENCY_CACHE:
                    self._frequencies.clear()
                if missing:
                    self._frequencies.update(read)
                self._total = total
        return {t: d for t, d in known.items() if d > 0}, total

    def token_sets(
        self, row_ids: Sequence[int], columns: Sequence[str]
    ) -> dict[int, frozenset[str]]:
        """Each row's distinct tokens in the given FTS5 columns (rows without tokens are
        left out)."""
        if not row_ids:
            return {}
        epoch, which = self._terms_epoch(), tuple(columns)
        out: dict[int, frozenset[str]] = {}
        missing: list[int] = []
        with self._lock:
            if epoch != self._epoch:
                self._sets.clear()
                self._epoch = epoch
            for row_id in row_ids:
                tokens = self._sets.get((row_id, which))
                if tokens is None:
                    missing.append(row_id)
                else:
                    self._sets.move_to_end((row_id, which))
                    out[row_id] = tokens
        if not missing:
            return out
        select = " || ' ' || ".join(which)
        rows = self.db.query(
            f"SELECT rowid, {select} FROM patterns_fts WHERE rowid IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(missing),),
        )
        read = {int(r[0]): frozenset(str(r[1]).split()) for r in rows}
        with self._lock:
            if epoch == self._epoch:
                self._sets.update(((row_id, which), tokens) for row_id, tokens in read.items())
                while len(self._sets) > TOKEN_SET_CACHE:
                    self._sets.popitem(last=False)
        out.update(read)
        return out

    def _terms_epoch(self) -> int:
        return self._meta_int(TERMS_EPOCH)

    def _meta_int(self, key: str) -> int:
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else 0
