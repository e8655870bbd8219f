"""The database: schema and migrations, persistence, dedupe, forget, export/import, reindex,
fork safety, and the CLI's answers to bad input."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.errors import InputError
from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.migrations import MIGRATIONS, schema_version
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.transfer import read_export
from pattern_memory.patterns import PatternSource, read_jsonl, write_jsonl_file
from pattern_memory.settings import Settings
from tests.memory.memory_samples import FIXES, make_pattern


def test_schema_migrations_and_versions_are_recorded(memory: PatternMemory) -> None:
    db = memory.store.db
    names = [r[0] for r in db.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [m.name for m in MIGRATIONS]
    assert memory.store.meta("schema_version") == schema_version()
    assert memory.store.meta("vec_version") == "v0.1.9"
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert db.query("PRAGMA busy_timeout")[0][0] >= 1000


def test_patterns_survive_a_restart_and_migrations_run_once(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    first = PatternMemory.open(settings, embedder)
    ids = first.add_patterns(FIXES)
    first.close()
    again = PatternMemory.open(settings, embedder)
    try:
        assert [again.get(i).pattern for i in ids] == FIXES  # type: ignore[union-attr]
        assert again.store.db.query("SELECT count(*) FROM schema_migrations")[0][0] == len(
            MIGRATIONS
        )
        assert again.search("last page shows one extra item")[0].stored.pattern == FIXES[1]
    finally:
        again.close()


def test_the_default_database_lives_in_the_users_data_directory(tmp_path: Path) -> None:
    assert (
        Settings().db_path == Path(os.environ["XDG_DATA_HOME"]) / "pattern-memory" / "patterns.db"
    )


def test_dedupe_on_solution_hash(memory: PatternMemory) -> None:
    [original] = memory.add_patterns([FIXES[0]])
    # The same change learned again (another commit, another id, CRLF line endings).
    again = dataclasses.replace(
        FIXES[0],
        pattern_id="ffffffffffffffff",
        before_code=FIXES[0].before_code.replace("\n", "\r\n"),
        commit="f" * 40,
        solution_hash="",
    )
    assert memory.add_patterns([again]) == [original]
    assert memory.stats().patterns == 1


def test_reindex_rebuilds_the_vector_table_from_the_cache(memory: PatternMemory) -> None:
    memory.add_patterns(FIXES)
    db = memory.store.db
    db.query("DELETE FROM pattern_vectors")  # the index lost (it is only an index)
    assert not memory.store.vectors.vector_index_consistent()
    result = memory.reindex()
    assert (result.embedded, result.from_cache) == (0, len(FIXES))  # no text embedded twice
    assert db.query("SELECT count(*) FROM pattern_vectors")[0][0] == len(FIXES)
    assert memory.store.vectors.vector_index_consistent()
    assert memory.search("last page shows one extra item")[0].stored.pattern == FIXES[1]


def test_a_new_model_drops_the_old_vectors_and_reindex_embeds_again(
    settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    first = PatternMemory.open(settings, embedder)
    first.add_patterns(FIXES)
    first.close()
    other_model = FastEmbedEmbedder(max_tokens=64)  # other truncation: other vectors
    assert other_model.model_id != embedder.model_id
    second = PatternMemory.open(settings, other_model)
    try:
        assert second.stats().embedded == 0  # never compared across models
        assert second.search_code("return sum(values) / len(values)")  # lexical still works
        result = second.reindex()
        assert result.embedded == len(FIXES) and result.from_cache == 0
        assert second.stats().vector_model == other_model.model_id
        assert second.search("last page shows one extra item")[0].stored.pattern == FIXES[1]
    finally:
        second.close()


def test_forget(memory: PatternMemory) -> None:
    ids = memory.add_patterns(FIXES)
    assert memory.forget(ids[1])
    assert not memory.forget(ids[1])
    assert memory.get(ids[1]) is None
    assert all(h.stored.pattern.pattern_id != ids[1] for h in memory.search("pagination", k=8))
    assert memory.stats().patterns == len(FIXES) - 1


def test_export_import_round_trip_is_lossless(
    tmp_path: Path, settings: Settings, embedder: FastEmbedEmbedder
) -> None:
    forged = dataclasses.replace(FIXES[4], source=PatternSource.FORGE, commit="")
    source = PatternMemory.open(settings, embedder)
    source.add_patterns([*FIXES[:4], forged])
    exported = tmp_path / "out.jsonl"
    write_jsonl_file(source.iter_patterns(), exported)
    source.close()

    target = PatternMemory.open(
        dataclasses.replace(settings, db_path=tmp_path / "other.db"), embedder
    )
    try:
        assert target.import_patterns(list(read_jsonl(exported))).added == 5
        assert target.import_patterns(list(read_jsonl(exported))).known == 5  # all known now
        assert list(target.iter_patterns()) == [*FIXES[:4], forged]
        again = tmp_path / "again.jsonl"
        write_jsonl_file(target.iter_patterns(), again)
        assert again.read_bytes() == exported.read_bytes()
    finally:
        target.close()


def test_cli_export_import_forget_feedback_stats_reindex(
    tmp_path: Path,
    memory: PatternMemory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = memory.add_patterns(FIXES)
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    out_file = tmp_path / "patterns.jsonl"
    assert main(["export", str(out_file)]) == 0
    assert [p.pattern_id for p, _ in read_export(out_file)] == ids

    other = tmp_path / "copy.db"
    assert main(["import", str(out_file), "--db", str(other)]) == 0
    assert "Imported 8 new pattern(s)" in capsys.readouterr().out

    assert main(["feedback", ids[0], "--not-helpful"]) == 0
    assert "1 use(s)" in capsys.readouterr().out
    assert main(["forget", ids[1]]) == 0
    assert main(["stats"]) == 0
    stats = capsys.readouterr().out
    assert "patterns: 7" in stats and "sqlite-vec v0.1.9" in stats

    assert main(["reindex"]) == 0
    assert "7 pattern(s), 7 from the embedding cache" in capsys.readouterr().out
    assert memory.search("last page shows one extra item") == []  # forgotten
    assert memory.search("ZeroDivisionError when the list is empty")[0].stored.pattern == FIXES[7]

    assert main(["search", "ZeroDivisionError when the list is empty"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. score ") and FIXES[7].commit_msg in out
    assert "+    if not values:" in out  # the unified diff


def test_cli_search_at_a_file_line(
    tmp_path: Path,
    memory: PatternMemory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    memory.add_patterns(FIXES)
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    source = tmp_path / "report.py"
    source.write_text(
        "import statistics\n\n\ndef average(values):\n    return sum(values) / len(values)\n",
        encoding="utf-8",
    )
    assert main(["search", "--file", str(source), "--line", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. score ") and FIXES[7].commit_msg in out


def test_cli_search_at_a_line_shows_changes_the_editor_never_flags_last_and_says_so(
    tmp_path: Path,
    memory: PatternMemory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A comment-only change holding the window's code whole scores as high as a fix by
    its code; the editor never flags it, and `search --file --line` says so and shows the
    fixes first."""
    code = "def average(values):\n    return sum(values) / len(values)"
    comment_only = make_pattern(
        "docs: explain average",
        code,
        "def average(values):\n    # the mean\n    return sum(values) / len(values)",
    )
    memory.add_patterns([comment_only, FIXES[7]])
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(settings.db_path))
    source = tmp_path / "report.py"
    source.write_text(f"import statistics\n\n\n{code}\n", encoding="utf-8")
    assert main(["search", "--file", str(source), "--line", "5", "-k", "5"]) == 0
    out = capsys.readouterr().out
    first, _, rest = out.partition("\n2. score ")
    assert FIXES[7].commit_msg in first and "never flagged" not in first
    assert "docs: explain average" in rest
    assert "[never flagged in the editor: formatting or comments only]" in rest


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search"], "give a text to search for"),
        (["search", "--file", "nowhere.py", "--line", "3"], "cannot read nowhere.py"),
        (["search", "--line", "3"], "--line needs --file"),
        (["feedback", "0123456789abcdef", "--helpful"], "no pattern with id"),
        (["forget", "0123456789abcdef"], "no pattern with id"),
        (["import", "missing.jsonl"], "cannot read missing.jsonl"),
        (["index", "no/such/dir"], "no such directory"),
    ],
)
def test_cli_bad_input_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    memory: PatternMemory,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(memory.settings.db_path.parent)
    monkeypatch.setenv("PATTERN_MEMORY_DB_PATH", str(memory.settings.db_path))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pattern-memory: error:") and message in err
    assert len(err.splitlines()) == 1


def test_a_bad_import_line_stores_nothing(tmp_path: Path, memory: PatternMemory) -> None:
    bad = tmp_path / "bad.jsonl"
    write_jsonl_file(FIXES[:2], bad)
    with bad.open("a", encoding="utf-8") as stream:
        stream.write('{"pattern_id": "nope"}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:3"):
        memory.import_patterns(list(read_jsonl(bad)))
    assert memory.stats().patterns == 0


def _child_search(memory: PatternMemory, queue: multiprocessing.Queue[object]) -> None:
    hits = memory.search_code("def average(values):\n    return sum(values) / len(values)")
    memory.add_patterns([FIXES[2]])
    queue.put((hits[0].stored.pattern.pattern_id, os.getpid()))


def test_a_forked_child_opens_its_own_connection(memory: PatternMemory) -> None:
    memory.add_patterns([FIXES[7]])
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(target=_child_search, args=(memory, queue))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    found, pid = queue.get(timeout=5)  # type: ignore[misc]
    assert found == FIXES[7].pattern_id and pid != os.getpid()
    # The parent's connection still works and sees the child's write.
    assert memory.get(FIXES[2].pattern_id) is not None
    assert memory.store.integrity_check() == "ok"
