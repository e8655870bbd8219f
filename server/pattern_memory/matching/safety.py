"""A quick fix must never make code worse.

Before a learned fix is offered, the document as the fix would leave it is checked: it must
still parse, must not lose a name the rest of it still uses (an import the fix deletes, a
variable it no longer assigns), and must not start using a name nothing defines. Python is
checked with its own parser; other languages with the tree-sitter parser where one is
installed (see `syntax.py`), otherwise they are not checked beyond what matching requires.
Two more, for the edits of a document (DocumentSafety): the fix must not write a line twice
in a row (a moved line adapted into a place that already has it), and, in Python, must not
change what the callers of a function defined there have to pass (its required parameters,
or fewer parameters): the learned fix's commit changed its callers too, this document's
callers stay as they are.
"""

from __future__ import annotations

import ast
import builtins
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .. import syntax
from .python_names import Names, function_names, python_names
from .roles import bound_names
from .tokens import TokenKind, tokenize

_BUILTINS = frozenset(dir(builtins)) | frozenset({"__file__", "__name__", "__doc__"})


def _parse_python(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _compiles(text: str | ast.Module) -> bool:
    """Python accepts it beyond its grammar too: no `return` or `yield` outside a function,
    no `nonlocal` without a binding (a re-indented or shortened edit can parse and still
    break the module on import)."""
    try:
        compile(text, "<fix>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _compare_python(before: Names, after: Names) -> str | None:
    lost = sorted(set(before.bound) - set(after.bound) & set(after.loaded))
    if lost:
        return f"the fix removes `{lost[0]}`, which the document still uses"
    if not after.star_imports:
        unresolved_before = set(before.loaded) - set(before.bound) - _BUILTINS
        unresolved_after = set(after.loaded) - set(after.bound) - _BUILTINS
        new = sorted(unresolved_after - unresolved_before)
        if new:
            return f"the fix refers to `{new[0]}`, which the document does not define"
    return None


def _python_harm(original: str, edited: str) -> str | None:
    before_tree = _parse_python(original)
    if before_tree is None:
        return _UNCHECKABLE
    after_tree = _parse_python(edited)
    if after_tree is None or (not _compiles(after_tree) and _compiles(before_tree)):
        return _NO_PARSE
    return _compare_python(python_names(before_tree), python_names(after_tree))


_UNCHECKABLE = "the document does not parse, so the fix cannot be checked"
_NO_PARSE = "the fixed code would not parse"


@dataclass(frozen=True)
class _Statement:
    start: int  # offsets of its lines in the document (decorators included)
    end: int
    names: Names
    node: ast.stmt


@dataclass(frozen=True)
class _Signature:
    required: int  # positional parameters without a default
    positional: int
    keyword_only: frozenset[str]
    required_keywords: frozenset[str]

    def breaks_callers_of(self, changed: _Signature) -> bool:
        """Whether a call that fits this signature can fail against `changed`."""
        return (
            changed.required > self.required
            or changed.positional < self.positional
            or not changed.required_keywords <= self.required_keywords
            or not self.keyword_only <= changed.keyword_only
        )


def _signatures(nodes: Sequence[ast.AST]) -> dict[str, _Signature]:
    """The functions the nodes define (nested ones too), by name; the first of a name."""
    found: dict[str, _Signature] = {}
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and sub.name not in found:
                args = sub.args
                positional = len(args.posonlyargs) + len(args.args)
                found[sub.name] = _Signature(
                    required=positional - len(args.defaults),
                    positional=positional,
                    keyword_only=frozenset(a.arg for a in args.kwonlyargs),
                    required_keywords=frozenset(
                        a.arg
                        for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                        if default is None
                    ),
                )
    return found


def _changed_signature(before: Sequence[ast.AST], after: Sequence[ast.AST]) -> str | None:
    old, new = _signatures(before), _signatures(after)
    for name in sorted(old.keys() & new.keys()):
        if old[name].breaks_callers_of(new[name]):
            return f"the fix changes the parameters of `{name}`, which its callers pass"
    return None


_Path = tuple[str, ...]
_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(nodes: Sequence[ast.AST], path: _Path = ()) -> list[tuple[_Path, _Function]]:
    """The functions defined in the nodes (nested ones too), each with the names of the
    classes and functions it is defined in and its own."""
    found: list[tuple[_Path, _Function]] = []
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = (*path, node.name)
            if isinstance(node, _Function):
                found.append((inner, node))
            found += _functions(list(ast.iter_child_nodes(node)), inner)
        else:
            found += _functions(list(ast.iter_child_nodes(node)), path)
    return found


def _lost_in_function(
    before: Sequence[ast.AST], after: Sequence[ast.AST], lines: tuple[int, int]
) -> str | None:
    """A name that the innermost function around the edit's lines binds and then reads but,
    after the edit, reads without binding (the document-wide fold cannot see it when another
    function binds the same name: flask's `response = client.get(...)` in every test, whose
    assignment a pyflakes fix deleted where it was unused). `after` was parsed from the
    edited statements alone (other line numbers): functions are matched by their names."""
    first, last = lines
    functions = _functions(before)
    around = [
        (path, node)
        for path, node in functions
        if node.lineno <= first and last <= (node.end_lineno or node.lineno)
    ]
    if not around:
        return None
    path, function = max(around, key=lambda found: len(found[0]))
    edited = [node for found, node in _functions(after) if found == path]
    if len(edited) != 1 or sum(found == path for found, _ in functions) != 1:
        return None  # renamed by the edit, or defined twice: the document-wide fold decides
    names, names_after = function_names(function), function_names(edited[0])
    lost = sorted((set(names.bound) - set(names_after.bound)) & set(names_after.loaded))
    return lost[0] if lost else None


# A line repeated right after itself counts only when it holds this much code (a closing
# bracket or `else:` twice in a row is normal).
_REPEATED_LINE_MIN_TOKENS = 3


def _repeated_lines(text: str, language: str) -> Counter[str]:
    """Lines (stripped) that stand twice in a row in `text`, with how often."""
    lines = [line.strip() for line in text.splitlines()]
    return Counter(
        line
        for line, following in itertools.pairwise(lines)
        if line == following and len(tokenize(line, language)) >= _REPEATED_LINE_MIN_TOKENS
    )


def _repeats_a_line(text: str, start: int, end: int, replacement: str, language: str) -> str | None:
    """Whether the edit writes a line twice in a row where the text did not (the edit's
    lines and one line on either side)."""
    around_start = _line_start(text, max(0, _line_start(text, start) - 1))
    around_end = _line_end(text, min(len(text), _line_end(text, end) + 1))
    before = text[around_start:around_end]
    after = text[around_start:start] + replacement + text[end:around_end]
    added = _repeated_lines(after, language) - _repeated_lines(before, language)
    if added:
        return f"the fix would write `{next(iter(added))}` twice in a row"
    return None


class DocumentSafety:
    """The safety check of many edits of one document: the document is parsed once, and
    each edit re-parses only the top-level statements it touches (a function, say), so a
    check costs what that statement costs, not what the document does."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.language = language
        self._tree: ast.Module | None = None
        self._statements: list[_Statement] | None = None
        self._total: Names | None = None

    def harm(self, start: int, end: int, replacement: str) -> str | None:
        """Why replacing text[start:end] with `replacement` makes the document worse."""
        repeated = _repeats_a_line(self.text, start, end, replacement, self.language)
        if repeated is not None:
            return repeated
        edited = self.text[:start] + replacement + self.text[end:]
        if self.language != "python":
            return edit_harm(self.text, edited, self.language)
        statements, total = self._python()
        if statements is None or total is None:
            return _UNCHECKABLE
        touched = [st for st in statements if st.start < max(end, start + 1) and st.end > start]
        segment_start = min([_line_start(self.text, start), *(st.start for st in touched)])
        segment_end = max([_line_end(self.text, end), *(st.end for st in touched)])
        segment = self.text[segment_start:start] + replacement + self.text[end:segment_end]
        tree = _parse_python(segment)
        if tree is None:
            return _python_harm(self.text, edited)  # e.g. an edit that joins statements
        if not _compiles(tree) and _compiles(self.text[segment_start:segment_end]):
            return _NO_PARSE
        changed = _changed_signature([st.node for st in touched], tree.body)
        if changed is not None:
            return changed
        first_line = self.text.count("\n", 0, start) + 1
        last_line = first_line + self.text.count("\n", start, max(start, end - 1))
        lost = _lost_in_function(
            [st.node for st in touched],
            tree.body,
            (first_line, last_line),
        )
        if lost is not None:
            return f"the fix removes `{lost}`, which the document still uses"
        removed = Names()
        for statement in touched:
            removed = removed + statement.names
        return _compare_python(total, total - removed + python_names(tree))

    def _python(self) -> tuple[list[_Statement] | None, Names | None]:
        if self._statements is None:
            self._tree = _parse_python(self.text)
            if self._tree is None:
                return None, None
            starts = _line_offsets(self.text)
            statements = []
            for node in self._tree.body:
                first = min([node.lineno, *(d.lineno for d in _decorators(node))])
                last = node.end_lineno or node.lineno
                statements.append(
                    _Statement(
                        starts[first - 1],
                        _line_end(self.text, starts[last - 1]),
                        python_names(node),
                        node,
                    )
                )
            self._statements = statements
            total = Names()
            for statement in statements:
                total = total + statement.names
            self._total = total
        return self._statements, self._total


def _decorators(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.decorator_list
    return []


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    position = text.find("\n")
    while position >= 0:
        offsets.append(position + 1)
        position = text.find("\n", position + 1)
    return offsets


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def edit_harm(original: str, edited: str, language: str) -> str | None:
    """Why the edited document is worse than the original (it no longer parses, loses a
    name still used, or uses an undefined one), or None when the edit is safe."""
    if language == "python":
        return _python_harm(original, edited)
    lost = _lost_declarations(original, edited, language)
    if lost:
        return f"the fix removes `{lost[0]}`, which the document still uses"
    errors_before = syntax.error_lines(original, language)
    if errors_before is None:
        return None  # no parser for this language: matching's own checks only
    errors_after = syntax.error_lines(edited, language)
    # A document being typed has errors of its own: the fix must not add any.
    if errors_after is not None and len(errors_after) > len(errors_before):
        return "the fixed code would not parse"
    return None


def _lost_declarations(original: str, edited: str, language: str) -> list[str]:
    """Names the original declares (`var x`, `func f`, `x :=`, `const x`, parameters) that
    the edited document no longer declares but still uses: read from tokens, so an
    approximation for languages without a name resolver here."""
    before_tokens, after_tokens = tokenize(original, language), tokenize(edited, language)
    gone = bound_names(before_tokens) - bound_names(after_tokens)
    if not gone:
        return []
    used = {t.text for t in after_tokens if t.kind is TokenKind.NAME}
    return sorted(gone & used)
