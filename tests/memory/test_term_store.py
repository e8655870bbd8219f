"""The token sets scoring reads are split from FTS5 once and kept; a deleted pattern's row
id may be taken by the next pattern stored, whose tokens must then be read, not the kept
ones."""

from __future__ import annotations

from pathlib import Path

from pattern_memory.memory.db import Database
from pattern_memory.memory.store import PatternStore
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id


def _pattern(name: str, before: str) -> Pattern:
    return Pattern(
        pattern_id=make_pattern_id(name),
        problem_type=ProblemType.BUG_FIX,
        before_code=before,
        after_code=before + "\nreturn None",
        commit_msg=f"fix {name}",
        author="dev@example.com",
        date="2024-05-01 10:00:00",
        confidence=0.8,
        language="python",
    )


def _row(store: PatternStore, pattern: Pattern) -> int:
    return int(
        store.db.query("SELECT id FROM patterns WHERE pattern_id = ?", (pattern.pattern_id,))[0][0]
    )


def test_token_sets_follow_a_reused_row_id(tmp_path: Path) -> None:
    store = PatternStore(Database(tmp_path / "p.db"))
    first, last = (
        _pattern("first", "total = count_items(rows)"),
        _pattern("last", "x = fetchUser()"),
    )
    store.upsert([(p, p.commit_msg) for p in (first, last)], "local", "2099-01-01 00:00:00")
    row = _row(store, last)
    assert store.terms.token_sets([row], ("before",)) == {row: {"fetchuser", "fetch", "user"}}
    both = store.terms.token_sets([row], ("before", "message"))
    assert both[row] == {"fetchuser", "fetch", "user", "fix", "last"}

    assert store.delete(last.pattern_id, "local", "2099-01-02 00:00:00")
    assert store.terms.token_sets([row], ("before",)) == {}
    other = _pattern("other", "page = load_page(number)")
    store.upsert([(other, other.commit_msg)], "local", "2099-01-03 00:00:00")
    assert _row(store, other) == row  # SQLite hands the highest row id out again
    assert store.terms.token_sets([row], ("before",)) == {
        row: {"page", "load_page", "load", "number"}
    }


def test_kept_document_frequencies_follow_every_change_in_any_connection(tmp_path: Path) -> None:
    """Frequencies are kept between searches; a pattern stored or deleted (here through
    another connection, as another process would) moves the change generation and they are
    read again."""
    path = tmp_path / "p.db"
    store, writer = PatternStore(Database(path)), PatternStore(Database(path))
    first = _pattern("first", "total = count_items(rows)")
    writer.upsert([(first, first.commit_msg)], "local", "2099-01-01 00:00:00")
    assert store.terms.document_frequencies(["count", "rows", "absent"]) == (
        {"count": 1, "rows": 1},
        1,
    )
    second = _pattern("second", "rows = count_rows(table)")
    writer.upsert([(second, second.commit_msg)], "local", "2099-01-02 00:00:00")
    assert store.terms.document_frequencies(["count", "rows", "table"]) == (
        {"count": 2, "rows": 2, "table": 1},
        2,
    )
    assert writer.delete(first.pattern_id, "local", "2099-01-03 00:00:00")
    assert store.terms.document_frequencies(["count", "total"]) == ({"count": 1}, 1)
