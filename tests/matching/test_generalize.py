"""Generalized templates (matching/generalize.py) on real git histories indexed by the real
indexer: two fixes of one shape on different APIs open a hole for the API, so that a third
API is flagged; one fix alone keeps its API an anchor; a literal the fixes change is never
a hole."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from pattern_memory.indexing import index_repository
from pattern_memory.matching.finder import FixFinder, FoundFix
from pattern_memory.matching.generalize import Member, Refusal, anti_unify, refusal
from pattern_memory.matching.template import build_template
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import StoredPattern
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.gitrepo import RepoBuilder
from tests.matching.generalize_samples import SITE, build_history, closer, module


def _find(
    builder: RepoBuilder,
    tmp_path: Path,
    embedder: HashEmbedder,
    text: str,
    path: str = "site.py",
) -> list[FoundFix[StoredPattern]]:
    settings = Settings(db_path=tmp_path / "data" / "patterns.db")
    memory = PatternMemory.open(settings, embedder)
    try:
        index_repository(memory, builder.path)
        return FixFinder.create().find(
            memory, settings, text, language="python", path=str(tmp_path / "work" / path)
        )
    finally:
        memory.close()


# Two fixes of one shape, in two commits, on two APIs (file, name, method, message word).
TWO_APIS = [
    ("app/files.py", "handle", "close", "finishing"),
    ("app/pool.py", "conn", "release", "done"),
]


def test_two_fixes_on_different_apis_flag_a_third_api(
    repo_builder: RepoBuilder, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    build_history(repo_builder, TWO_APIS)
    [found] = _find(repo_builder, tmp_path, hash_embedder, SITE)
    assert found.support == 2 and len(found.members) == 2 and found.shown
    # The most recent member's fix (pool.py's), with the site's names and literal put in.
    assert found.stored.pattern.file_path == "app/pool.py"
    assert found.stored.pattern.pattern_id == found.members[0]
    fixed = SITE[: found.match.replace_start] + found.match.replacement
    fixed += SITE[found.match.replace_end :]
    assert fixed == module(closer("stream", "shutdown", "stopping", guarded=True))


def test_one_fix_alone_keeps_its_api_an_anchor(
    repo_builder: RepoBuilder, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    build_history(repo_builder, [("app/files.py", "handle", "close", "finishing")])
    assert _find(repo_builder, tmp_path, hash_embedder, SITE) == []
    # Its own API is flagged, renamed: the anchors hold, the fix is there.
    same_api = module(closer("stream", "close", "finishing", guarded=False))
    [found] = _find(repo_builder, tmp_path / "again", hash_embedder, same_api)
    assert found.support == 1 and found.members == ()


def test_a_place_a_member_keeps_quiet_is_not_flagged_by_the_generalization(
    repo_builder: RepoBuilder, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    build_history(repo_builder, TWO_APIS)
    # files.py's guard is rewritten away later: in its own file the fix was undone, and
    # its before-code there is no sign of the bug (finder.undone_here). The generalized
    # template, whose newest member comes from pool.py, must not flag it instead.
    undone = module(closer("handle", "close", "finishing", guarded=False))
    repo_builder.commit("refactor: the handle is never None here", {"app/files.py": undone})
    assert _find(repo_builder, tmp_path, hash_embedder, undone, "app/files.py") == []
    # The third API is still flagged through the generalization.
    [found] = _find(repo_builder, tmp_path / "again", hash_embedder, SITE)
    assert found.support == 2


def test_two_fixes_in_one_commit_are_no_evidence(
    repo_builder: RepoBuilder, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    fixes = [
        ("app/files.py", "handle", "close", "finishing"),
        ("app/pool.py", "conn", "release", "done"),
    ]
    repo_builder.commit("feat: add logging", {"app/logs.py": "def log(text):\n    print(text)\n"})
    repo_builder.commit(
        "feat: add modules",
        {path: module(closer(p, m, n, guarded=False)) for path, p, m, n in fixes},
    )
    repo_builder.commit(
        "fix: crash when nothing was opened",
        {path: module(closer(p, m, n, guarded=True)) for path, p, m, n in fixes},
    )
    assert _find(repo_builder, tmp_path, hash_embedder, SITE) == []


def _connector(timeout: str, *, fixed: bool = False) -> str:
    # The fix raises the timeout and adds retries (an edit that is more than a new literal).
    retries = ", retries=3" if fixed else ""
    return (
        f"def open_link(host):\n    link = connect(host, timeout={timeout}{retries})\n"
        "    link.start()\n    return link\n"
    )


def test_a_literal_the_fixes_change_stays_an_anchor(
    repo_builder: RepoBuilder, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    # Two fixes raise a timeout to 60, from 30 and from 10: the old value is the point of
    # each fix, so no template stands for "any timeout".
    repo_builder.commit(
        "feat: add links", {"app/a.py": _connector("30"), "app/b.py": _connector("10")}
    )
    repo_builder.commit(
        "fix: timeouts too short on slow links", {"app/a.py": _connector("60", fixed=True)}
    )
    repo_builder.commit("fix: the other timeout too", {"app/b.py": _connector("60", fixed=True)})
    assert _find(repo_builder, tmp_path, hash_embedder, _connector("5")) == []
    # Each fix's own literal is still found (its template), not through a generalization.
    [found] = _find(repo_builder, tmp_path / "again", hash_embedder, _connector("10"))
    assert found.support == 1


def test_anti_unify_opens_holes_only_where_members_differ() -> None:
    first = build_template(
        closer("handle", "close", "finishing", guarded=False),
        closer("handle", "close", "finishing", guarded=True),
        "python",
    )
    second = build_template(
        closer("conn", "release", "finishing", guarded=False),
        closer("conn", "release", "finishing", guarded=True),
        "python",
    )
    assert first is not None and second is not None
    members = [
        Member("a", "c1", "2024-01-01 00:00:00", first),
        Member("b", "c2", "2024-02-01 00:00:00", second),
    ]
    general = anti_unify(members)
    assert general is not None and general.support == 2 and general.members == ("b", "a")
    [hole] = general.generalized
    assert general.template.before_tokens[hole].text == "release"
    # `log` and the agreed literal keep their roles: still verbatim.
    texts = [t.text for t in general.template.before_tokens]
    assert texts.index("log") in general.template.anchors
    assert texts.index('"finishing"') not in general.template.holes
    # One commit is no evidence; the same template twice has nothing to generalize.
    assert anti_unify([members[0], Member("b", "c1", "2024-02-01 00:00:00", second)]) is None
    assert anti_unify([members[0], Member("c", "c2", "2024-02-01 00:00:00", first)]) is None


def _member(name: str, commit: str, before: str, after: str) -> Member:
    template = build_template(before, after, "python")
    assert template is not None
    return Member(name, commit, "2024-01-01 00:00:00", template)


def test_why_a_group_gives_no_template() -> None:
    def call(keyword: str, added: str = "") -> str:
        extra = f"        {added}=options.{added},\n" if added else ""
        return (
            f"def run(options):\n    return install(\n        {keyword}=options.{keyword},\n"
            f"{extra}    )\n"
        )

    # Each fix passes one more option, another one each time: what the fix writes is in
    # none of the before-codes, so no hole can say what to write (pip's commonest group).
    added = [
        _member("a", "c1", call("abi"), call("abi", "python_version")),
        _member("b", "c2", call("implementation"), call("implementation", "user_supplied")),
    ]
    assert refusal(added) is Refusal.UNBOUND
    # The same option added on two calls: the option is what they agree on, the hole is
    # the call's other keyword, and the after-code is what both wrote.
    same = [
        _member("a", "c1", call("abi"), call("abi", "python_version")),
        _member("b", "c2", call("implementation"), call("implementation", "python_version")),
    ]
    assert refusal(same) is None
    general = anti_unify(same)
    assert general is not None
    assert {general.template.before_tokens[i].text for i in general.generalized} == {
        "implementation"
    }
    # Other lengths, one commit, nothing that differs.
    shorter = _member(
        "c", "c3", "def run(o):\n    return install(o)\n", "def run(o):\n    return install(o, 1)\n"
    )
    assert refusal([added[0], shorter]) is Refusal.SKELETON
    assert refusal([added[0], dataclasses.replace(added[1], commit="c1")]) is Refusal.SUPPORT
    assert refusal([added[0], dataclasses.replace(added[0], commit="c2")]) is Refusal.SAME


def test_check_reports_a_generalized_fix_with_its_support(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    build_history(repo_builder, TWO_APIS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERN_MEMORY_")}
    db = tmp_path / "patterns.db"
    work = tmp_path / "work"
    work.mkdir()
    (work / "streams.py").write_text(SITE)

    def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pattern_memory", *map(str, args)]
        return subprocess.run(
            command, capture_output=True, text=True, cwd=work, env=env, timeout=300, check=False
        )

    assert cli("index", repo_builder.path, "--db", db, "--no-progress").returncode == 0
    result = cli("check", "streams.py", "--db", db)
    assert result.returncode == 1, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith(
        "streams.py:4:1: fix: crash in app/pool.py when nothing was opened "
        "(generalized from 2 fixes of the same shape) ["
    )
