"""Which learned changes may become a diagnostic in an editor.

Every change is learned and stays searchable; but a change that only touches imports,
comments, docstrings or string text, only reformats, bumps a version or a licence, or fixes a
typo is no bug anyone repeats in the code around it. Flagged in an editor, such a change is
noise at best ("Fix some type errors" deleting `from __future__ import annotations`) and harm
at worst (deleting an import the file still uses). `withheld_reason` says why a change is
kept out of the editor, or None when it may be offered.
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..patterns import normalize_code
from .tokens import Token, TokenKind, tokenize


class Withheld(StrEnum):
    MASS_EDIT = "the same edit across many files or sites of one commit"
    FORMATTING = "formatting or comments only"
    IMPORTS = "imports only"
    TYPES = "type annotations only"
    STRINGS = "string text or docstrings only"
    VERSION = "version or licence bump"
    TYPO = "typo fix"
    RENAME = "renames a local name only"
    NEW_DEFINITION = "adds a definition"
    REMOVED_DEFINITION = "removes a definition (moved or dropped code)"


_TYPO_MESSAGE = re.compile(
    r"\b(?:typos?|spelling|misspell\w*|grammar|wording)\b",
    re.IGNORECASE,
)
_IMPORT_LINE = re.compile(
    r"^\s*(?:import\b|from\s+\S+\s+import\b|#\s*include\b|using\s+[\w.]+\s*;"
    r"|(?:const|let|var)\s+[\w{},\s]+=\s*require\(|require\(|use\s+[\w:]+)"
)
_VERSION_LINE = re.compile(
    r"""^\s*(?:__version__|version|VERSION|Version|__version_info__)\s*[:=]"""
    r"""|^\s*["']?version["']?\s*:|copyright|licen[cs]e|SPDX-License-Identifier""",
    re.IGNORECASE,
)


def is_import_line(line: str) -> bool:
    """Whether a line starts an import (`import`, `from m import`, `#include`, `using`,
    `require(...)`, `use`)."""
    return bool(_IMPORT_LINE.match(line))


def _changed_lines(before: str, after: str) -> list[tuple[str, bool]]:
    """The lines removed or added (white space inside a line ignored), each with whether
    it belongs to an import statement (a continuation line of `from m import (` too)."""
    left, right = _import_marked(before), _import_marked(after)
    changed: list[tuple[str, bool]] = []
    matcher = difflib.SequenceMatcher(
        None, [line for line, _ in left], [line for line, _ in right], False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed.extend(left[i1:i2])
            changed.extend(right[j1:j2])
    return [(line, in_import) for line, in_import in changed if line]


def _import_marked(code: str) -> list[tuple[str, bool]]:
    """Each line stripped, with whether it is part of an import statement."""
    marked: list[tuple[str, bool]] = []
    depth = 0
    for raw in code.split("\n"):
        line = raw.strip()
        starts = bool(_IMPORT_LINE.match(line))
        marked.append((line, starts or depth > 0))
        if starts or depth > 0:
            depth = max(0, depth + line.count("(") + line.count("{"))
            depth = max(0, depth - line.count(")") - line.count("}"))
    return marked


def _python_tree(code: str, *, annotations: bool) -> str | None:
    """The code's syntax tree with imports and docstrings left out (and type annotations,
    unless `annotations`), or None when the code does not parse on its own (a fragment)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None

    class Strip(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            super().generic_visit(node)
            if not annotations:
                if isinstance(node, ast.arg):
                    node.annotation = None
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    node.returns = None
            body = getattr(node, "body", None)
            if isinstance(body, list):
                kept: list[ast.stmt] = []
                for child in body:
                    if isinstance(child, ast.Import | ast.ImportFrom) or (
                        isinstance(child, ast.Expr)
                        and isinstance(child.value, ast.Constant)
                        and isinstance(child.value.value, str)
                    ):
                        continue
                    if not annotations and isinstance(child, ast.AnnAssign):
                        if child.value is None:
                            continue  # a declaration only: `x: int`
                        kept.append(ast.Assign(targets=[child.target], value=child.value))
                    else:
                        kept.append(child)
                node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
            return node

    return ast.dump(Strip().visit(tree))


def _without_empty_statements(tokens: list[Token]) -> list[str]:
    """The tokens' texts with each run of `;` as one: an empty statement changes nothing
    (while one `;` added between two statements may: JavaScript's ASI hazards)."""
    texts: list[str] = []
    for token in tokens:
        if not (token.text == ";" and texts and texts[-1] == ";"):
            texts.append(token.text)
    return texts


def withheld_reason(
    before_code: str, after_code: str, language: str, commit_msg: str = ""
) -> Withheld | None:
    """Why this change is never shown as a diagnostic, or None when it may be."""
    before, after = normalize_code(before_code), normalize_code(after_code)
    before_tokens = tokenize(before, language)
    after_tokens = tokenize(after, language)
    if _without_empty_statements(before_tokens) == _without_empty_statements(after_tokens):
        return Withheld.FORMATTING  # `;;` -> `;` too (axios' tests): no bug is fixed there
    changed = _changed_lines(before, after)
    if changed and all(in_import for _, in_import in changed):
        return Withheld.IMPORTS
    if language == "python" and before.strip() and after.strip():
        left = _python_tree(before, annotations=True)
        if left is not None and left == _python_tree(after, annotations=True):
            return Withheld.IMPORTS  # multi-line imports or docstrings, or both
        left = _python_tree(before, annotations=False)
        if left is not None and left == _python_tree(after, annotations=False):
            return Withheld.TYPES
    if changed and all(_VERSION_LINE.search(line) for line, _ in changed):
        return Withheld.VERSION
    code_before = [t.text for t in before_tokens if t.kind is not TokenKind.STRING]
    code_after = [t.text for t in after_tokens if t.kind is not TokenKind.STRING]
    if code_before == code_after:
        return Withheld.STRINGS
    subject = commit_msg.strip().split("\n", 1)[0]
    if _TYPO_MESSAGE.search(subject):
        return Withheld.TYPO
    if _renamed_only(before_tokens, after_tokens):
        return Withheld.RENAME
    if _only_a_definition(before, after, language, inserted=True):
        return Withheld.NEW_DEFINITION
    if _only_a_definition(before, after, language, inserted=False):
        return Withheld.REMOVED_DEFINITION
    return None


def _renamed_only(before: list[Token], after: list[Token]) -> bool:
    """Whether the after-code is the before-code with names consistently renamed (`_dirs`
    -> `_` everywhere): a refactoring. A fix that uses another, existing name instead
    (`return x` -> `return y`) is no bijection, and stays."""
    if len(before) != len(after):
        return False
    forward: dict[str, str] = {}
    backward: dict[str, str] = {}
    for left, right in zip(before, after, strict=True):
        if left.kind is not right.kind:
            return False
        if left.kind is TokenKind.NAME:
            if forward.setdefault(left.text, right.text) != right.text:
                return False
            if backward.setdefault(right.text, left.text) != left.text:
                return False
        elif left.text != right.text:
            return False
    return True


_DEFINITION_START = re.compile(
    r"^\s*(?:@\w|(?:async\s+)?def\s|class\s|(?:export\s+)?(?:async\s+)?function\b|func\s"
    r"|(?:pub\s+)?fn\s|type\s+\w+\s|var\s+\w+\s*=?)"
)


def _only_a_definition(before: str, after: str, language: str, *, inserted: bool) -> bool:
    """Whether the change only inserts (or only deletes) lines and they start with a
    definition (a function, class, method, type or global): new code, or code moved away,
    not a bug a look-alike repeats."""
    left, right = before.split("\n"), after.split("\n")
    matcher = difflib.SequenceMatcher(
        None, [line.strip() for line in left], [line.strip() for line in right], False
    )
    touched: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        added, removed = right[j1:j2], left[i1:i2]
        kept_side, other_side = (added, removed) if inserted else (removed, added)
        if any(line.strip() for line in other_side):
            return False
        touched.extend(kept_side)
    code = [line for line in touched if tokenize(line, language)]
    return bool(code) and bool(_DEFINITION_START.match(code[0]))


# The same abstract edit in this many files of one commit is a codemod, not a bug fix.
MASS_EDIT_FILES = 3
# ... or at this many sites, in one file or more (axios "Fixing http tests to avoid hanging":
# `.catch(done)` after 35 `.then(...)` calls of one test file).
MASS_EDIT_SITES = 5
# The same abstract edit at this many sites of one file of one commit: its look-alikes left
# in that file were left on purpose (CommitEdits.surveyed).
SURVEYED_SITES = 3


def abstract_edit(before_code: str, after_code: str, language: str) -> tuple[str, ...]:
    """The change with names and literals abstracted: the removed and the added tokens of
    each changed run, names as ID and literals as LIT (two sites of one codemod give the
    same abstract edit, whatever their names)."""

    def shape(code: str) -> list[str]:
        return [
            "ID"
            if t.kind is TokenKind.NAME
            else "LIT"
            if t.kind in (TokenKind.STRING, TokenKind.NUMBER)
            else t.text
            for t in tokenize(normalize_code(code), language)
        ]

    left, right = shape(before_code), shape(after_code)
    edit: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, False).get_opcodes():
        if tag != "equal":
            edit += ["\x00-", *left[i1:i2], "\x00+", *right[j1:j2]]
    return tuple(edit)


def edit_core(edit: tuple[str, ...]) -> tuple[str, ...]:
    """An abstract edit without its separators: the sites of one codemod differ in whether
    a statement ends there (axios added `.catch(done)` at 27 sites, at 3 of them before a
    `;` that the diff then counts as added)."""
    return tuple(token for token in edit if token not in _SEPARATORS)


_SEPARATORS = frozenset({";", ","})


@dataclass(frozen=True, slots=True)
class CommitEdits:
    """One commit's abstract edits: the codemods among them (made in MASS_EDIT_FILES files
    or at MASS_EDIT_SITES sites or more) and at how many sites of each file each edit was
    made."""

    mass: frozenset[tuple[str, ...]]
    sites: Mapping[tuple[tuple[str, ...], str], int]

    @classmethod
    def of(cls, edits: Iterable[tuple[tuple[str, ...], str]]) -> CommitEdits:
        """From the commit's abstract edits, each with the file path it was made in."""
        sites = Counter((edit_core(edit), path) for edit, path in edits)
        files: dict[tuple[str, ...], set[str]] = {}
        count: Counter[tuple[str, ...]] = Counter()
        for (edit, path), at in sites.items():
            files.setdefault(edit, set()).add(path)
            count[edit] += at
        mass = frozenset(
            edit
            for edit, paths in files.items()
            if len(paths) >= MASS_EDIT_FILES or count[edit] >= MASS_EDIT_SITES
        )
        return cls(mass, dict(sites))

    def is_mass(self, edit: tuple[str, ...]) -> bool:
        """Whether `edit` is one site of a codemod of the commit."""
        return bool(self.mass) and edit_core(edit) in self.mass

    def surveyed(self, edit: tuple[str, ...], path: str) -> bool:
        """Whether the commit made `edit` at SURVEYED_SITES sites or more of the file at
        `path`: it went through that file's look-alikes one by one, so the ones it left
        are no twins it missed (black added a feature to the tables of Python 3.8 to 3.11
        of mode.py and, on purpose, not to those of 3.6 and 3.7)."""
        return self.sites.get((edit_core(edit), path), 0) >= SURVEYED_SITES


_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|testing|__tests__|spec|specs)/|(?:^|/)test_[^/]*$|_test\.\w+$"
    r"|(?:^|/)[^/]*_tests?\.py$|\.(?:test|spec)\.\w+$|(?:^|/)conftest\.py$",
    re.IGNORECASE,
)


def is_test_path(path: str) -> bool:
    """Whether a file is test code (tests/, test_x.py, x_test.go, x.test.js, conftest.py)."""
    return bool(_TEST_PATH.search(path.replace("\\", "/")))
