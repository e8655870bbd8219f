"""What each name and literal of a fix's before-code may stand for in another document.

A learned fix generalizes over the names a programmer chose, never over the API it calls:
`h = hashlib.md5()` -> `hashlib.sha1()` says nothing about `hashlib.sha3_256()`. So a name
is an *anchor*, to be found verbatim, when it is part of an API: an attribute or method
(`.md5`), a function or class that is called and not bound in the pattern (`connect(...)`),
a name an import binds, a keyword argument (`timeout=`), an object key of C-like languages
(`{retries: 3}`), or a CONSTANT. Every other name (parameters, locals, loop variables, and
names whose binding the fragment does not show) may be renamed consistently.

A literal may be a *hole*, standing for any literal of its kind, only where the fix carries
it unchanged from before to after (the key in `config["timeout"]` ->
`config.get("timeout")`): the fix is about the access, not the key. A literal the fix
changes (`connect(host, 30)` -> `connect(host, 60)`) is the point of the fix: an anchor.
"""

from __future__ import annotations

from collections.abc import Sequence

from .tokens import Token, TokenKind

_MEMBER_ACCESS = frozenset({".", "?.", "->", "::"})
_DEFINITION_KEYWORDS = frozenset({"def", "class", "function", "func", "fn", "lambda"})
_BINDING_KEYWORDS = frozenset({"as", "for", "let", "const", "var", "global", "nonlocal"})
_ASSIGNMENTS = frozenset({"=", ":=", "+=", "-=", "*=", "/=", "|=", "&=", "//=", "%="})
_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = frozenset(_OPENING.values())
_IMPORT_STARTS = frozenset({"import", "from"})
_HASH_COMMENT_LANGUAGES = frozenset({"python", "ruby", "shell", "perl", "r", "yaml"})


def _is_constant(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return len(name) > 1 and bool(letters) and all(c.isupper() for c in letters)


def _import_names(tokens: Sequence[Token], code: str) -> set[str]:
    """Names on import statements (`import a.b as c`, `from m import (x,\n y)`,
    `import { x } from "m"`): the modules and names they bring in are APIs."""
    names: set[str] = set()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        line_start = code.rfind("\n", 0, token.start) + 1
        if token.text not in _IMPORT_STARTS or code[line_start : token.start].strip():
            continue
        line_end = code.find("\n", token.start)
        line_end = len(code) if line_end < 0 else line_end
        depth = 0
        while index < len(tokens):
            current = tokens[index]
            if depth == 0 and current.start > line_end:
                break
            if current.text in ("(", "{"):
                depth += 1
            elif current.text in (")", "}"):
                depth -= 1
            elif current.kind is TokenKind.NAME:
                names.add(current.text)
            index += 1
    return names


def _parameters(tokens: Sequence[Token]) -> set[str]:
    """Names declared in the parameter lists of definitions (`def f(a, b=1, *c)`,
    `function f(a, b)`, `func (r *T) f(a int)`, `lambda a, b:`, `(a, b) =>`)."""
    params: set[str] = set()
    for index, token in enumerate(tokens):
        if token.text == "lambda":
            cursor = index + 1
            while cursor < len(tokens) and tokens[cursor].text != ":":
                if tokens[cursor].kind is TokenKind.NAME:
                    params.add(tokens[cursor].text)
                cursor += 1
            continue
        if token.text == "=>":
            # `x =>` or `(a, b) =>`: walk back over the parenthesised list.
            before = index - 1
            if before >= 0 and tokens[before].kind is TokenKind.NAME:
                params.add(tokens[before].text)
            elif before >= 0 and tokens[before].text == ")":
                depth = 0
                for back in range(before, -1, -1):
                    text = tokens[back].text
                    depth += text == ")"
                    depth -= text == "("
                    if depth == 0:
                        break
                    if tokens[back].kind is TokenKind.NAME and tokens[back - 1].text in "(,":
                        params.add(tokens[back].text)
            continue
        if token.text not in _DEFINITION_KEYWORDS or token.text == "class":
            continue
        # Every parenthesised list before the body opens (Go has a receiver list first).
        cursor = index + 1
        while cursor < len(tokens) and tokens[cursor].text not in (":", "{", "=>"):
            if tokens[cursor].text != "(":
                cursor += 1
                continue
            depth = 0
            while cursor < len(tokens):
                current = tokens[cursor]
                if current.text in _OPENING:
                    depth += 1
                elif current.text in _CLOSING:
                    depth -= 1
                    if depth == 0:
                        break
                elif (
                    depth == 1
                    and current.kind is TokenKind.NAME
                    and tokens[cursor - 1].text in ("(", ",", "*", "**", "...", "&")
                ):
                    params.add(current.text)
                cursor += 1
            cursor += 1
    return params


def bound_names(tokens: Sequence[Token]) -> set[str]:
    """Names the code binds: parameters, assignment targets (`a, b = ...` too), loop and
    `as` variables, definitions, `let`/`const`/`var` declarations."""
    bound = _parameters(tokens)
    enclosing = _enclosing_brackets(tokens)
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.NAME:
            continue
        before = tokens[index - 1].text if index else ""
        after = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if before in _MEMBER_ACCESS:
            continue
        opener = enclosing[index]
        # `f(timeout=1)` passes an argument; only `:=` assigns inside parentheses.
        in_parentheses = opener is not None and tokens[opener].text == "("
        declared = before in _BINDING_KEYWORDS or before in _DEFINITION_KEYWORDS
        assigned = (after in _ASSIGNMENTS and (after == ":=" or not in_parentheses)) or (
            after == "," and _starts_tuple_target(tokens, index)
        )
        if declared or assigned:
            bound.add(token.text)
    return bound


def _starts_tuple_target(tokens: Sequence[Token], index: int) -> bool:
    """Whether `a, b, c = ...` (or `for a, b in`) follows from this name on."""
    cursor = index
    while cursor + 1 < len(tokens) and tokens[cursor + 1].text == ",":
        cursor += 2
        if cursor >= len(tokens) or tokens[cursor].kind is not TokenKind.NAME:
            return False
    after = tokens[cursor + 1].text if cursor + 1 < len(tokens) else ""
    return after in _ASSIGNMENTS or after == "in"


def _enclosing_brackets(tokens: Sequence[Token]) -> list[int | None]:
    """For each token, the index of the innermost open bracket around it (None: none)."""
    stack: list[int] = []
    enclosing: list[int | None] = []
    for index, token in enumerate(tokens):
        if token.text in _CLOSING and stack:
            stack.pop()
        enclosing.append(stack[-1] if stack else None)
        if token.text in _OPENING:
            stack.append(index)
    return enclosing


def pattern_scope(tokens: Sequence[Token], code: str) -> tuple[set[str], set[str]]:
    """The names a whole pattern's before-code binds, and those its imports bring in."""
    return bound_names(tokens), _import_names(tokens, code)


def anchored_names(
    tokens: Sequence[Token], language: str, scope: set[str], imported: set[str]
) -> set[int]:
    """Indices of the NAME tokens of `tokens` (the template's) that must match verbatim;
    `scope` and `imported` are the whole pattern's (pattern_scope): a called parameter is
    a callback, renameable; an imported module is an API even where its import is not in
    the template."""
    enclosing = _enclosing_brackets(tokens)
    hash_language = language in _HASH_COMMENT_LANGUAGES
    anchors: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.NAME:
            continue
        before = tokens[index - 1].text if index else ""
        after = tokens[index + 1].text if index + 1 < len(tokens) else ""
        opener = enclosing[index]
        bracket = tokens[opener].text if opener is not None else ""
        called_from = tokens[opener - 1] if opener is not None and opener > 0 else None
        in_call = (
            bracket == "("
            and called_from is not None
            and called_from.text
            not in (
                _DEFINITION_KEYWORDS | {"if", "while", "for", "return", "in", "and", "or", "not"}
            )
        )
        in_call = (
            in_call
            and called_from is not None
            and (
                called_from.kind is TokenKind.NAME
                or called_from.kind is TokenKind.FIXED
                or called_from.text in (")", "]")
            )
        )
        if (
            before in _MEMBER_ACCESS
            or token.text in imported
            or (after == "(" and token.text not in scope and before not in _DEFINITION_KEYWORDS)
            or (after == "=" and in_call and hash_language and token.text not in scope)
            or (after == ":" and bracket == "{" and not hash_language)
            or (_is_constant(token.text) and token.text not in scope)
        ):
            anchors.add(index)
    return anchors


def literal_holes(
    before: Sequence[Token], after_core: Sequence[Token], core: tuple[int, int]
) -> set[int]:
    """Indices of the literal tokens of `before` that stand on the changed lines (offsets
    `core` of the template's before-code) and that the fix carries unchanged into its
    changed lines (`after_core`): the key of `config["timeout"]` -> `config.get("timeout")`.
    A literal of the unchanged context is part of where the fix applies, not a hole."""
    carried = {t.text for t in after_core if t.kind in (TokenKind.STRING, TokenKind.NUMBER)}
    start, end = core
    return {
        index
        for index, token in enumerate(before)
        if token.kind in (TokenKind.STRING, TokenKind.NUMBER)
        and token.text in carried
        and start <= token.start < end
    }
