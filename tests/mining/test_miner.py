from __future__ import annotations

import datetime
import textwrap
import tracemalloc
from collections.abc import Callable

import pytest

from pattern_memory.errors import RepositoryError
from pattern_memory.mining import MinedCommit, MineOptions, head_commit, mine_commits
from pattern_memory.mining.gitproc import BlobStream
from pattern_memory.patterns import LineRange, Pattern, ProblemType, make_pattern_id
from tests.gitrepo import RepoBuilder

Mine = Callable[..., list[MinedCommit]]  # the fixtures of tests/mining/conftest.py
MinePatterns = Callable[..., list[Pattern]]


def _code(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


CALC = _code(
    """
    import math


    def area(radius):
        r = radius
        return 3.14 * r * r


    def perimeter(radius):
        return 2 * 3.14 * radius
    """
)


def test_a_fix_gives_one_exact_record_widened_to_the_function(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"calc.py": CALC})
    fix = repo_builder.commit(
        "fix: use math.pi in area",
        {"calc.py": CALC.replace("return 3.14 * r * r", "return math.pi * r * r")},
        author="Ada Lovelace <ada@example.com>",
    )
    [pattern] = mined_patterns(repo_builder.path)
    assert pattern == Pattern(
        pattern_id=make_pattern_id(fix, "calc.py", "3,7,3,7"),
        problem_type=ProblemType.BUG_FIX,
        before_code="def area(radius):\n    r = radius\n    return 3.14 * r * r",
        after_code="def area(radius):\n    r = radius\n    return math.pi * r * r",
        commit_msg="fix: use math.pi in area",
        author="ada@example.com",
        date="2024-01-01 02:00:00",
        # 0.5 base + 0.2 clear fix + 0.15 both sides; 23 + 26 changed chars: no size bonus
        confidence=0.85,
        commit=fix,
        file_path="calc.py",
        language="python",
        before_lines=LineRange(4, 6),
        after_lines=LineRange(4, 6),
    )
    assert len(pattern.pattern_id) == 16
    assert pattern.to_json_dict()["solution_hash"] == pattern.solution_hash


def test_ids_are_stable_across_runs_and_distinct_per_hunk(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    filler = "".join(f"\n\ndef unrelated_{i}():\n    return {i}\n" for i in range(3))
    source = CALC.replace("\n\n\ndef perimeter", filler + "\n\ndef perimeter")
    repo_builder.commit("Initial import", {"calc.py": source})
    changed = source.replace("3.14 * r * r", "math.pi * r * r").replace(
        "2 * 3.14 * radius", "2 * math.pi * radius"
    )
    repo_builder.commit("Fix precision of pi", {"calc.py": changed})
    first = mined_patterns(repo_builder.path)
    second = mined_patterns(repo_builder.path)
    assert [p.pattern_id for p in first] == [p.pattern_id for p in second]
    assert first == second
    assert len(first) == 2
    assert len({p.pattern_id for p in first}) == 2
    assert [p.after_lines for p in first] == [LineRange(4, 6), LineRange(20, 21)]


def test_root_commit_and_added_file(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    root = repo_builder.commit("Add calc module", {"calc.py": CALC})
    [pattern] = mined_patterns(repo_builder.path)
    assert pattern.commit == root
    assert pattern.problem_type is ProblemType.FEATURE_ADDITION
    assert pattern.before_code == "" and pattern.before_lines is None
    assert pattern.after_code == CALC.rstrip("\n")
    assert pattern.after_lines == LineRange(1, 10)
    # 0.5 + 0.15 clear feature + 0.1 (the 10 added lines hold 114 chars > 100)
    assert pattern.confidence == 0.75


def test_size_terms_of_confidence(repo_builder: RepoBuilder, mined_patterns: MinePatterns) -> None:
    body = "\n".join(
        f"    total += compute_value_{i}(argument_one, argument_two)" for i in range(12)
    )
    repo_builder.commit(
        "Initial import", {"big.py": "def run():\n    total = 0\n    return total\n"}
    )
    repo_builder.commit(
        "fix: count every value",
        {"big.py": f"def run():\n    total = 0\n{body}\n    return total\n"},
    )
    [pattern] = mined_patterns(repo_builder.path)
    # 12 added lines of 55 chars = 660 > 500: 0.5 + 0.2 + 0.15 + 0.1 + 0.1 = 1.05 -> 1.0
    assert pattern.confidence == 1.0
    repo_builder.commit(
        "Rework totals\n\nFixes #4",
        {"big.py": f"def run():\n    total = 1\n{body}\n    return total\n"},
    )
    last = mined_patterns(repo_builder.path)[-1]
    # body-only keyword: not clear; "    total = 0" + "    total = 1" = 26 chars
    assert last.problem_type is ProblemType.BUG_FIX
    assert last.confidence == 0.65


def test_commit_classification_and_skips(repo_builder: RepoBuilder, mine: Mine) -> None:
    repo_builder.commit("Initial import", {"calc.py": CALC})
    steps = [
        ("Update prefix handling", ProblemType.UNKNOWN),
        ("docs: fix typo in area", ProblemType.UNKNOWN),
        ("feat(geometry)!: return floats", ProblemType.FEATURE_ADDITION),
        ("Tidy up\n\nResolves #7", ProblemType.BUG_FIX),
    ]
    hashes = []
    for number, (message, _) in enumerate(steps):
        source = CALC.replace("r = radius", f"r = radius  # v{number}")
        hashes.append(repo_builder.commit(message, {"calc.py": source}))
    commits = mine(repo_builder.path)
    by_commit = {c.hexsha: c.patterns for c in commits}
    for sha, (_, kind) in zip(hashes, steps, strict=True):
        if kind is ProblemType.UNKNOWN:
            assert by_commit[sha] == []
        else:
            assert [p.problem_type for p in by_commit[sha]] == [kind]
    with_unknown = mine(repo_builder.path, include_unknown=True)
    kinds = {c.hexsha: [p.problem_type for p in c.patterns] for c in with_unknown}
    assert kinds[hashes[0]] == [ProblemType.UNKNOWN]


def test_merge_commits_are_skipped_but_their_branch_is_mined(
    repo_builder: RepoBuilder, mine: Mine
) -> None:
    repo_builder.commit("Initial import", {"calc.py": CALC})
    git = repo_builder.repo.git
    git.checkout("-b", "topic")
    fix = repo_builder.commit("Fix perimeter", {"calc.py": CALC.replace("2 * 3.14", "2 * math.pi")})
    git.checkout("main")
    other = repo_builder.commit("Add notes", {"notes.py": "NOTES = []\n"})
    git.merge("--no-ff", "-m", "Merge branch 'topic' to fix things", "topic")
    merge = repo_builder.repo.head.commit.hexsha
    commits = mine(repo_builder.path)
    assert [c.hexsha for c in commits][-1] == merge  # parents before children
    assert {c.hexsha for c in commits} >= {fix, other, merge}
    by_commit = {c.hexsha: c.patterns for c in commits}
    assert by_commit[merge] == []
    assert len(by_commit[fix]) == 1 and len(by_commit[other]) == 1


def test_since_date_uses_the_author_date(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Add a", {"a.py": "A = 1\n"}, date="2023-12-31T23:00:00+00:00")
    newer = repo_builder.commit("Add b", {"b.py": "B = 1\n"}, date="2024-01-01T00:00:00+00:00")
    import datetime

    patterns = mined_patterns(repo_builder.path, since_date=datetime.date(2024, 1, 1))
    assert [p.commit for p in patterns] == [newer]


def _commit_dated(
    builder: RepoBuilder, message: str, path: str, authored: str, committed: str
) -> str:
    """A commit whose author and committer dates differ (a rebase, a skewed clock)."""
    builder.write(path, f"VALUE = {message!r}\n")
    builder.repo.git.add(A=True)
    env = {"GIT_AUTHOR_DATE": authored, "GIT_COMMITTER_DATE": committed}
    builder.repo.git.commit("-m", message, env=env)
    return builder.repo.head.commit.hexsha


def test_since_date_ignores_the_committer_date(repo_builder: RepoBuilder) -> None:
    repo_builder.commit("Add a", {"a.py": "A = 1\n"}, date="2023-01-01T00:00:00+00:00")
    # Authored after the day but committed before it: git log --since would drop it.
    authored_late = _commit_dated(
        repo_builder, "Add b", "b.py", "2024-02-01T00:00:00+00:00", "2023-06-01T00:00:00+00:00"
    )
    # Committed after the day, authored before it (rebased old work): not wanted.
    _commit_dated(
        repo_builder, "Add c", "c.py", "2023-12-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"
    )
    calls: list[tuple[int, int]] = []
    options = MineOptions(since_date=datetime.date(2024, 1, 1))
    commits = list(mine_commits(repo_builder.path, options, progress=lambda *c: calls.append(c)))
    assert [p.commit for c in commits for p in c.patterns] == [authored_late]
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)


def test_files_that_are_not_mined(repo_builder: RepoBuilder, mined_patterns: MinePatterns) -> None:
    repo_builder.commit("Initial import", {"calc.py": CALC})
    files: dict[str, str | bytes | None] = {
        "poetry.lock": "[[package]]\nname = 'x'\n",
        "package-lock.json": "{}\n",
        "vendor/lib.py": "def f():\n    return 1\n",
        "third_party/x/y.js": "function f() {}\n",
        "api_pb2.py": "DESCRIPTOR = 1\n",
        "gen.py": "# @generated by a tool\nX = 1\n",
        "dist/app.min.js": "var a=1;\n",
        "README.md": "# Hello\n",
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00binary",
        "data.py": b"BLOB = 1\n\x00\x01\x02",
        "kept.py": "def kept():\n    return 1\n",
        "bundle.js": "var a=" + "1+" * 600 + "1;\n",  # minified: one 1,200-char line
    }
    (repo_builder.path / "link.py").symlink_to("kept.py")
    repo_builder.commit("Add everything", files)
    patterns = mined_patterns(repo_builder.path)
    assert [p.file_path for p in patterns] == ["kept.py"]


def test_hunks_above_the_size_limit_are_skipped(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"calc.py": CALC})
    many = "".join(f"V{i} = {i}\n" for i in range(30))
    repo_builder.commit("Add constants", {"consts.py": many, "small.py": "S = 1\n"})
    assert [p.file_path for p in mined_patterns(repo_builder.path, max_hunk_lines=10)] == [
        "small.py"
    ]
    assert len(mined_patterns(repo_builder.path, max_hunk_lines=30)) == 2


def test_renamed_deleted_and_pure_renamed_files(repo_builder: RepoBuilder, mine: Mine) -> None:
    repo_builder.commit(
        "Initial import", {"calc.py": CALC, "old_helpers.py": "def h():\n    return 1\n"}
    )
    repo_builder.rename("calc.py", "geometry.py")
    moved = repo_builder.commit(
        "Fix area and move it", {"geometry.py": CALC.replace("3.14 * r * r", "math.pi * r * r")}
    )
    repo_builder.rename("geometry.py", "shapes.py")
    pure = repo_builder.commit("Fix the module name")
    deleted = repo_builder.commit("Fix: remove the broken helper", {"old_helpers.py": None})
    by_commit = {c.hexsha: c.patterns for c in mine(repo_builder.path)}
    [renamed] = by_commit[moved]
    assert renamed.file_path == "geometry.py"
    assert renamed.before_code == "def area(radius):\n    r = radius\n    return 3.14 * r * r"
    assert renamed.after_code == "def area(radius):\n    r = radius\n    return math.pi * r * r"
    assert by_commit[pure] == []
    [removal] = by_commit[deleted]
    assert removal.file_path == "old_helpers.py"
    assert removal.before_code == "def h():\n    return 1"
    assert removal.after_code == "" and removal.after_lines is None


def test_non_utf8_content_is_decoded(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"names.py": "def name():\n    return 'cafe'\n"})
    repo_builder.commit(
        "Fix accents", {"names.py": "def name():\n    return 'café'\n".encode("latin-1")}
    )
    [pattern] = mined_patterns(repo_builder.path)
    assert pattern.after_code == "def name():\n    return 'café'"


def test_a_commit_with_many_files(repo_builder: RepoBuilder, mine: Mine) -> None:
    files: dict[str, str | bytes | None] = {
        f"pkg/m{i:03}.py": f"def f{i}():\n    return {i}\n" for i in range(300)
    }
    repo_builder.commit("Initial import", files)
    changed: dict[str, str | bytes | None] = {
        f"pkg/m{i:03}.py": f"def f{i}():\n    return {i} + 1\n" for i in range(300)
    }
    repo_builder.commit("Fix off by one everywhere", changed)
    patterns = mine(repo_builder.path)[-1].patterns
    assert len(patterns) == 300
    assert patterns[7].before_code == "def f7():\n    return 7"
    assert patterns[7].after_code == "def f7():\n    return 7 + 1"


def test_two_hunks_in_one_function_are_one_pattern(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    lines = [f"    step_{i}()" for i in range(20)]
    source = "def run():\n" + "\n".join(lines) + "\n"
    repo_builder.commit("Initial import", {"run.py": source})
    changed = source.replace("step_2()", "step_2(True)").replace("step_17()", "step_17(True)")
    repo_builder.commit("Fix steps", {"run.py": changed})
    [pattern] = mined_patterns(repo_builder.path)
    assert pattern.before_lines == LineRange(1, 21)
    assert pattern.after_code == changed.rstrip("\n")


def test_since_commit_resumes_after_it(repo_builder: RepoBuilder, mine: Mine) -> None:
    first = repo_builder.commit("Add a", {"a.py": "A = 1\n"})
    second = repo_builder.commit("Add b", {"b.py": "B = 1\n"})
    third = repo_builder.commit("Add c", {"c.py": "C = 1\n"})
    assert [c.hexsha for c in mine(repo_builder.path)] == [first, second, third]
    assert [c.hexsha for c in mine(repo_builder.path, since_commit=second)] == [third]
    assert mine(repo_builder.path, since_commit=third) == []
    # history rewritten: the cursor is no longer an ancestor, so everything is read again
    repo_builder.repo.git.reset("--hard", first)
    rewritten = repo_builder.commit("Add d", {"d.py": "D = 1\n"})
    assert [c.hexsha for c in mine(repo_builder.path, since_commit=third)] == [first, rewritten]
    assert [c.hexsha for c in mine(repo_builder.path, since_commit="0" * 40)] == [
        first,
        rewritten,
    ]


def test_progress_reports_done_and_total(repo_builder: RepoBuilder) -> None:
    for name in "abc":
        repo_builder.commit(f"Add {name}", {f"{name}.py": "X = 1\n"})
    calls: list[tuple[int, int]] = []
    list(mine_commits(repo_builder.path, MineOptions(), progress=lambda d, t: calls.append((d, t))))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_bad_repositories(
    tmp_path: pytest.TempPathFactory, repo_builder: RepoBuilder, mine: Mine
) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    assert head_commit(repo_builder.path) is None
    with pytest.raises(RepositoryError, match="no commits yet"):
        mine(repo_builder.path)
    plain = base / "plain"
    plain.mkdir()
    with pytest.raises(RepositoryError, match="not a git repository"):
        mine(plain)
    with pytest.raises(RepositoryError, match="no such directory"):
        head_commit(base / "missing")


def test_brace_language_widens_to_the_function(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    source = _code(
        """
        import { get } from "./http.js";

        export async function load(url) {
          const response = await get(url);
          return response.json();
        }
        """
    )
    repo_builder.commit("Initial import", {"src/load.js": source})
    fixed = source.replace(
        "  return response.json();",
        "  if (!response.ok) {\n    return null;\n  }\n  return response.json();",
    )
    repo_builder.commit("Fix: load returns null on HTTP errors", {"src/load.js": fixed})
    [pattern] = mined_patterns(repo_builder.path)
    assert pattern.language == "javascript"
    assert pattern.before_code == source.split("\n\n", 1)[1].rstrip("\n")
    assert pattern.after_code == fixed.split("\n\n", 1)[1].rstrip("\n")
    assert (pattern.before_lines, pattern.after_lines) == (LineRange(3, 6), LineRange(3, 9))


def test_git_errors_are_reported_in_gits_words() -> None:
    from pattern_memory.mining.gitproc import last_line

    stderr = (
        b"fatal: detected dubious ownership in repository at '/srv/repo'\n"
        b"To add an exception for this directory, call:\n\n"
        b"\tgit config --global --add safe.directory /srv/repo\n"
    )
    assert last_line(stderr) == "detected dubious ownership in repository at '/srv/repo'"
    assert last_line(b"warning: x\nsomething odd\n") == "something odd"
    assert last_line(b"") == "git failed"


def test_pure_insertions_and_deletions(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"calc.py": CALC})
    volume = "\n\ndef volume(radius):\n    return 4 / 3 * math.pi * radius**3\n"
    repo_builder.commit("Add volume", {"calc.py": CALC + volume})
    guarded = CALC.replace("    r = radius\n", "    r = radius\n    assert r >= 0\n")
    repo_builder.commit("Fix: refuse negative radius", {"calc.py": guarded + volume})
    repo_builder.commit("Fix: drop volume", {"calc.py": guarded})
    added, inserted, removed = mined_patterns(repo_builder.path)
    # a wholly new function: nothing before it (not its neighbour)
    assert (added.before_code, added.before_lines) == ("", None)
    assert added.after_code == volume.strip("\n")
    assert added.after_lines == LineRange(13, 14)
    # lines added inside a function: the function before and after
    assert inserted.before_code == "def area(radius):\n    r = radius\n    return 3.14 * r * r"
    assert inserted.after_code == (
        "def area(radius):\n    r = radius\n    assert r >= 0\n    return 3.14 * r * r"
    )
    # a wholly removed function: nothing after it
    assert removed.before_code == volume.strip("\n")
    assert (removed.after_code, removed.after_lines) == ("", None)


def _children() -> set[tuple[int, str]]:
    """Processes (running or not yet reaped) started by this test process (Linux /proc)."""
    import os
    from pathlib import Path

    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(text.rsplit(")", 1)[1].split()[1]) == os.getpid():
            children.add(
                (int(stat.parent.name), command.replace(b"\0", b" ").decode(errors="replace"))
            )
    return children


def test_stopping_early_ends_the_git_processes(repo_builder: RepoBuilder) -> None:
    repo_builder.commit("Add m", {"m.py": "def m():\n    return 0\n"})
    # A history whose log output outgrows the pipes, so git is still writing when we stop.
    body = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(200))
    for number in range(100):  # more than the miner reads ahead
        repo_builder.commit(
            f"Fix f{number}", {"f.py": body.replace("return", f"return {number} +")}
        )
    before = _children()
    commits = mine_commits(repo_builder.path, MineOptions(max_hunk_lines=1000))
    next(commits)
    started = {command for _, command in _children() - before}
    assert any(" log " in command for command in started)
    assert any(" cat-file --batch" in command for command in started)
    commits.close()
    assert _children() - before == set()


DECORATORS = _code(
    '''
    def command(name=None):
        """Doc."""
        def decorator(f):
            return make(f, name, Command)
        return decorator


    def group(name=None):
        """Doc."""
        def decorator(f):
            return make(f, name, Group)
        return decorator
    '''
)


def test_a_hunk_from_a_nested_function_into_the_next_one_starts_at_the_outer_function(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"m.py": DECORATORS})
    fixed = DECORATORS.replace("name, Command)", "name, cls)").replace(
        "    def decorator(f):\n        return make(f, name, Group)\n    return decorator",
        "    return command(name, cls=Group)",
    )
    repo_builder.commit("fix: group uses command", {"m.py": fixed})
    [pattern] = mined_patterns(repo_builder.path)
    assert (pattern.before_lines, pattern.after_lines) == (LineRange(1, 12), LineRange(1, 10))
    assert pattern.before_code == DECORATORS.rstrip("\n")
    assert pattern.after_code == fixed.rstrip("\n")


NESTED = _code(
    """
    def outer(x):
        def helper(y):
            a = 1
            return y + a
        b = 2
        c = 3
        d = 4
        e = 5
        f = 6
        g = 7
        h = 8
        return helper(x) + b
    """
)


def test_hunks_whose_blocks_overlap_are_one_pattern(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"n.py": NESTED})
    fixed = NESTED.replace("a = 1", "a = 10").replace("helper(x) + b", "helper(x) + c")
    fix = repo_builder.commit("fix: both ends of outer", {"n.py": fixed})
    hunks = repo_builder.repo.git.diff(f"{fix}~1", fix, "-U3", "--inter-hunk-context=0")
    assert hunks.count("\n@@ ") == 2  # two hunks: the nested helper, and outer's last line
    [pattern] = mined_patterns(repo_builder.path)
    assert (pattern.before_lines, pattern.after_lines) == (LineRange(1, 12), LineRange(1, 12))
    assert pattern.before_code == NESTED.rstrip("\n")
    assert pattern.after_code == fixed.rstrip("\n")


def test_a_huge_line_is_dropped_while_streaming(repo_builder: RepoBuilder) -> None:
    data = "var DATA = [" + ",".join(["1234567"] * 1_000_000) + "];\n"  # one 8 MB line
    repo_builder.commit("Initial import", {"data.js": data, "calc.py": CALC})
    fix = repo_builder.commit(
        "fix: data and pi",
        {
            "data.js": data.replace("[1234567", "[7654321"),
            "calc.py": CALC.replace("3.14", "math.pi"),
        },
    )
    tracemalloc.start()
    try:
        commits = list(mine_commits(repo_builder.path, MineOptions()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    patterns = [p for c in commits for p in c.patterns]
    assert {p.file_path for p in patterns if p.commit == fix} == {"calc.py"}
    # The line is never held whole: a chunk of git's output and the kept part of the line.
    assert peak < 6 << 20, f"peak {peak / (1 << 20):.1f} MiB"


def test_a_blob_over_the_size_cap_is_skipped_unread(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = CALC + "".join(f"\n\ndef filler_{i}():\n    return {i}\n" for i in range(100))
    repo_builder.commit("Initial import", {"big.py": big, "small.py": CALC})
    repo_builder.commit(
        "fix: use math.pi",
        {
            "big.py": big.replace("3.14 * r * r", "math.pi * r * r"),
            "small.py": CALC.replace("3.14 * r * r", "math.pi * r * r"),
        },
    )
    monkeypatch.setattr(BlobStream, "MAX_BLOB_BYTES", len(CALC) + 100)  # big.py is over it
    [pattern] = [
        p for p in mined_patterns(repo_builder.path) if p.problem_type is ProblemType.BUG_FIX
    ]
    # The blobs read after the skipped ones are still the right ones.
    assert pattern.file_path == "small.py"
    assert pattern.before_code == "def area(radius):\n    r = radius\n    return 3.14 * r * r"
    assert pattern.after_code == "def area(radius):\n    r = radius\n    return math.pi * r * r"


def test_a_dependabot_bump_is_not_a_fix_from_its_release_notes(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    workflow = "jobs:\n  test:\n    steps:\n      - uses: actions/checkout@v3\n"
    repo_builder.commit("Initial import", {".github/workflows/ci.yml": workflow})
    repo_builder.commit(
        "Bump actions/checkout from 3 to 4\n\nBumps actions/checkout from 3 to 4.\n"
        "Release notes\n- Fixed a crash when cloning\n- Added sparse checkout\n",
        {".github/workflows/ci.yml": workflow.replace("@v3", "@v4")},
        author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
    )
    assert mined_patterns(repo_builder.path) == []
    [bump] = mined_patterns(repo_builder.path, include_unknown=True)[1:]
    assert bump.problem_type is ProblemType.UNKNOWN


LISTING = _code(
    """
    const x = 1;

    function outer(a) {
      if (a) {
        return a + 1;
      }
      return 0;
    }

    class Foo {
      bar(y) {
        const z = y * 2;
        return z;
      }
    }
    """
)


def test_a_js_hunk_from_a_function_into_a_class_method_keeps_the_class_whole(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"a.js": LISTING})
    fixed = LISTING.replace("a + 1", "a + 2").replace("y * 2", "y * 3")
    repo_builder.commit("fix: several", {"a.js": fixed})
    [pattern] = mined_patterns(repo_builder.path)
    assert (pattern.before_lines, pattern.after_lines) == (LineRange(3, 15), LineRange(3, 15))
    assert pattern.after_code == fixed.split("\n", 2)[2].rstrip("\n")
    assert pattern.after_code.endswith("    return z;\n  }\n}")


CASCADE = "X = 1\n\n\ndef f(a):\n" + "".join(f"    v{i} = {i}\n" for i in range(4))
CASCADE += "    def g(b):\n        return b + 1\n" + "".join(f"    w{i} = {i}\n" for i in range(7))
CASCADE += "    return g(a) + v0\n"


def test_a_merged_block_that_reaches_back_over_an_earlier_pattern_absorbs_it(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Initial import", {"c.py": CASCADE})
    fixed = CASCADE.replace("X = 1", "X = 2").replace("b + 1", "b + 2").replace("+ v0", "+ v1")
    fix = repo_builder.commit("fix: three places", {"c.py": fixed})
    hunks = repo_builder.repo.git.diff(f"{fix}~1", fix, "-U3", "--inter-hunk-context=0")
    assert hunks.count("\n@@ ") == 3  # top level (its context reaches `def f`), g, f's end
    [pattern] = mined_patterns(repo_builder.path)
    assert (pattern.before_lines, pattern.after_lines) == (LineRange(1, 18), LineRange(1, 18))
    assert pattern.after_code == fixed.rstrip("\n")


def test_a_branch_pointing_at_a_missing_commit_is_damage_not_an_empty_repository(
    repo_builder: RepoBuilder, mine: Mine
) -> None:
    repo_builder.commit("Add app", {"app.py": "x = 1\n"})
    branch = repo_builder.repo.git.symbolic_ref("HEAD")
    (repo_builder.path / ".git" / branch).write_text("1234567890" * 4 + "\n")
    with pytest.raises(RepositoryError, match="HEAD does not point at a commit"):
        head_commit(repo_builder.path)
    with pytest.raises(RepositoryError, match="may be damaged"):
        mine(repo_builder.path)
