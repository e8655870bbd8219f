"""The planted-secret corpus committed to a real repository (and one secret in an assistant's
answer) never comes out of anything the tool writes: `extract` output, the database file and
its WAL, `export`, the `inject` block, search results. Real git, real store, real model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import apsw

from tests.gitrepo import RepoBuilder
from tests.secret_corpus import KEY_BODY, PLANTED

CLI = [sys.executable, "-m", "pattern_memory"]
QUERIES = (
    "rotate the leaked AWS credentials",
    "weather forecast request api key",
    "mysqldump backup script",
    "connect to the staging admin client",
    "smtp login send alert",
    "stripe key",
    "private key pem body",
    "database url password",
    "docker login registry",
    "deploy token nightly job",
    "boto3 session profile credentials",
)


def _run(*args: str, db: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*CLI, *args],
        env={**os.environ, "PATTERN_MEMORY_DB_PATH": str(db)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def _secrets() -> list[str]:
    return [p.secret for p in PLANTED] + KEY_BODY


def test_no_planted_secret_reaches_any_output(tmp_path: Path, repo_builder: RepoBuilder) -> None:
    for number, planted in enumerate(p for p in PLANTED if p.where == "file"):
        name = f"secret_{number}.py"
        repo_builder.commit(f"Add {planted.name}", {name: planted.text + "VALUE = 1\n"})
        repo_builder.commit(f"fix: {planted.name} off by one", {name: planted.text + "VALUE = 2\n"})
    for number, planted in enumerate(p for p in PLANTED if p.where == "message"):
        repo_builder.commit(planted.text, {f"message_{number}.py": "RETRIES = 3\n"})
    [answer] = [p for p in PLANTED if p.where == "answer"]

    db = tmp_path / "patterns.db"
    extracted = tmp_path / "extract.jsonl"
    _run("extract", "--repo-path", str(repo_builder.path), "--output", str(extracted), db=db)
    written = {"extract": extracted.read_text(encoding="utf-8")}
    assert written["extract"].count("\n") >= len(PLANTED)

    # A connection held open keeps the WAL file after the commands exit.
    _run("index", str(repo_builder.path), db=db)
    holder = apsw.Connection(str(db))
    assert holder.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    try:
        written["index output"] = _run("index", str(repo_builder.path), db=db)
        written["forge"] = _run(
            "forge", "--request", "boto3 uses the wrong profile", db=db, stdin=answer.text
        )
        exported = tmp_path / "export.jsonl"
        _run("export", str(exported), "--db", str(db), db=db)
        written["export"] = exported.read_text(encoding="utf-8")
        for query in QUERIES:
            written[f"search {query!r}"] = _run("search", query, "--json", "--db", str(db), db=db)
            written[f"inject {query!r}"] = _run("inject", query, "--db", str(db), db=db)
        files = sorted(tmp_path.glob("patterns.db*"))
        assert any(f.name.endswith("-wal") for f in files)
        database = {f.name: f.read_bytes() for f in files}
    finally:
        holder.close()

    # The secrets' neighbourhood was stored and is found: the test looks where they would be.
    assert "[REDACTED:" in written["export"]
    assert sum("REDACTED" in text for key, text in written.items() if key.startswith("inject"))
    leaks = [
        (where, secret)
        for secret in _secrets()
        for where, text in written.items()
        if secret in text
    ] + [
        (name, secret)
        for secret in _secrets()
        for name, raw in database.items()
        if secret.encode() in raw
    ]
    print(
        f"\n{len(_secrets())} planted secrets, {len(written) + len(database)} outputs, "
        f"{len(leaks)} leaks"
    )
    assert leaks == []
