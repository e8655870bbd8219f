"""SQL for stored templates: each pattern's Prepared (matching/prepared.py: its withheld
check, match template and abstract edit), worked out once, so that the editor's finder reads
it instead of parsing the pattern's code again after every start. Not when the pattern is
stored: indexing would pay those parses for every pattern, most of which no editor ever
looks up (+30% on a real history, docs/benchmarks.md); the finder works out what it needs
and writes it back, and `reindex` works them all out.

Table pattern_templates (key, version, text): by content key (matching.prepared.prepared_key
over the pattern's code, language and message), so that a pattern and its team copy share
one row and a reused row id can never find another pattern's; `version` is the rules' version
that made it (template_version). A row of another version is not read; the finder then
builds the Prepared and writes it back (store_texts: best effort), and `reindex` rebuilds
them all. The table is derived from the patterns table: deleting it loses nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence

import apsw

from ..errors import StoreError
from ..languages import normalize_language
from ..matching.prepared import (
    encode,
    prepare,
    prepare_edit,
    prepared_key,
    template_version,
)
from ..patterns import ProblemType
from .db import Database, row_values

log = logging.getLogger(__name__)
# Patterns per transaction of `fill` (and between two yields to the editor's analyses):
# a fraction of a second of parses on a real history (docs/benchmarks.md), a short write.
FILL_BATCH = 50


def _pattern_key(before_code: str, after_code: str, language: str, commit_msg: str) -> str:
    return prepared_key(before_code, after_code, normalize_language(language), commit_msg)


def forget_template(c: apsw.Connection, row_id: int) -> None:
    """Inside the caller's transaction, before the pattern row goes: its stored template
    (its code must not stay behind in the database). A copy of the same change under
    another row (a team copy) then has its template built again when next read."""
    rows = c.execute(
        "SELECT before_code, after_code, language, commit_msg FROM patterns WHERE id = ?",
        (row_id,),
    ).fetchall()
    for row in rows:
        before_code, after_code, language, commit_msg = (str(v) for v in row_values(row))
        key = _pattern_key(before_code, after_code, language, commit_msg)
        c.execute("DELETE FROM pattern_templates WHERE key = ?", (key,))


class TemplateStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def texts(self, keys: Sequence[str], version: str) -> dict[str, str]:
        """The stored texts of these content keys made under `version` (one query)."""
        if not keys:
            return {}
        rows = self.db.query(
            "SELECT key, text FROM pattern_templates "
            "WHERE key IN (SELECT value FROM json_each(?)) AND version = ?",
            (json.dumps(list(dict.fromkeys(keys))), version),
        )
        return {str(key): str(text) for key, text in rows}

    def store_texts(self, texts: Mapping[str, str], version: str) -> bool:
        """Store texts the finder built (a pattern stored before templates were, or under
        other rules). Best effort: when another connection is writing (an indexer) or the
        file is read-only, nothing is written and False returned; the next process builds
        them again."""
        if not texts:
            return True
        try:
            with self.db.atomic(wait=False) as c:
                c.executemany(
                    "INSERT OR REPLACE INTO pattern_templates (key, version, text) "
                    "VALUES (?, ?, ?)",
                    [(key, version, text) for key, text in texts.items()],
                )
        except StoreError as exc:
            log.debug("templates not stored this time: %s", exc)
            return False
        return True

    def count(self, version: str | None = None) -> int:
        """How many are stored (of `version`, when given)."""
        if version is None:
            rows = self.db.query("SELECT count(*) FROM pattern_templates")
        else:
            rows = self.db.query(
                "SELECT count(*) FROM pattern_templates WHERE version = ?", (version,)
            )
        return int(rows[0][0])

    def rebuild(self) -> int:
        """Work out every pattern's Prepared again (reindex); returns how many patterns."""
        with self.db.atomic() as c:
            c.execute("DELETE FROM pattern_templates")
            rows = c.execute(_PATTERN_CODE_SQL + " ORDER BY id").fetchall()
            version = template_version()
            texts = _prepared_texts(rows, [_row_key(row) for row in rows], version)
            c.executemany(
                "INSERT INTO pattern_templates (key, version, text) VALUES (?, ?, ?)",
                [(key, version, text) for key, text in texts.items()],
            )
        return len(rows)

    def fill(
        self,
        *,
        batch: int = FILL_BATCH,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Work out the Prepared of every pattern that has none of the current version, a
        batch at a time, each batch written in its own short transaction (so that readers and
        the indexer are never held up for long); stops early on cancel. What is there already
        is kept (by content key: a team copy's row serves its twin). Returns how many were
        written. progress(done, total) counts patterns."""
        version = template_version()
        total = int(self.db.query("SELECT count(*) FROM patterns")[0][0])
        done = written = 0
        last_id = 0
        while cancel is None or not cancel.is_set():
            rows = self.db.query(
                _PATTERN_CODE_SQL + " WHERE id > ? ORDER BY id LIMIT ?", (last_id, batch)
            )
            if not rows:
                break
            last_id = int(rows[-1][0])
            keys = [_row_key(row) for row in rows]
            texts = _prepared_texts(rows, keys, version, stored=self.texts(keys, version))
            if texts:
                with self.db.atomic() as c:
                    c.executemany(
                        "INSERT OR REPLACE INTO pattern_templates (key, version, text) "
                        "VALUES (?, ?, ?)",
                        [(key, version, text) for key, text in texts.items()],
                    )
                written += len(texts)
            done += len(rows)
            if progress is not None:
                progress(min(done, total), total)
        return written


_PATTERN_CODE_SQL = (
    "SELECT id, before_code, after_code, language, commit_msg, problem_type FROM patterns"
)


def _row_key(row: Sequence[object]) -> str:
    _row_id, before_code, after_code, language, commit_msg, _problem = (str(v) for v in row)
    return _pattern_key(before_code, after_code, language, commit_msg)


def _prepared_texts(
    rows: Sequence[Sequence[object]],
    keys: Sequence[str],
    version: str,
    *,
    stored: Collection[str] = (),
) -> dict[str, str]:
    """key -> text for the rows (with their content keys) whose key is not in `stored`:
    what the finder needs of each, the checks of a bug fix (only those are flagged), the
    edit of another change (its commit's mass-edit check reads it); a key once, as a bug fix
    if any of its rows is one."""
    texts: dict[str, str] = {}
    checked: set[str] = set()
    for row, key in zip(rows, keys, strict=True):
        _row_id, before_code, after_code, raw_language, commit_msg, problem_type = (
            str(v) for v in row_values(row)
        )
        language = normalize_language(raw_language)
        bug_fix = problem_type == ProblemType.BUG_FIX.value
        if key in stored or key in checked or (key in texts and not bug_fix):
            continue
        code = (before_code, after_code, language)
        prepared = prepare(*code, commit_msg) if bug_fix else prepare_edit(*code)
        texts[key] = encode(prepared, key, version)
        if bug_fix:
            checked.add(key)
    return texts
