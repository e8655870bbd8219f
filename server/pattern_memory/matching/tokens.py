"""Tokenizing code for matching: a small regex tokenizer per language family.

Hunks mined from git are fragments (an unclosed bracket, a dedent with no block above), which
Python's own `tokenize` rejects; one regex tokenizer reads fragments and whole files alike and
gives both sides of a comparison the same tokens. White space and comments are dropped, so
matching on tokens is whitespace-insensitive by construction.
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass
from enum import StrEnum

from ..languages import normalize_language


class TokenKind(StrEnum):
    NAME = "name"  # an identifier that may be renamed consistently
    FIXED = "fixed"  # keyword or builtin name: must match exactly
    NUMBER = "number"
    STRING = "string"
    OP = "op"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    start: int  # offset in the source string
    end: int


_STRING_PY = (
    r"""[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''"""
    r"""|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')"""
)
_STRING_C = r"""(?:"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)"""
_NUMBER = (
    r"(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)"
    r"[jJlLuUfFnN]*"
)
_NAME = r"(?:[^\W\d]|\$)[\w$]*"
_OPS = (
    r"===|!==|\*\*=|//=|>>=|<<=|\.\.\.|->|=>|:=|==|!=|<=|>=|\*\*|//|<<|>>|\+=|-=|\*=|/=|%=|&="
    r"|\|=|\^=|&&|\|\||\+\+|--|::|\S"
)


def _tokenizer(comment: str, string: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?P<ws>\s+)|(?P<comment>{comment})|(?P<string>{string})|(?P<number>{_NUMBER})"
        rf"|(?P<name>{_NAME})|(?P<op>{_OPS})"
    )


_HASH_COMMENTS = _tokenizer(r"\#[^\n]*", _STRING_PY)
_C_COMMENTS = _tokenizer(r"//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)", _STRING_C)

# `_` is a builtin only in an interactive session (the last result); in code it is a name.
_PYTHON_FIXED = (
    frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
) - {"_"}
_GENERIC_FIXED = frozenset(
    """abstract async await break case catch char class const continue default defer delete do
    double else enum export extends false final finally float fn for func function go if impl
    implements import in instanceof int interface let long match mod mut new nil null package
    private protected pub public return self short static struct super switch this throw throws
    true try type typeof undefined use var void while yield len map string bool""".split()  # noqa: SIM905
)

_HASH_LANGUAGES = frozenset(
    {"python", "py", "ruby", "rb", "shell", "sh", "bash", "shellscript", "yaml", "perl", "r"}
)


def tokenize(code: str, language: str = "python") -> list[Token]:
    """Significant tokens of `code` (no white space, no comments), with their offsets."""
    lang = normalize_language(language)
    if lang == "python" or lang in _HASH_LANGUAGES:
        regex, fixed_names = _HASH_COMMENTS, _PYTHON_FIXED if lang == "python" else _GENERIC_FIXED
    else:
        regex, fixed_names = _C_COMMENTS, _GENERIC_FIXED
    tokens: list[Token] = []
    for found in regex.finditer(code):
        group = found.lastgroup
        if group in ("ws", "comment") or group is None:
            continue
        text = found.group()
        if group == "name":
            kind = TokenKind.FIXED if text in fixed_names else TokenKind.NAME
        else:
            kind = TokenKind(group)
        tokens.append(Token(kind, text, found.start(), found.end()))
    return tokens


_SIMPLE_STRING = re.compile(r"""^([a-zA-Z]{0,2})('|")(.*)\2$""", re.DOTALL)


def same_string(left: str, right: str) -> bool:
    """Whether two string literals are the same string quoted otherwise (`'name'` and
    `"name"`, same prefix, no quote of either kind inside): the same value in Python and
    JavaScript alike."""
    if left == right:
        return True
    a, b = _SIMPLE_STRING.match(left), _SIMPLE_STRING.match(right)
    if a is None or b is None or a.group(1).lower() != b.group(1).lower():
        return False
    body = a.group(3)
    return body == b.group(3) and "'" not in body and '"' not in body and "\\" not in body
