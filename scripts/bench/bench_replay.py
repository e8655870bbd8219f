#!/usr/bin/env python3
"""Replay evaluation: do learned fixes help on a real history's later bug fixes?

For each repository (a local git path, cloned into a temporary folder):

1. Split its history by commit time at the 80th percentile of commit dates; the split commit
   is the newest first-parent commit of HEAD at or before that time. `pattern-memory index`
   (the real CLI, a fresh database) learns the history up to the split commit.
2. Test fixes: the commits after the split (not reachable from it, committed after the split
   time, not merges) whose message has one of the seed's bug-fix keywords (fix, bug, hotfix,
   patch, resolve, as whole words and their inflections; this script's own classifier, not
   the project's), that change at most --max-lines non-test code lines (a modified line
   counts once: the sum over hunks of max(removed, added)) in 1 to 3 existing code files,
   and whose code tokens change (not comments or white space only). At most --max-fixes
   per repository, a seeded sample.
3. Each fix file is opened as it was at the fix's parent in the real language server
   (`python -m pattern_memory serve`, stdio) through a small JSON-RPC client: initialize
   with initializationOptions, didOpen, wait for publishDiagnostics of that version, then
   one codeAction request per diagnostic range. So is a seeded sample of other code files
   of the repository at the split commit (noise).

Figures (per repository and pooled):
- recall: fixes with a diagnostic on a line the human changed (removed or modified lines of
  the parent; for a pure insertion, the lines on either side of the insertion point);
- fix accuracy top-1 / top-5: the first / one of the first five "Apply learned fix" edits
  offered on those diagnostics (preferred first, then the server's order) turns the parent
  file into the parent with one or more consecutive human hunks applied and nothing else,
  compared as token sequences (white space and comments ignored);
- precision: share of the fix files' diagnostics on lines the human then changed;
- noise: diagnostics per 1,000 lines, on the fix files and on the sample files;
- harmful: offered edits (every apply action on every document) whose result no longer
  parses (Python: ast; JavaScript: `node --check` when node exists; Go: `gofmt -e` when it
  exists, else not checked) or that remove the last binding of a name the document still
  uses (Python: ast; JavaScript / Go: declarations found by regular expressions);
- precedent: fixes one of whose hunks has an abstract edit (removed and added tokens with
  names as ID and literals as LIT) that occurs in a hunk of the learning commits' own git
  diffs (computed from git, not from the store): the ceiling. Recall and accuracy are also
  given over the fixes with a precedent;
- flaggable precedent (the strict ceiling, printed beside the generous one): the same, but
  the learning hunk must be one an editor may flag: of a commit the seed's keywords or
  FIX_INTENT's words ("prevent", "avoid", "handle", "crash", "ensure", ...) call a fix (not
  a typo or wording fix), outside test files, changing more than imports, and
  changing more than names or literals (abstract before != abstract after). Recall and
  accuracy are also given over these fixes (rec|flag, top5|flag); "located": of those, the
  fixes whose edit with one line of context on each side (a -U1 hunk, abstracted) is also
  that of such a learning hunk: an edit found by its abstract tokens alone is often a
  coincidence (`+ self.x = None` anywhere), one line of context is what places it;
- concrete precedent: the same with the tokens as written (nothing abstracted): the ceiling
  for a matcher that keeps API names and changed literals verbatim.

With --living, a second pass on the first --living-max-fixes fixes (by time) learns
incrementally: before each fix, the clone is checked out at the fix's parent and
`pattern-memory index` runs again on a copy of the split's database.

The server runs with decayAfterDays 0 (decay counts from when a pattern was learned, i.e.
today, so it would change nothing now but would empty the memory of a run made later),
indexOnStart false (the CLI indexes), and otherwise its defaults (--option KEY=VALUE adds
initializationOptions). --code REV runs the server and the CLI from `git archive REV` of
this checkout instead of the working tree (other engineers edit it while the bench runs).

Usage: python scripts/bench/bench_replay.py REPO [REPO ...] [--max-fixes 40]
       [--noise-files 25] [--seed 1] [--code REV] [--living] [--json FILE] [--work DIR]
       [--reuse-index]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import contextlib
import io
import json
import keyword
import os
import random
import re
import shutil
import subprocess
import symtable
import sys
import tempfile
import time
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]

# --- languages, files, messages ----------------------------------------------------------

LANGUAGE_BY_SUFFIX = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
}
PATHSPECS = [f"*{suffix}" for suffix in LANGUAGE_BY_SUFFIX]
# Tests are not what the fix is about; vendored code is someone else's history.
TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|__tests__|spec)/|(^|/)(test_[^/]*|[^/]*_test\.(py|go)|conftest\.py"
    r"|[^/]*\.(test|spec)\.[jt]sx?)$"
)
VENDORED_PATH = re.compile(r"(^|/)(_?vendor(ed)?|third_party|node_modules|dist|build)/|\.min\.js$")
# The seed's bug-fix keywords and their inflections, whole words (letters and digits bound
# a word, so "bug_fix" and "hot-fix" count, "prefix" and "debug" do not).
BUG_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(fix|fixes|fixed|fixing|bugfix|bugfixes|bug|bugs|hotfix|hotfixes|hotfixed"
    r"|patch|patches|patched|patching|resolve|resolves|resolved|resolving)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
TRAILER = re.compile(r"^[A-Za-z-]+-by:.*$", re.MULTILINE)
# What else says a commit mends something (issue 9's list of fixes the seed's keywords miss,
# and a few more): the learning commits whose edits count for the strict ceiling are those
# with a seed keyword or one of these, since `index` learns both.
FIX_INTENT = re.compile(
    r"(?<![A-Za-z0-9_])(prevent\w*|disallow\w*|(?:don'?t|do not|does not|doesn'?t) allow"
    r"|avoid\w*|handl(?:e|es|ed)|crash\w*|regression|ensure[sd]?|correct(?:ly|s|ed)?"
    r"|incorrect\w*|wrong\w*|CVE-\d+-\d+|security|closes #\d+)(?![A-Za-z0-9_])",
    re.IGNORECASE,
)
# Subjects of typo and wording fixes: learned, never flagged by an editor.
TYPO_SUBJECT = re.compile(r"\b(?:typos?|spelling|misspell\w*|grammar|wording)\b", re.IGNORECASE)
# Lines of an import (Python, JavaScript `require`/`import`, Go): a hunk of nothing else is
# an import change, which an editor never flags.
IMPORT_LINE = re.compile(
    r"^\s*(?:import\b|from\s+\S+\s+import\b|\)\s*$|[\w.]+,\s*$|\"[\w./-]+\"\s*$"
    r"|(?:const|let|var)\s+[\w{},\s]+=\s*require\(|require\()"
)
MAX_FILES_PER_FIX = 3
MAX_SAMPLE_BYTES = 200_000
PUBLISH_TIMEOUT = 120.0


def language_of(path: str) -> str | None:
    return LANGUAGE_BY_SUFFIX.get(Path(path).suffix)


def is_bug_fix(message: str) -> bool:
    subject = message.strip().split("\n", 1)[0]
    if subject.startswith('Revert "'):
        return False  # its subject quotes the reverted commit's keywords
    return bool(BUG_WORDS.search(TRAILER.sub("", message)))


# --- tokens ------------------------------------------------------------------------------

PY_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<comment>\#[^\n]*)
    |(?P<str>[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|$)|'''[\s\S]*?(?:'''|$)
        |"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))
    |(?P<num>\.?\d[\w.]*)|(?P<name>[^\W\d]\w*)|(?P<op>.)""",
    re.VERBOSE,
)
C_TOKEN = re.compile(
    r"""(?P<ws>\s+)|(?P<comment>//[^\n]*|/\*[\s\S]*?(?:\*/|$))
    |(?P<str>"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|`(?:\\.|[^`\\])*`?)
    |(?P<num>\.?\d[\w.]*)|(?P<name>[A-Za-z_$][\w$]*)|(?P<op>.)""",
    re.VERBOSE,
)


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


KEYWORDS = {
    "python": frozenset(keyword.kwlist),
    "javascript": words(
        "break case catch class const continue debugger default delete do else export extends"
        " finally for function if import in instanceof new return super switch this throw try"
        " typeof var void while with yield let static async await of null true false"
        " undefined"
    ),
    "go": words(
        "break case chan const continue default defer else fallthrough for func go goto if"
        " import interface map package range return select struct switch type var nil true"
        " false"
    ),
}
KEYWORDS["typescript"] = KEYWORDS["javascript"]


def regex_tokens(text: str, language: str) -> list[tuple[str, str]]:
    """(kind, text) pairs, white space and comments dropped. Works on fragments (a diff's
    lines): an unterminated string runs to the end of its line."""
    pattern = PY_TOKEN if language == "python" else C_TOKEN
    out = []
    for match in pattern.finditer(text):
        kind = match.lastgroup or "op"
        if kind not in ("ws", "comment"):
            out.append((kind, match.group()))
    return out


def file_tokens(text: str, language: str) -> tuple[str, ...]:
    """A whole file's tokens for comparing two versions: Python through its own tokenizer
    (indentation is structure, kept as INDENT / DEDENT), else the regular expression."""
    if language == "python":
        try:
            out = []
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
                    continue
                if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE):
                    out.append(tokenize.tok_name[token.type])
                else:
                    out.append(token.string)
            return tuple(out)
        except (tokenize.TokenError, SyntaxError):
            pass
    return tuple(text for _, text in regex_tokens(text, language))


def abstract(lines: Iterable[str], language: str) -> tuple[str, ...]:
    keywords = KEYWORDS[language]
    out = []
    for kind, text in regex_tokens("\n".join(lines), language):
        if kind == "name":
            out.append(text if text in keywords else "ID")
        elif kind in ("str", "num"):
            out.append("LIT")
        else:
            out.append(text)
    return tuple(out)


# --- git -----------------------------------------------------------------------------------


class RepositoryFailed(Exception):
    """One repository cannot be replayed (a broken clone, no history before the split, a
    failed index): reported, and the run goes on with the next one."""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "core.quotePath=false", *args],
        capture_output=True,
        text=True,
        errors="replace",
        check=True,
    )
    return done.stdout


def show(repo: Path, commit: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"], capture_output=True, check=False
    )
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Hunk:
    old_start: int  # 1-based; for a pure insertion, the line after which it goes (0: top)
    old_count: int
    removed: tuple[str, ...]
    added: tuple[str, ...]
    # With context (log_diffs(context=1)): the old and the new side, context lines included.
    old_side: tuple[str, ...] = ()
    new_side: tuple[str, ...] = ()

    def changed_lines(self) -> set[int]:
        """0-based parent lines the human changed (for an insertion: its two neighbours)."""
        if self.old_count:
            return set(range(self.old_start - 1, self.old_start - 1 + self.old_count))
        return {line for line in (self.old_start - 1, self.old_start) if line >= 0}


@dataclass
class FileDiff:
    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)


HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def log_diffs(
    repo: Path, *revisions: str, context: int = 0
) -> Iterator[tuple[str, list[FileDiff]]]:
    """(commit, its code files' -U<context> diffs against its first parent), streamed from
    one `git log -p`, for non-merge commits in `revisions`."""
    command = [
        "git",
        "-C",
        str(repo),
        "-c",
        "core.quotePath=false",
        "log",
        "-p",
        f"-U{context}",
        "--no-merges",
        "--no-renames",
        "--no-color",
        "--no-ext-diff",
        "--format=%x01%H",
        *revisions,
        "--",
        *PATHSPECS,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, errors="replace", bufsize=1 << 20
    )
    assert process.stdout is not None
    commit: str | None = None
    files: list[FileDiff] = []
    current: FileDiff | None = None
    removed: list[str] = []
    added: list[str] = []
    old_side: list[str] = []
    new_side: list[str] = []
    header: tuple[int, int] | None = None

    def close_hunk() -> None:
        nonlocal header, removed, added, old_side, new_side
        if header is not None and current is not None:
            current.hunks.append(
                Hunk(
                    header[0],
                    header[1],
                    tuple(removed),
                    tuple(added),
                    tuple(old_side),
                    tuple(new_side),
                )
            )
        header, removed, added, old_side, new_side = None, [], [], [], []

    for raw in process.stdout:
        line = raw.rstrip("\n")
        if line.startswith("\x01"):
            close_hunk()
            if commit is not None:
                yield commit, files
            commit, files, current = line[1:], [], None
        elif line.startswith("diff --git "):
            close_hunk()
            current = FileDiff(None, None)
            files.append(current)
        elif header is None and line.startswith("--- ") and current is not None:
            current.old_path = None if line == "--- /dev/null" else line[6:]
        elif header is None and line.startswith("+++ ") and current is not None:
            current.new_path = None if line == "+++ /dev/null" else line[6:]
        elif line.startswith("@@"):
            close_hunk()
            if (match := HUNK_HEADER.match(line)) is not None:
                old_count = 1 if match.group(2) is None else int(match.group(2))
                header = (int(match.group(1)), old_count)
        elif header is not None and line.startswith("-"):
            removed.append(line[1:])
            old_side.append(line[1:])
        elif header is not None and line.startswith("+"):
            added.append(line[1:])
            new_side.append(line[1:])
        elif header is not None and line.startswith(" "):
            old_side.append(line[1:])
            new_side.append(line[1:])
    close_hunk()
    if commit is not None:
        yield commit, files
    process.wait()


def split_point(repo: Path) -> tuple[int, str]:
    """(the 80th percentile of commit times, the newest first-parent commit at or before it)."""
    times = sorted(int(t) for t in git(repo, "log", "--format=%ct", "HEAD").split())
    split_time = times[int(0.8 * (len(times) - 1))]
    for line in git(repo, "rev-list", "--first-parent", "--format=%ct", "HEAD").splitlines():
        if line.startswith("commit "):
            candidate = line.split()[1]
        elif int(line) <= split_time:
            return split_time, candidate
    raise RepositoryFailed(f"{repo}: no commit before the split")


# --- the test fixes ---------------------------------------------------------------------------


@dataclass
class FixFile:
    path: str
    language: str
    hunks: list[Hunk]
    changed: list[int]  # 0-based parent lines the human changed


@dataclass
class Fix:
    commit: str
    parent: str
    time: int
    subject: str
    files: list[FixFile]
    precedent: bool = False
    identity_precedent: bool = False  # the matching abstract edit changes only names/literals
    # The strict ceiling: a precedent an editor may flag (see learning_edits).
    flaggable_precedent: bool = False
    # Stricter still: a flaggable precedent whose edit with one line of context on each side
    # (names and literals abstracted) is the same: what locates an edit.
    located_precedent: bool = False
    # The very same edit (removed and added tokens as written) is in the learning history:
    # the ceiling for a matcher that keeps API names and changed literals verbatim.
    concrete_precedent: bool = False


def code_size(hunks: list[Hunk]) -> int:
    return sum(max(len(h.removed), len(h.added)) for h in hunks)


def hunk_keys(hunks: Iterable[Hunk], language: str) -> Iterator[tuple[tuple[str, ...], ...]]:
    for hunk in hunks:
        removed, added = abstract(hunk.removed, language), abstract(hunk.added, language)
        if removed or added:
            yield (removed, added)


CONCRETE = ("\x00concrete",)


def concrete_keys(hunks: Iterable[Hunk], language: str) -> Iterator[tuple[tuple[str, ...], ...]]:
    """The hunks' edits as written (tokens, white space and comments aside), marked apart
    from the abstract keys so that one set holds both."""
    for hunk in hunks:
        removed = tuple(t for _, t in regex_tokens("\n".join(hunk.removed), language))
        added = tuple(t for _, t in regex_tokens("\n".join(hunk.added), language))
        if removed != added:
            yield (CONCRETE, removed, added)


def find_fixes(repo: Path, split: str, tip: str, split_time: int, max_lines: int) -> list[Fix]:
    messages: dict[str, tuple[str, int, str]] = {}
    raw = git(repo, "log", "--no-merges", "--format=%H%x1f%P%x1f%ct%x1f%B%x1e", f"{split}..{tip}")
    for record in raw.split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) == 4 and parts[1]:
            messages[parts[0]] = (parts[1].split()[0], int(parts[2]), parts[3])
    fixes = []
    for commit, diffs in log_diffs(repo, f"{split}..{tip}"):
        parent, when, message = messages.get(commit, ("", 0, ""))
        if not parent or when <= split_time or not is_bug_fix(message):
            continue
        source = [
            d
            for d in diffs
            if not TEST_PATH.search(d.new_path or d.old_path or "")
            and not VENDORED_PATH.search(d.new_path or d.old_path or "")
            and d.hunks
        ]
        if not 1 <= len(source) <= MAX_FILES_PER_FIX:
            continue
        if any(
            d.old_path is None or d.new_path is None or d.old_path != d.new_path for d in source
        ):
            continue  # a new or deleted file: nothing to open at the parent
        if code_size([h for d in source for h in d.hunks]) > max_lines:
            continue
        files = []
        for d in source:
            path = d.old_path or ""
            language = language_of(path)
            if language is None:
                break
            changed = sorted(set().union(*(h.changed_lines() for h in d.hunks)))
            files.append(FixFile(path, language, d.hunks, changed))
        else:
            subject = message.strip().split("\n", 1)[0][:100]
            fixes.append(Fix(commit, parent, when, subject, files))
    return fixes


def code_changes(repo: Path, fix: Fix) -> bool:
    """Whether the fix changes code tokens at all (not only comments or white space)."""
    for file in fix.files:
        before, after = show(repo, fix.parent, file.path), show(repo, fix.commit, file.path)
        if before is None or after is None:
            return False
        if file_tokens(before, file.language) != file_tokens(after, file.language):
            return True
    return False


Keys = set[tuple[tuple[str, ...], ...]]


LOCATED = ("\x00located",)


def located_keys(hunks: Iterable[Hunk], language: str) -> Iterator[tuple[tuple[str, ...], ...]]:
    """The abstract edits of -U1 hunks with their context lines (old side, new side)."""
    for hunk in hunks:
        old, new = abstract(hunk.old_side, language), abstract(hunk.new_side, language)
        if old != new:
            yield (LOCATED, old, new)


def learning_edits(repo: Path, split: str, max_lines: int) -> tuple[Keys, Keys]:
    """The abstract edits of every small hunk of every code file in the learning history
    (test files included: the memory learns from them too), and the flaggable ones: the
    abstract edits of hunks an editor may flag (flaggable_hunk), and of the same hunks with
    one line of context (located_keys, from a second `git log -p -U1`)."""
    subjects: dict[str, tuple[str, bool]] = {}
    for record in git(repo, "log", "--no-merges", "--format=%H%x1f%B%x1e", split).split("\x1e"):
        sha, _, message = record.strip("\n").partition("\x1f")
        mends = is_bug_fix(message) or bool(FIX_INTENT.search(TRAILER.sub("", message)))
        subjects[sha] = (message.strip().split("\n", 1)[0], mends)
    keys: Keys = set()
    flaggable: Keys = set()
    for commit, diffs in log_diffs(repo, split):
        subject, bug_fix = subjects.get(commit, ("", False))
        fix_commit = bug_fix and not TYPO_SUBJECT.search(subject)
        for diff in diffs:
            path = diff.new_path or diff.old_path or ""
            language = language_of(path)
            if language is None:
                continue
            small = [h for h in diff.hunks if max(len(h.removed), len(h.added)) <= max_lines]
            keys.update(hunk_keys(small, language))
            keys.update(concrete_keys(small, language))
            if fix_commit and not TEST_PATH.search(path):
                flaggable.update(
                    key
                    for hunk in small
                    if flaggable_hunk(hunk)
                    for key in hunk_keys([hunk], language)
                    if key[0] != key[1]
                )
    for commit, diffs in log_diffs(repo, split, context=1):
        subject, bug_fix = subjects.get(commit, ("", False))
        if not bug_fix or TYPO_SUBJECT.search(subject):
            continue
        for diff in diffs:
            path = diff.new_path or diff.old_path or ""
            language = language_of(path)
            if language is None or TEST_PATH.search(path):
                continue
            small = [
                h
                for h in diff.hunks
                if max(len(h.removed), len(h.added)) <= max_lines and flaggable_hunk(h)
            ]
            flaggable.update(located_keys(small, language))
    return keys, flaggable


def flaggable_hunk(hunk: Hunk) -> bool:
    """Whether a hunk changes more than imports (an editor never flags an import change)."""
    lines = [line for line in (*hunk.removed, *hunk.added) if line.strip()]
    return any(not IMPORT_LINE.match(line) for line in lines)


def mark_precedents(repo: Path, fixes: list[Fix], keys: Keys, flaggable: Keys) -> None:
    for fix in fixes:
        paths = {file.path for file in fix.files}
        for _, diffs in log_diffs(repo, "-1", fix.commit, context=1):
            for diff in diffs:
                if diff.old_path in paths and language_of(diff.old_path or "") is not None:
                    language = language_of(diff.old_path or "") or ""
                    fix.located_precedent = fix.located_precedent or any(
                        key in flaggable for key in located_keys(diff.hunks, language)
                    )
        for file in fix.files:
            for key in hunk_keys(file.hunks, file.language):
                if key in keys:
                    fix.precedent = True
                    fix.identity_precedent = fix.identity_precedent or key[0] == key[1]
                if key in flaggable:
                    fix.flaggable_precedent = True
            if any(key in keys for key in concrete_keys(file.hunks, file.language)):
                fix.concrete_precedent = True


# --- a small LSP client ------------------------------------------------------------------------


class LspClient:
    """JSON-RPC over the server's stdin/stdout, as an editor speaks it. Requests from the
    server are answered with null; diagnostics are kept per (uri, version)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.published: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
        self.waiters: dict[tuple[str, int], asyncio.Future[list[dict[str, Any]]]] = {}
        self.messages: list[str] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path, stderr: Path) -> LspClient:
        with stderr.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "pattern_memory",
                "serve",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=str(cwd),
                limit=1 << 24,
            )
        return cls(process)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := await stream.readline()) not in (b"\r\n", b"\n"):
                if not line:
                    return
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self._dispatch(json.loads(await stream.readexactly(length)))

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            future = self.pending.pop(message.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RuntimeError(str(message["error"])))
                else:
                    future.set_result(message.get("result"))
        elif "id" in message:
            self._send({"id": message["id"], "result": None})
        elif method == "textDocument/publishDiagnostics":
            params = message["params"]
            version, uri = params.get("version"), unquote(params["uri"])
            self.published[(uri, version)] = params["diagnostics"]
            waiter = self.waiters.pop((uri, version), None) if version else None
            if waiter is not None and not waiter.done():
                waiter.set_result(params["diagnostics"])
        elif method == "window/showMessage":
            self.messages.append(message["params"].get("message", ""))

    async def request(self, method: str, params: Any, timeout: float = 60.0) -> Any:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        self._send({"id": self.next_id, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def initialize(self, root: Path, options: dict[str, Any]) -> None:
        capabilities = {
            "textDocument": {
                "publishDiagnostics": {"versionSupport": True},
                "codeAction": {
                    "codeActionLiteralSupport": {
                        "codeActionKind": {"valueSet": ["", "quickfix", "refactor"]}
                    },
                    "isPreferredSupport": True,
                },
                "synchronization": {"didSave": False},
            },
            "workspace": {"workspaceEdit": {"documentChanges": True}},
        }
        await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": capabilities,
                "initializationOptions": options,
            },
            timeout=120,
        )
        self.notify("initialized", {})

    async def diagnose(
        self, uri: str, language: str, version: int, text: str
    ) -> list[dict[str, Any]] | None:
        """didOpen, then the diagnostics published for that version (None: timed out)."""
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiters[(unquote(uri), version)] = future
        item = {"uri": uri, "languageId": language, "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        try:
            return await asyncio.wait_for(future, PUBLISH_TIMEOUT)
        except TimeoutError:
            return None

    async def actions(self, uri: str, diagnostic: dict[str, Any]) -> list[dict[str, Any]]:
        params = {
            "textDocument": {"uri": uri},
            "range": diagnostic["range"],
            "context": {"diagnostics": [diagnostic], "only": ["quickfix"]},
        }
        return list(await self.request("textDocument/codeAction", params) or [])

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reader.cancel()


# --- edits, accuracy, harm ---------------------------------------------------------------------

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in LINE_BREAK.finditer(text)]


def offset_of(text: str, starts: list[int], position: dict[str, int]) -> int:
    """An LSP position (UTF-16 columns, the default encoding) as an offset in `text`."""
    line = position["line"]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    units, offset = position["character"], start
    while units > 0 and offset < end:
        units -= 2 if ord(text[offset]) > 0xFFFF else 1
        offset += 1
    return offset


def edits_of(action: dict[str, Any], uri: str) -> list[dict[str, Any]] | None:
    edit = action.get("edit") or {}
    if "documentChanges" in edit:
        return [
            e
            for change in edit["documentChanges"]
            if change.get("textDocument", {}).get("uri") == uri
            for e in change.get("edits", [])
        ]
    if "changes" in edit:
        return list(edit["changes"].get(uri, []))
    return None


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    starts = line_starts(text)
    spans = [
        (
            offset_of(text, starts, e["range"]["start"]),
            offset_of(text, starts, e["range"]["end"]),
            e["newText"],
        )
        for e in edits
    ]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def diagnostic_lines(diagnostic: dict[str, Any]) -> range:
    start, end = diagnostic["range"]["start"], diagnostic["range"]["end"]
    last = end["line"] - 1 if end["character"] == 0 and end["line"] > start["line"] else end["line"]
    return range(start["line"], last + 1)


def apply_hunks(text: str, hunks: list[Hunk]) -> str:
    """The parent text with these human hunks applied (line by line, as git gave them)."""
    lines = text.split("\n")
    for hunk in sorted(hunks, key=lambda h: h.old_start, reverse=True):
        first = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        lines[first : first + hunk.old_count] = list(hunk.added)
    return "\n".join(lines)


def targets(text: str, file: FixFile) -> set[tuple[str, ...]]:
    """Token sequences of the parent with each run of consecutive human hunks applied."""
    hunks = sorted(file.hunks, key=lambda h: h.old_start)
    found = set()
    for first in range(len(hunks)):
        for last in range(first, len(hunks)):
            found.add(file_tokens(apply_hunks(text, hunks[first : last + 1]), file.language))
    return found


class Checker:
    """Does an edited document still parse, and does it still bind every name it uses?"""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.node = shutil.which("node")
        self.gofmt = shutil.which("gofmt")
        self.cache: dict[tuple[str, str], bool | None] = {}

    def parses(self, text: str, language: str, suffix: str) -> bool | None:
        """True / False, or None when no parser is at hand for this language."""
        key = (language, text)
        if key in self.cache:
            return self.cache[key]
        result: bool | None = None
        if language == "python":
            try:  # compiled, not only parsed: `return` outside a function, a lost nonlocal
                compile(text, "<document>", "exec", dont_inherit=True)
                result = True
            except (SyntaxError, ValueError):
                result = False
        elif language == "javascript" and self.node:
            result = self._external([self.node, "--check"], text, suffix)
        elif language == "go" and self.gofmt:
            result = self._external([self.gofmt, "-e", "-l"], text, suffix)
        self.cache[key] = result
        return result

    def _external(self, command: list[str], text: str, suffix: str) -> bool:
        path = self.work / f"check{suffix}"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run([*command, str(path)], capture_output=True, check=False)
        return done.returncode == 0

    @staticmethod
    def names(text: str, language: str) -> tuple[set[str], set[str]] | None:
        """(names bound, names used) in a document; None if it cannot be read."""
        if language == "python":
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                return None
            bound: set[str] = set()
            used: set[str] = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    bound.add(node.name)
                elif isinstance(node, ast.alias):
                    bound.add((node.asname or node.name).split(".")[0])
                elif isinstance(node, ast.arg):
                    bound.add(node.arg)
                elif isinstance(node, ast.ExceptHandler) and node.name:
                    bound.add(node.name)
            return bound, used - set(dir(builtins))
        declared = DECLARATIONS.get(language)
        if declared is None:
            return None
        bound = {name for m in declared.finditer(text) for name in m.groups() if name}
        used = {t for kind, t in regex_tokens(text, language) if kind == "name"}
        return bound, used - KEYWORDS[language]


DECLARATIONS = {
    "javascript": re.compile(
        r"\b(?:const|let|var|function\*?|class)\s+([A-Za-z_$][\w$]*)"
        r"|\bimport\s+([A-Za-z_$][\w$]*)|\bas\s+([A-Za-z_$][\w$]*)"
    ),
    "go": re.compile(
        r"\bfunc\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)|\b(?:var|const|type)\s+([A-Za-z_]\w*)"
        r"|\b([A-Za-z_]\w*)\s*:="
    ),
}
DECLARATIONS["typescript"] = DECLARATIONS["javascript"]


@dataclass
class Offered:
    """One "Apply learned fix" edit offered on a document."""

    line: int
    pattern: str
    preferred: bool
    parses: bool | None  # None: not checked (no parser at hand)
    removed_names: list[str]
    harmful: bool
    accurate: bool = False
    on_changed: bool = False


@dataclass
class DocumentResult:
    path: str
    lines: int
    diagnostics: int
    on_changed: int = 0
    timed_out: bool = False
    offered: list[Offered] = field(default_factory=list)


def function_names(text: str) -> dict[tuple[str, ...], tuple[set[str], set[str]]] | None:
    """(names bound, names read) in each Python function defined once, by its qualified
    name, from the compiler's own symbol tables (written apart from the server's check,
    which this bench judges): the document-wide sets cannot see a function losing a
    binding that another function, or a function nested in it, keeps."""
    try:
        tree = ast.parse(text)
        top = symtable.symtable(text, "<document>", "exec")
    except (SyntaxError, ValueError):
        return None
    # symtable names comprehensions and lambdas like functions: keep the `def`s.
    defs = {
        (node.name, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    found: dict[tuple[str, ...], tuple[set[str], set[str]]] = {}
    twice: set[tuple[str, ...]] = set()

    def visit(table: symtable.SymbolTable, path: tuple[str, ...]) -> None:
        for child in table.get_children():
            inner = (*path, child.get_name())
            if child.get_type() == "function" and (child.get_name(), child.get_lineno()) in defs:
                if inner in found:
                    twice.add(inner)
                read = symbols(child, symtable.Symbol.is_referenced) | read_from_outside(child)
                found[inner] = (symbols(child, symtable.Symbol.is_local), read - set(dir(builtins)))
            visit(child, inner)

    visit(top, ())
    return {path: names for path, names in found.items() if path not in twice}


def read_from_outside(table: symtable.SymbolTable) -> set[str]:
    """Names that the scopes nested in `table` read without binding them themselves."""
    read: set[str] = set()
    for child in table.get_children():
        referenced = symbols(child, symtable.Symbol.is_referenced)
        read |= (referenced | read_from_outside(child)) - symbols(child, symtable.Symbol.is_local)
    return read


def symbols(table: symtable.SymbolTable, test: Callable[[symtable.Symbol], bool]) -> set[str]:
    """The names of a symbol table's symbols that pass `test` (is_local, is_referenced)."""
    return {symbol.get_name() for symbol in table.get_symbols() if test(symbol)}


def lost_in_functions(before: str, after: str) -> list[str]:
    """Names a function of `before` binds that the same function of `after` reads unbound."""
    old, new = function_names(before), function_names(after)
    if old is None or new is None:
        return []
    lost: set[str] = set()
    for path in old.keys() & new.keys():
        lost |= (old[path][0] - new[path][0]) & new[path][1]
    return sorted(lost)


def check_edit(checker: Checker, before: str, after: str, language: str, suffix: str) -> Offered:
    original = checker.parses(before, language, suffix)
    parses = checker.parses(after, language, suffix) if original else None
    removed: list[str] = []
    names_before, names_after = checker.names(before, language), checker.names(after, language)
    if names_before is not None and names_after is not None:
        gone = names_before[0] - names_after[0]
        removed = sorted(gone & names_after[1])
    if language == "python" and not removed:
        removed = lost_in_functions(before, after)
    harmful = parses is False or bool(removed)
    return Offered(-1, "", False, parses, removed, harmful)


async def evaluate_document(
    client: LspClient,
    checker: Checker,
    *,
    uri: str,
    path: str,
    language: str,
    text: str,
    version: int,
    file: FixFile | None = None,
) -> DocumentResult:
    lines = len(line_starts(text)) - (1 if text.endswith("\n") else 0)
    diagnostics = await client.diagnose(uri, language, version, text)
    result = DocumentResult(path, lines, len(diagnostics or []), timed_out=diagnostics is None)
    changed = set(file.changed) if file else set()
    wanted = targets(text, file) if file else set()
    seen: set[str] = set()
    ranges_done: set[str] = set()
    for diagnostic in diagnostics or []:
        result.on_changed += bool(changed.intersection(diagnostic_lines(diagnostic)))
        key = json.dumps(diagnostic["range"], sort_keys=True)
        if key in ranges_done:
            continue
        ranges_done.add(key)
        for action in await client.actions(uri, diagnostic):
            edits = edits_of(action, uri)
            if not edits:
                continue  # "Not helpful" carries a command only
            fixed = apply_edits(text, edits)
            if fixed in seen:
                continue  # the same edit reached through an overlapping diagnostic
            seen.add(fixed)
            # The action's own diagnostic says where it stands (a request on one range
            # also returns the fixes of the ranges overlapping it).
            own = (action.get("diagnostics") or [diagnostic])[0]
            offered = check_edit(checker, text, fixed, language, Path(path).suffix)
            offered.line = own["range"]["start"]["line"]
            offered.pattern = str((own.get("data") or {}).get("patternId", ""))
            offered.preferred = bool(action.get("isPreferred"))
            offered.on_changed = bool(changed.intersection(diagnostic_lines(own)))
            offered.accurate = bool(wanted) and file_tokens(fixed, language) in wanted
            result.offered.append(offered)
    client.close(uri)
    return result


# --- one repository ------------------------------------------------------------------------------


@dataclass
class FixResult:
    commit: str
    subject: str
    precedent: bool
    identity_precedent: bool
    changed_lines: int
    documents: list[DocumentResult]
    concrete_precedent: bool = False
    flaggable_precedent: bool = False
    located_precedent: bool = False

    @property
    def detected(self) -> bool:
        return any(d.on_changed for d in self.documents)

    def ranked(self) -> list[Offered]:
        """The edits offered on the changed lines: preferred first, then the server's order."""
        on = [o for d in self.documents for o in d.offered if o.on_changed]
        return sorted(on, key=lambda o: not o.preferred)

    def top(self, k: int) -> bool:
        return any(o.accurate for o in self.ranked()[:k])


@dataclass
class RepoResult:
    name: str
    split: str
    split_date: str
    commits_learned: int
    index_report: str
    candidates: int  # qualifying test fixes before the cap
    fixes: list[FixResult]
    noise: list[DocumentResult]
    seconds: dict[str, float]
    living: list[FixResult] | None = None


def isolated_env(work: Path, code: Path | None) -> dict[str, str]:
    """The environment of the server and the CLI: no user config file, no PATTERN_MEMORY_*
    variables of whoever runs the bench, and the code under test first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATTERN_MEMORY_")}
    env["PATTERN_MEMORY_CONFIG"] = str(work / "no-config.yaml")
    env["PYTHONUNBUFFERED"] = "1"
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(":")
    return env


def index(clone: Path, db: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pattern_memory",
            "index",
            "--db",
            str(db),
            "--no-progress",
            str(clone),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        # What a failed index left is no memory to --reuse-index later.
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        raise RepositoryFailed(f"index failed on {clone}:\n{done.stderr[-2000:]}")
    return done.stdout.strip().split("\n", 1)[0]


def server_options(db: Path, extra: dict[str, Any]) -> dict[str, Any]:
    return {"dbPath": str(db), "indexOnStart": False, "decayAfterDays": 0, **extra}


class Session:
    """One language server over one database; documents get increasing versions."""

    def __init__(self, client: LspClient, checker: Checker, clone: Path) -> None:
        self.client, self.checker, self.clone, self.version = client, checker, clone, 0

    async def fix(self, repo: Path, fix: Fix) -> FixResult:
        documents = []
        for file in fix.files:
            text = show(repo, fix.parent, file.path) or ""
            self.version += 1
            uri = (self.clone / file.path).as_uri()
            documents.append(
                await evaluate_document(
                    self.client,
                    self.checker,
                    uri=uri,
                    path=file.path,
                    language=file.language,
                    text=text,
                    version=self.version,
                    file=file,
                )
            )
        size = code_size([h for f in fix.files for h in f.hunks])
        return FixResult(
            fix.commit,
            fix.subject,
            fix.precedent,
            fix.identity_precedent,
            size,
            documents,
            fix.concrete_precedent,
            fix.flaggable_precedent,
            fix.located_precedent,
        )

    async def sample(self, repo: Path, commit: str, path: str) -> DocumentResult:
        self.version += 1
        text = show(repo, commit, path) or ""
        uri = (self.clone / path).as_uri()
        return await evaluate_document(
            self.client,
            self.checker,
            uri=uri,
            path=path,
            language=language_of(path) or "",
            text=text,
            version=self.version,
        )


async def start_session(
    clone: Path, db: Path, env: dict[str, str], work: Path, extra: dict[str, Any]
) -> Session:
    client = await LspClient.start(env, clone, work / "server.log")
    await client.initialize(clone, server_options(db, extra))
    return Session(client, Checker(work), clone)


def noise_sample(repo: Path, split: str, exclude: set[str], count: int, seed: str) -> list[str]:
    paths = []
    for line in git(repo, "ls-tree", "-r", "-l", split).splitlines():
        meta, _, path = line.partition("\t")
        size = meta.split()[3]
        if (
            language_of(path)
            and path not in exclude
            and not VENDORED_PATH.search(path)
            and size.isdigit()
            and int(size) <= MAX_SAMPLE_BYTES
        ):
            paths.append(path)
    rng = random.Random(seed)
    return sorted(rng.sample(paths, min(count, len(paths))))


def fresh_work(work: Path, db: Path, reuse_index: bool) -> bool:
    """Empty the repository's working folder; with `reuse_index`, keep its database (when
    there is one: returns whether it was kept)."""
    kept = work.parent / f"{work.name}.kept-db"
    reuse = reuse_index and db.exists()
    if reuse:
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir()
        for suffix in ("", "-wal", "-shm"):
            if Path(str(db) + suffix).exists():
                shutil.move(str(db) + suffix, kept / (db.name + suffix))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if reuse:
        for moved in kept.iterdir():
            shutil.move(str(moved), work / moved.name)
        kept.rmdir()
    return reuse


async def run_repository(repo: Path, args: argparse.Namespace, code: Path | None) -> RepoResult:
    name = repo.resolve().parent.name if repo.name == "repo" else repo.resolve().name
    # No "+" in the path: a server may give it back percent-encoded in its URIs.
    work = args.work / re.sub(r"[^\w.-]", "-", name)
    db = work / "patterns.db"
    reuse = fresh_work(work, db, args.reuse_index)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    tip = git(clone, "rev-parse", "HEAD").strip()
    split_time, split = split_point(clone)
    git(clone, "checkout", "-q", "--detach", split)
    split_date = time.strftime("%Y-%m-%d", time.gmtime(split_time))
    commits = int(git(clone, "rev-list", "--count", split).strip())
    fixes = [f for f in find_fixes(clone, split, tip, split_time, args.max_lines)]
    fixes = [f for f in fixes if code_changes(clone, f)]
    candidates = len(fixes)
    rng = random.Random(f"{args.seed}:fixes:{name}")
    fixes = sorted(rng.sample(fixes, min(args.max_fixes, len(fixes))), key=lambda f: f.time)
    seconds["select"] = time.perf_counter() - started

    started = time.perf_counter()
    mark_precedents(clone, fixes, *learning_edits(clone, split, args.max_lines))
    seconds["precedents"] = time.perf_counter() - started

    env = isolated_env(work, code)
    started = time.perf_counter()
    report = "(the database of an earlier run, --reuse-index)" if reuse else index(clone, db, env)
    seconds["index"] = time.perf_counter() - started

    started = time.perf_counter()
    session = await start_session(clone, db, env, work, args.options)
    results = [await session.fix(clone, fix) for fix in fixes]
    exclude = {file.path for fix in fixes for file in fix.files}
    sample = noise_sample(clone, split, exclude, args.noise_files, f"{args.seed}:noise:{name}")
    noise = [await session.sample(clone, split, path) for path in sample]
    await session.client.stop()
    seconds["replay"] = time.perf_counter() - started

    living = None
    if args.living:
        started = time.perf_counter()
        chosen = fixes[: args.living_max_fixes]
        living = await run_living(clone, db, env, work, args=args, fixes=chosen)
        seconds["living"] = time.perf_counter() - started
    return RepoResult(
        name, split, split_date, commits, report, candidates, results, noise, seconds, living
    )


async def run_living(
    clone: Path,
    db: Path,
    env: dict[str, str],
    work: Path,
    *,
    args: argparse.Namespace,
    fixes: list[Fix],
) -> list[FixResult]:
    """Each fix against a memory that learned incrementally up to the fix's parent."""
    living_db = work / "living.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(str(db) + suffix).exists():
            shutil.copy(Path(str(db) + suffix), Path(str(living_db) + suffix))
    session = await start_session(clone, living_db, env, work, args.options)
    results = []
    for fix in fixes:
        git(clone, "checkout", "-q", "--detach", fix.parent)
        index(clone, living_db, env)
        results.append(await session.fix(clone, fix))
    await session.client.stop()
    return results


# --- figures -------------------------------------------------------------------------------------


def share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def per_kloc(diagnostics: int, lines: int) -> str:
    return f"{1000.0 * diagnostics / lines:.1f}" if lines else "-"


def figures(fixes: list[FixResult], noise: list[DocumentResult]) -> dict[str, Any]:
    documents = [d for f in fixes for d in f.documents]
    offered = [o for d in [*documents, *noise] for o in d.offered]
    with_precedent = [f for f in fixes if f.precedent]
    with_concrete = [f for f in fixes if f.concrete_precedent]
    with_flaggable = [f for f in fixes if f.flaggable_precedent]
    with_located = [f for f in fixes if f.located_precedent]
    diagnostics = sum(d.diagnostics for d in documents)
    return {
        "fixes": len(fixes),
        "precedent": sum(f.precedent for f in fixes),
        "identity precedent": sum(f.identity_precedent for f in fixes),
        "detected": sum(f.detected for f in fixes),
        "top1": sum(f.top(1) for f in fixes),
        "top5": sum(f.top(5) for f in fixes),
        "precedent detected": sum(f.detected for f in with_precedent),
        "precedent top1": sum(f.top(1) for f in with_precedent),
        "precedent top5": sum(f.top(5) for f in with_precedent),
        "flaggable precedent": len(with_flaggable),
        "flaggable detected": sum(f.detected for f in with_flaggable),
        "flaggable top5": sum(f.top(5) for f in with_flaggable),
        "located precedent": len(with_located),
        "located detected": sum(f.detected for f in with_located),
        "located top5": sum(f.top(5) for f in with_located),
        "concrete precedent": len(with_concrete),
        "concrete detected": sum(f.detected for f in with_concrete),
        "concrete top5": sum(f.top(5) for f in with_concrete),
        "diagnostics": diagnostics,
        "on changed": sum(d.on_changed for d in documents),
        "fix lines": sum(d.lines for d in documents),
        "sample diagnostics": sum(d.diagnostics for d in noise),
        "sample lines": sum(d.lines for d in noise),
        "sample files": len(noise),
        "offered": len(offered),
        "harmful": sum(o.harmful for o in offered),
        "harmful parse": sum(o.parses is False for o in offered),
        "harmful names": sum(bool(o.removed_names) for o in offered),
        "parse not checked": sum(o.parses is None for o in offered),
        "timeouts": sum(d.timed_out for d in [*documents, *noise]),
    }


COLUMNS = [
    ("repository", 22),
    ("fixes", 6),
    ("preced.", 8),
    ("recall", 7),
    ("top-1", 6),
    ("top-5", 6),
    ("rec|prec", 9),
    ("top5|prec", 9),
    ("flag.", 6),
    ("rec|flag", 8),
    ("top5|flag", 9),
    ("loc.", 5),
    ("rec|loc", 7),
    ("precision", 11),
    ("diag/kloc fix", 13),
    ("diag/kloc other", 15),
    ("harmful", 9),
]


def row(name: str, f: dict[str, Any]) -> list[str]:
    return [
        name,
        str(f["fixes"]),
        share(f["precedent"], f["fixes"]),
        share(f["detected"], f["fixes"]),
        share(f["top1"], f["fixes"]),
        share(f["top5"], f["fixes"]),
        share(f["precedent detected"], f["precedent"]),
        share(f["precedent top5"], f["precedent"]),
        share(f["flaggable precedent"], f["fixes"]),
        share(f["flaggable detected"], f["flaggable precedent"]),
        share(f["flaggable top5"], f["flaggable precedent"]),
        share(f["located precedent"], f["fixes"]),
        share(f["located detected"], f["located precedent"]),
        f"{share(f['on changed'], f['diagnostics'])} of {f['diagnostics']}",
        per_kloc(f["diagnostics"], f["fix lines"]),
        per_kloc(f["sample diagnostics"], f["sample lines"]),
        f"{f['harmful']}/{f['offered']}",
    ]


def print_table(title: str, rows: list[list[str]]) -> None:
    print(f"\n{title}")
    print("  ".join(name.rjust(width) for name, width in COLUMNS))
    for cells in rows:
        print("  ".join(cell.rjust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)))


def describe(result: RepoResult) -> None:
    """One repository's details, printed as soon as it is done (a long run that is cut
    short still shows what finished)."""
    f = figures(result.fixes, result.noise)
    spent = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
    print(
        f"\n{result.name}: split {result.split[:10]} ({result.split_date}), "
        f"{result.commits_learned:,} commits learned; {result.candidates} qualifying fixes "
        f"after the split, {f['fixes']} evaluated; {f['sample files']} sample files "
        f"({f['sample lines']:,} lines); {spent}\n  index: {result.index_report}\n"
        f"  precedents: {f['precedent']} (of which the abstract edit only changes names or "
        f"literals: {f['identity precedent']}; flaggable: {f['flaggable precedent']}, of which "
        f"detected {f['flaggable detected']}, top-5 {f['flaggable top5']}; with their "
        f"context line: {f['located precedent']}, detected {f['located detected']}, top-5 "
        f"{f['located top5']}); the same edit "
        f"as written: "
        f"{f['concrete precedent']}, of which detected {f['concrete detected']}, top-5 "
        f"{f['concrete top5']}; diagnostics on fix files {f['diagnostics']} "
        f"over {f['fix lines']:,} lines; harmful: {f['harmful parse']} do not parse, "
        f"{f['harmful names']} remove a used name, {f['parse not checked']} of "
        f"{f['offered']} not parse-checked; timeouts {f['timeouts']}",
        flush=True,
    )
    print_table("", [row(result.name, f)])


def report(results: list[RepoResult], living: bool) -> None:
    rows = [row(r.name, figures(r.fixes, r.noise)) for r in results]
    pooled = figures([x for r in results for x in r.fixes], [x for r in results for x in r.noise])
    rows.append(row("pooled", pooled))
    print_table("Replay (memory learned up to the split):", rows)
    print(
        f"pooled: {pooled['concrete precedent']} fixes repeat an edit of the learning history "
        f"as written; detected {share(pooled['concrete detected'], pooled['concrete precedent'])}"
        f", top-5 {share(pooled['concrete top5'], pooled['concrete precedent'])}"
    )
    if living:
        rows = []
        for r in results:
            count = len(r.living or [])
            rows.append(row(f"{r.name} static", figures(r.fixes[:count], [])))
            rows.append(row(f"{r.name} living", figures(r.living or [], [])))
        print_table("Living (first fixes by time; the same fixes, static vs living):", rows)


def to_json(results: list[RepoResult]) -> dict[str, Any]:
    def fix_record(fix: FixResult) -> dict[str, Any]:
        record = asdict(fix)
        record.update(detected=fix.detected, top1=fix.top(1), top5=fix.top(5))
        return record

    return {
        "repositories": [
            {
                "name": r.name,
                "split": r.split,
                "split_date": r.split_date,
                "commits_learned": r.commits_learned,
                "index_report": r.index_report,
                "candidates": r.candidates,
                "seconds": r.seconds,
                "figures": figures(r.fixes, r.noise),
                "fixes": [fix_record(f) for f in r.fixes],
                "noise": [asdict(d) for d in r.noise],
                "living": None if r.living is None else [fix_record(f) for f in r.living],
            }
            for r in results
        ]
    }


def code_snapshot(revision: str, work: Path) -> tuple[Path, str]:
    commit = git(ROOT, "rev-parse", "--verify", f"{revision}^{{commit}}").strip()
    target = work / f"code-{commit[:12]}"
    if not (target / "pattern_memory").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "server/pattern_memory"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
        shutil.move(str(target / "server" / "pattern_memory"), str(target / "pattern_memory"))
    return target, commit


def parse_option(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def outputs_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of a script that reads what a run of this bench left: its --work
    folder and its --json results (`doc`: the script's docstring, first line the summary)."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n", maxsplit=1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc.split("\n")[2:]),
    )
    parser.add_argument("--work", type=Path, required=True, help="bench_replay's --work")
    parser.add_argument("--json", type=Path, required=True, help="bench_replay's --json")
    return parser


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    parser.add_argument("repos", type=Path, nargs="+", help="git repositories (local paths)")
    parser.add_argument("--max-fixes", type=int, default=40, help="test fixes per repository")
    parser.add_argument("--max-lines", type=int, default=6, help="changed non-test lines")
    parser.add_argument("--noise-files", type=int, default=25, help="sample files per repo")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", metavar="REV", help="run the server from this commit")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an initializationOptions entry (JSON value), e.g. similarity=0.7",
    )
    parser.add_argument("--living", action="store_true", help="also the incremental mode")
    parser.add_argument("--living-max-fixes", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the raw per-fix results here")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        help="use the database an earlier run left in --work (for iterating on matching "
        "only: mining changes since are not in it)",
    )
    args = parser.parse_args()
    args.options = dict(parse_option(text) for text in args.option)
    temporary = args.work is None
    args.work = (args.work or Path(tempfile.mkdtemp(prefix="bench-replay-"))).resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    code, described = None, "the working tree (as installed)"
    if args.code:
        code, commit = code_snapshot(args.code, args.work)
        described = f"commit {commit[:12]} ({args.code})"
    print(
        f"bench_replay: server and CLI from {described}; options "
        f"{server_options(Path('DB'), args.options)}; max {args.max_fixes} fixes of at most "
        f"{args.max_lines} lines, {args.noise_files} sample files, seed {args.seed}; "
        f"node: {shutil.which('node') or 'absent'}, gofmt: {shutil.which('gofmt') or 'absent'}",
        flush=True,
    )
    started = time.perf_counter()
    try:
        results, failed = replay_all(args, code)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    report(results, args.living)
    load = os.getloadavg()
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s (load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores)"
    )
    if args.json:
        write_json(args.json, results)
        print(f"raw results: {args.json}")
    if failed:
        raise SystemExit("bench_replay: not replayed:\n" + "\n".join(failed))


def replay_all(args: argparse.Namespace, code: Path | None) -> tuple[list[RepoResult], list[str]]:
    """Each repository in turn: (the results, what could not be replayed and why)."""
    results: list[RepoResult] = []
    failed: list[str] = []
    for repo in args.repos:
        repo_started = time.perf_counter()
        try:
            results.append(asyncio.run(run_repository(repo, args, code)))
        except (RepositoryFailed, subprocess.CalledProcessError) as error:
            failed.append(f"{repo}: {failure_text(error)}")
            print(f"\n{failed[-1]}\n  skipped", flush=True)
            continue
        describe(results[-1])
        if args.json:
            write_json(args.json, results)
        print(
            f"  {results[-1].name}: done in {time.perf_counter() - repo_started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return results, failed


def failure_text(error: RepositoryFailed | subprocess.CalledProcessError) -> str:
    if isinstance(error, RepositoryFailed):
        return str(error)
    detail = error.stderr if isinstance(error.stderr, str) else ""
    lines = [line for line in detail.splitlines() if line.strip()]
    return f"{' '.join(map(str, error.cmd[:4]))} failed" + (f": {lines[-1]}" if lines else "")


def write_json(path: Path, results: list[RepoResult]) -> None:
    path.write_text(json.dumps(to_json(results), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
