"""Templates stored once (memory/template_store.py): written when a pattern is stored, read
by a new finder instead of built, built again (and rewritten) when stale or damaged, filled
for a store made before them, and gone with their pattern."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from pattern_memory.matching import finder as finder_module
from pattern_memory.matching.finder import FixFinder
from pattern_memory.matching.prepared import decode, prepare, prepared_key, template_version
from pattern_memory.matching.template import build_template
from pattern_memory.memory.db import Database
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.store import PatternStore
from pattern_memory.patterns import Pattern, ProblemType
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.memory.memory_samples import make_pattern

BEFORE = "row = db.get(uid)\nreturn row['name']"
AFTER = "row = db.get(uid)\nif row is None:\n    return None\nreturn row['name']"
DOCUMENT = "def load(user_id):\n    record = db.get(user_id)\n    return record['name']\n"
COMMIT = "c" * 40


def _pattern(name: str, before: str = BEFORE, after: str = AFTER) -> Pattern:
    return make_pattern(
        f"fix: {name}", before, after, commit=COMMIT, path=f"app/{name.replace(' ', '_')}.py"
    )


# The fix, and another change of its commit (read for the mass-edit check).
FIX = _pattern("guard missing rows")
SIBLING = _pattern(
    "close the file", "f = open(p)\ndata = f.read()", "with open(p) as f:\n    data = f.read()"
)


def _key(pattern: Pattern) -> str:
    return prepared_key(pattern.before_code, pattern.after_code, "python", pattern.commit_msg)


def _open(path: Path) -> tuple[Settings, PatternMemory]:
    settings = Settings(db_path=path, similarity=0.0)
    return settings, PatternMemory.open(settings, HashEmbedder())


def _store(memory: PatternMemory, *patterns: Pattern) -> None:
    memory.store.upsert([(p, p.commit_msg) for p in patterns], "local", "2099-01-01 00:00:00")


def _found(memory: PatternMemory, settings: Settings) -> list[tuple[str, int, int, str]]:
    fixes = FixFinder.create().find(memory, settings, DOCUMENT, language="python")
    return [(f.pattern_id, f.match.start, f.match.end, f.match.replacement) for f in fixes]


def _rows(memory: PatternMemory) -> dict[str, tuple[str, str]]:
    rows = memory.store.db.query("SELECT key, version, text FROM pattern_templates")
    return {str(k): (str(v), str(t)) for k, v, t in rows}


def _building_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("built, not read")

    for name in ("prepare", "prepare_edit", "complete"):
        monkeypatch.setattr(finder_module, name, refuse)


def test_the_finder_stores_what_it_built_and_a_new_finder_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, memory = _open(tmp_path / "p.db")
    with memory:
        _store(memory, FIX, SIBLING)
        assert _rows(memory) == {}  # storing parses nothing: indexing pays no checks
        expected = _found(memory, settings)
        assert [pattern_id for pattern_id, *_ in expected] == [FIX.pattern_id]
        texts = memory.stored_templates([_key(FIX), _key(SIBLING)], template_version())
        assert set(texts) == {_key(FIX), _key(SIBLING)}
        stored = decode(texts[_key(FIX)], _key(FIX), template_version())
        assert stored == prepare(BEFORE, AFTER, "python", FIX.commit_msg)
        assert stored.template == build_template(BEFORE, AFTER, "python")
        # A new finder (a new process) reads the template and its commit's edits.
        with monkeypatch.context() as patched:
            _building_fails(patched)
            assert _found(memory, settings) == expected
        # reindex works every pattern's out; only a bug fix can be flagged: of another
        # change only its edit.
        feature = dataclasses.replace(
            _pattern("log rows", after=AFTER + "\nlog(row)"),
            problem_type=ProblemType.FEATURE_ADDITION,
        )
        _store(memory, feature)
        memory.reindex()
        [text] = memory.stored_templates([_key(feature)], template_version()).values()
        edit_only = decode(text, _key(feature), template_version())
        assert not edit_only.checked and edit_only.template is None
        assert edit_only.edit == prepare(BEFORE, feature.after_code, "python", "").edit
        # Another version is not read: built (the refusal shows it is tried).
        assert memory.stored_templates([_key(FIX)], template_version() + "-other") == {}


def test_a_stale_or_damaged_template_is_built_again_and_rewritten(tmp_path: Path) -> None:
    settings, memory = _open(tmp_path / "p.db")
    with memory:
        _store(memory, FIX, SIBLING)
        expected = _found(memory, settings)
        good = _rows(memory)
        built = {
            p: prepare(p.before_code, p.after_code, "python", p.commit_msg) for p in (FIX, SIBLING)
        }
        db = memory.store.db
        for damage in (
            "UPDATE pattern_templates SET version = 'rules of last year'",
            "UPDATE pattern_templates SET text = substr(text, 1, length(text) - 9)",
            "UPDATE pattern_templates SET text = 'not a template'",
            # Sealed for another pattern: a wrong template, never to be used.
            f"UPDATE pattern_templates SET text = (SELECT text FROM pattern_templates "
            f"WHERE key = '{_key(SIBLING)}') WHERE key = '{_key(FIX)}'",
            "DELETE FROM pattern_templates",
        ):
            with db.atomic() as c:
                c.execute(damage)
            assert _rows(memory) != good
            assert _found(memory, settings) == expected
            # Written back as built: all of the fix's, the edit of its commit's other change.
            rows = _rows(memory)
            assert {version for version, _ in rows.values()} == {template_version()}
            assert decode(rows[_key(FIX)][1], _key(FIX), template_version()) == built[FIX]
            sibling = decode(rows[_key(SIBLING)][1], _key(SIBLING), template_version())
            assert sibling.edit == built[SIBLING].edit


def test_a_store_made_before_templates_is_migrated_and_filled(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    settings, memory = _open(path)
    with memory:
        _store(memory, FIX, SIBLING)
        expected = _found(memory, settings)
    store = PatternStore(Database(path))
    with store.db.atomic() as c:  # back to the schema before stored templates
        c.execute("DROP TABLE pattern_templates")
        c.execute("DELETE FROM schema_migrations WHERE name = '0012_pattern_templates'")
    store.db.close()
    settings, memory = _open(path)
    with memory:
        assert _rows(memory) == {}  # the migration itself parses nothing
        assert _found(memory, settings) == expected
        filled = _rows(memory)
        assert set(filled) == {_key(FIX), _key(SIBLING)}  # the finder wrote what it built
        version, text = filled[_key(SIBLING)]
        assert version == template_version()
        assert not decode(text, _key(SIBLING), version).checked  # only its edit was needed
        memory.reindex()
        rebuilt = _rows(memory)
        assert set(rebuilt) == set(filled)
        assert decode(rebuilt[_key(SIBLING)][1], _key(SIBLING), template_version()).checked
        assert _found(memory, settings) == expected


def test_forgetting_a_pattern_removes_its_template(tmp_path: Path) -> None:
    _, memory = _open(tmp_path / "p.db")
    with memory:
        _store(memory, FIX, SIBLING)
        memory.reindex()
        assert set(_rows(memory)) == {_key(FIX), _key(SIBLING)}
        assert memory.forget(FIX.pattern_id)
        assert set(_rows(memory)) == {_key(SIBLING)}


def test_writing_back_never_waits_for_another_writer(tmp_path: Path) -> None:
    _, memory = _open(tmp_path / "p.db")
    with memory:
        _store(memory, FIX)
        other = Database(tmp_path / "p.db")
        holding, release = threading.Event(), threading.Event()

        def hold_the_write_lock() -> None:
            with other.atomic():
                holding.set()
                release.wait(10)

        writer = threading.Thread(target=hold_the_write_lock)
        writer.start()
        try:
            assert holding.wait(10)
            started = time.monotonic()
            memory.store_templates({"k": "t"}, template_version())  # skipped, no error
            assert time.monotonic() - started < 1.0
        finally:
            release.set()
            writer.join()
            other.close()
        assert "k" not in _rows(memory)
        memory.store_templates({"k": "t"}, template_version())
        assert _rows(memory)["k"] == (template_version(), "t")


def test_prepare_templates_fills_what_is_missing_in_batches_and_stops_on_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, memory = _open(tmp_path / "p.db")
    feature = dataclasses.replace(
        _pattern("log rows", after=AFTER + "\nlog(row)"),
        problem_type=ProblemType.FEATURE_ADDITION,
    )
    with memory:
        _store(memory, FIX, SIBLING, feature)
        expected = _found(memory, settings)
        with memory.store.db.atomic() as c:
            c.execute("DELETE FROM pattern_templates WHERE key != ?", (_key(FIX),))
        kept = _rows(memory)[_key(FIX)]
        # Cancelled before the first batch: nothing written.
        cancel = threading.Event()
        cancel.set()
        assert memory.prepare_templates(cancel=cancel) == 0
        seen: list[tuple[int, int]] = []
        store = memory.store.templates
        written = store.fill(batch=2, progress=lambda done, total: seen.append((done, total)))
        assert written == 2  # the fix's row was there: kept as it was
        assert seen == [(2, 3), (3, 3)]
        rows = _rows(memory)
        assert rows[_key(FIX)] == kept
        assert {version for version, _ in rows.values()} == {template_version()}
        assert decode(rows[_key(SIBLING)][1], _key(SIBLING), template_version()).checked
        feature_prepared = decode(rows[_key(feature)][1], _key(feature), template_version())
        assert not feature_prepared.checked  # another change: its edit only
        assert memory.prepare_templates() == 0  # nothing left to do
        with monkeypatch.context() as patched:  # a new finder reads them all
            _building_fails(patched)
            assert _found(memory, settings) == expected
