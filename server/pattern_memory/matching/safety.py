"""A quick fix must never make code worse.

Before a learned fix is offered, the document as the fix would leave it is checked: it must
still parse, must not lose a name the rest of it still uses (an import the fix deletes, a
variable it no longer assigns), and must not start using a name nothing defines. Python is
checked with its own parser; other languages with the tree-sitter parser where one is
installed (see `syntax.py`), otherwise they are not checked beyond what matching requires.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from .. import syntax
from .roles import bound_names
from .tokens import TokenKind, tokenize

_BUILTINS = frozenset(dir(builtins)) | frozenset({"__file__", "__name__", "__doc__"})


@dataclass
class _Names:
    bound: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    star_import: bool = False


def _python_names(tree: ast.AST) -> _Names:
    """Every name the module binds anywhere, and every name it reads (scopes folded: a
    check of what an edit adds or removes, not a full resolver)."""
    names = _Names()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (names.loaded if isinstance(node.ctx, ast.Load) else names.bound).add(node.id)
        elif isinstance(node, ast.arg):
            names.bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    names.star_import = True
                else:
                    names.bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.bound.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.bound.add(node.rest)
    return names


def _parse_python(text: str) -> ast.AST | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _python_harm(original: str, edited: str) -> str | None:
    before_tree = _parse_python(original)
    if before_tree is None:
        return "the document does not parse, so the fix cannot be checked"
    after_tree = _parse_python(edited)
    if after_tree is None:
        return "the fixed code would not parse"
    before, after = _python_names(before_tree), _python_names(after_tree)
    lost = sorted((before.bound - after.bound) & after.loaded)
    if lost:
        return f"the fix removes `{lost[0]}`, which the document still uses"
    if not after.star_import:
        unresolved_before = before.loaded - before.bound - _BUILTINS
        unresolved_after = after.loaded - after.bound - _BUILTINS
        new = sorted(unresolved_after - unresolved_before)
        if new:
            return f"the fix refers to `{new[0]}`, which the document does not define"
    return None


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
