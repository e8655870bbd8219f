"""`index` end to end on real git repositories with the real model: what it learns,
incremental runs, cancel, a SIGKILL in the middle, and several processes at once (incremental
runs and cancel count rows: the fake embedder there)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import apsw
import pytest

from pattern_memory.errors import RepositoryError
from pattern_memory.indexing import index_repository
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.gitrepo import RepoBuilder
from tests.history import build_history, fix_message

CLI = [sys.executable, "-m", "pattern_memory"]

CONFIG_V1 = """import os

import yaml


def load_config(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def greet(name):
    return "hello " + name
"""
CONFIG_V2 = CONFIG_V1.replace(
    "def load_config(path):\n",
    "def load_config(path):\n    if not os.path.exists(path):\n        return {}\n",
)
PAGES_V1 = """def page(items, number, size):
    start = number * size
    return items[start:start + size + 1]
"""
PAGES_V2 = PAGES_V1.replace("size + 1]", "size]")


def _content(settings: Settings) -> list[tuple[object, ...]]:
    """What a run leaves in the database, minus times: patterns, vectors, cursors."""
    connection = apsw.Connection(str(settings.db_path))
    try:
        patterns = list(
            connection.execute(
                "SELECT pattern_id, solution_hash, commit_sha, lookup_hash, vector_seq IS NOT NULL"
                " FROM patterns ORDER BY pattern_id"
            )
        )
        cursors = list(connection.execute("SELECT last_commit, commits_read FROM mined_cursor"))
        return [*patterns, *cursors]
    finally:
        connection.close()


def test_index_learns_the_fixes_and_search_finds_them(
    repo_builder: RepoBuilder, memory: PatternMemory
) -> None:
    repo_builder.commit("Add config loader", {"app/config.py": CONFIG_V1, "app/pages.py": PAGES_V1})
    fix = repo_builder.commit(
        "Fix crash when the config file is missing", {"app/config.py": CONFIG_V2}
    )
    repo_builder.commit("Fix off-by-one in pagination", {"app/pages.py": PAGES_V2})
    repo_builder.commit("Update readme", {"README.md": "hello\n"})

    report = index_repository(memory, repo_builder.path)
    assert report.commits_read == 4 and not report.cancelled
    assert report.by_type["bug_fix"] == 2
    assert memory.stats().embedded == report.patterns_added == 4
    assert (
        memory.store.cursors.last_commit("local", str(repo_builder.path.resolve()))
        == repo_builder.repo.head.commit.hexsha
    )

    # Code like the buggy code, with other names: the past fix comes first.
    hits = memory.search(
        "def read_settings(filename):\n    with open(filename) as fh:\n"
        "        return yaml.safe_load(fh)"
    )
    assert hits[0].stored.pattern.commit == fix
    assert hits[0].stored.pattern.file_path == "app/config.py"
    assert hits[0].stored.pattern.repository == str(repo_builder.path.resolve())
    assert (
        memory.search_code("with open(path) as handle:\n    return yaml.safe_load(handle)")[
            0
        ].stored.pattern.commit
        == fix
    )


def test_a_second_run_reads_only_new_commits(
    tmp_path: Path, settings: Settings, hash_embedder: HashEmbedder
) -> None:
    # The cursor is the point, not the vectors: the fake embedder (the search at the end finds
    # a message by its own words).
    repo = tmp_path / "history"
    build_history(repo, 60)
    with PatternMemory.open(settings, hash_embedder) as memory:
        first = index_repository(memory, repo)
        assert first.commits_read == 60 and first.patterns_added == 60

        again = index_repository(memory, repo)
        assert again.up_to_date and again.commits_read == 0 and again.patterns_added == 0

        build_history(repo, 1, start=60)
        third = index_repository(memory, repo)
        assert (third.commits_read, third.patterns_added, third.embedded) == (1, 1, 1)
        hit = memory.search(fix_message(60), k=1)[0]
        assert hit.stored.pattern.commit_msg == fix_message(60)


def test_cancel_stops_consistently_and_the_next_run_resumes(
    tmp_path: Path, settings: Settings, hash_embedder: HashEmbedder
) -> None:
    repo = tmp_path / "history"
    build_history(repo, 80)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 30:
            cancel.set()

    memory = PatternMemory.open(settings, hash_embedder)  # counts, not meaning: the fake
    try:
        stopped = index_repository(memory, repo, progress=progress, cancel=cancel)
        assert stopped.cancelled and 30 <= stopped.commits_read < 80
        resumed = index_repository(memory, repo)
        assert stopped.commits_read + resumed.commits_read == 80
        assert memory.stats().patterns == memory.stats().embedded == 80
    finally:
        memory.close()


def test_worker_threads_search_while_another_indexes(tmp_path: Path, memory: PatternMemory) -> None:
    """The language server's use: one PatternMemory, called from several worker threads."""
    repo = tmp_path / "history"
    build_history(repo, 200)
    errors: list[BaseException] = []
    done = threading.Event()
    searches = [0]

    def search_loop() -> None:
        try:
            while not done.is_set():
                memory.search("wrong scaling factor in compute_7")
                memory.search_code("total += value * 9")
                searches[0] += 1
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=search_loop) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        report = index_repository(memory, repo)
    finally:
        done.set()
        for worker in workers:
            worker.join(30)
    assert errors == []
    assert searches[0] > 0 and report.patterns_added == 200
    hits = memory.search(fix_message(150), k=1)
    assert hits[0].stored.pattern.commit_msg == fix_message(150)


def test_a_repository_without_commits_has_nothing_to_learn_yet(
    tmp_path: Path, settings: Settings, memory: PatternMemory
) -> None:
    empty = RepoBuilder(tmp_path / "empty")
    run = subprocess.run(
        [*CLI, "index", str(empty.path)],
        env=_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{empty.path.resolve()}: no commits yet, nothing to learn.")
    empty.commit("Fix the crash on empty input", {"app.py": "def f(x):\n    return x\n"})
    assert index_repository(memory, empty.path).commits_read == 1


def test_a_missing_repository_is_one_clear_error(tmp_path: Path, memory: PatternMemory) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepositoryError, match="not a git repository"):
        index_repository(memory, tmp_path / "plain")


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "PATTERN_MEMORY_DB_PATH": str(settings.db_path)}


def test_without_the_model_index_keeps_what_it_mined_and_a_later_run_embeds_it(
    tmp_path: Path, settings: Settings
) -> None:
    repo = tmp_path / "history"
    build_history(repo, 30)
    empty = tmp_path / "no-model"
    empty.mkdir()
    broken = subprocess.run(
        [*CLI, "index", str(repo)],
        env={**_env(settings), "PATTERN_MEMORY_MODEL_DIR": str(empty)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert broken.returncode != 0
    assert broken.stderr.startswith("pattern-memory: error:") and "Traceback" not in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1
    fixed = subprocess.run(
        [*CLI, "index", str(repo)], env=_env(settings), capture_output=True, text=True, check=True
    )
    assert "up to date" in fixed.stdout and "embedded 30 text(s)" in fixed.stdout


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "patterns.db"
    bogus.write_bytes(b"this is not a database" * 100)
    run = subprocess.run(
        [*CLI, "stats", "--db", str(bogus)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 1
    assert run.stderr.startswith("pattern-memory: error: cannot open the pattern database")
    assert "file is not a database" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_the_cli_prints_what_it_learned(tmp_path: Path, settings: Settings) -> None:
    repo = tmp_path / "history"
    build_history(repo, 40)
    run = subprocess.run(
        [*CLI, "index", str(repo)], env=_env(settings), capture_output=True, text=True, check=True
    )
    assert "Learned 40 new pattern(s) from 40 commit(s)" in run.stdout
    assert "by type: feature_addition: 25, bug_fix: 15" in run.stdout
    assert "top files: src/module_0.py (2), src/module_1.py (2)" in run.stdout
    assert run.stderr == ""  # no progress bar when stderr is not a terminal
    again = subprocess.run(
        [*CLI, "index", str(repo)], env=_env(settings), capture_output=True, text=True, check=True
    )
    assert "up to date" in again.stdout and "top files (all runs): src/module_0.py" in again.stdout


def test_a_progress_bar_on_a_terminal(tmp_path: Path, settings: Settings) -> None:
    repo = tmp_path / "history"
    build_history(repo, 30)
    master, slave = pty.openpty()  # a real terminal for stderr
    try:
        run = subprocess.run(
            [*CLI, "index", str(repo)],
            env=_env(settings),
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            check=True,
        )
        os.close(slave)
        shown = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert "mining    [" in shown.decode() and "30/30 commits" in shown.decode()
    assert "embedding [" in shown.decode() and "30/30 patterns" in shown.decode()
    assert "Learned 30 new pattern(s)" in run.stdout  # the summary stays on stdout


def test_sigkill_mid_index_leaves_a_sound_database_that_resumes(
    tmp_path: Path, settings: Settings
) -> None:
    repo = tmp_path / "history"
    build_history(repo, 320)
    process = subprocess.Popen(
        [*CLI, "index", str(repo)],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    progress_seen = False
    while time.monotonic() < deadline and process.poll() is None:
        if settings.db_path.exists():
            try:
                connection = apsw.Connection(str(settings.db_path))
                connection.set_busy_timeout(1000)
                rows = list(connection.execute("SELECT count(*) FROM mined_cursor"))
                connection.close()
                progress_seen = rows[0][0] > 0
            except apsw.Error:
                progress_seen = False  # schema not created yet
        if progress_seen:
            break
        time.sleep(0.05)
    assert progress_seen and process.poll() is None, "the indexer finished before the kill"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    connection = apsw.Connection(str(settings.db_path))
    assert list(connection.execute("PRAGMA integrity_check")) == [("ok",)]
    [partial] = list(connection.execute("SELECT count(*), count(vector_seq) FROM patterns"))
    connection.close()
    assert 0 < partial[0] <= 320 and partial[1] < 320  # killed part-way

    subprocess.run([*CLI, "index", str(repo)], env=_env(settings), check=True, capture_output=True)
    clean = Settings(db_path=tmp_path / "clean" / "patterns.db")
    subprocess.run([*CLI, "index", str(repo)], env=_env(clean), check=True, capture_output=True)
    resumed_content = _content(settings)
    assert resumed_content == _content(clean)
    assert sum(1 for row in resumed_content if len(row) == 5 and row[4]) == 320


SEARCH_LOOP = """
import sys, time
from pathlib import Path
from pattern_memory.memory.service import PatternMemory
from pattern_memory.settings import Settings
memory = PatternMemory.open(Settings(db_path=Path(sys.argv[1])))
end = time.monotonic() + float(sys.argv[2])
searches = 0
while time.monotonic() < end:
    memory.search("wrong scaling factor in compute_3")
    memory.search_code("total += value * 7")
    searches += 1
memory.close()
print(searches)
"""


def test_two_processes_index_and_search_at_once(tmp_path: Path, settings: Settings) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    build_history(first, 60)
    build_history(second, 80, start=500)
    env = _env(settings)
    # Create the schema first so that both indexers start on equal terms.
    (tmp_path / "empty.jsonl").write_text("")
    subprocess.run([*CLI, "import", str(tmp_path / "empty.jsonl")], env=env, check=True)
    processes = [
        subprocess.Popen(
            [*CLI, "index", str(repo)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for repo in (first, second)
    ]
    searcher = subprocess.Popen(
        [sys.executable, "-c", SEARCH_LOOP, str(settings.db_path), "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for process in [*processes, searcher]:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err.decode()
        assert b"locked" not in err
    assert int(out) > 0  # the searcher's count
    memory_stats = subprocess.run(
        [*CLI, "stats", "--json"], env=env, check=True, capture_output=True, text=True
    ).stdout
    import json

    stats = json.loads(memory_stats)
    assert stats["patterns"] == stats["embedded"] == 140
    assert len(stats["repositories"]) == 2
