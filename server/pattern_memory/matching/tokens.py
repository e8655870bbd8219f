"""Tokenizing code for matching: tree-sitter's leaves where the language has a grammar
(syntax.py), a small regex tokenizer per language family elsewhere.

Hunks mined from git are fragments (an unclosed bracket, a dedent with no block above, `else:`
alone), which a strict parser rejects; tree-sitter still lexes all of them (its error
recovery keeps every byte, in ERROR nodes), and the leaves of the tree are the tokens a
regex would give where the regex reads the code right. Where it does not (JavaScript regex
literals and template strings, Rust lifetimes and nested block comments, Go runes and raw
strings, C/Java char literals, Python f-strings with nested quotes), the grammar knows.
White space and comments are dropped, so matching on tokens is whitespace-insensitive by
construction. A string literal is one token; a word's kind (FIXED or NAME) depends on its
text only, never on how a fragment happened to parse, so that the same code gets the same
tokens alone (a pattern's before-code) and inside a document window.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from tree_sitter import Node

from .. import syntax
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
_WORD = re.compile(_NAME)

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
# Each grammar language's reserved words and predeclared names, beside the generic ones: a
# grammar's anonymous words include contextual ones (`get`, `of`, `target` in JavaScript,
# Rust's macro fragment kinds `path`, `item`, `block`) that are names everywhere else.
_RESERVED = {
    "javascript": "debugger with",
    "typescript": "debugger with declare keyof namespace readonly",
    "go": """chan fallthrough goto range select iota append cap clear close complex copy imag
        make max min panic print println real recover any byte comparable complex64
        complex128 error float32 float64 int8 int16 int32 int64 rune uint uint8 uint16
        uint32 uint64 uintptr""",
    "java": """assert boolean byte goto native strictfp synchronized transient volatile""",
    "rust": """as crate dyn extern loop move ref unsafe where Self bool str i8 i16 i32 i64
        i128 isize u8 u16 u32 u64 u128 usize f32 f64""",
    "c": """auto extern goto inline register restrict signed sizeof typedef union unsigned
        volatile NULL""",
    "cpp": """auto extern goto inline register restrict signed sizeof typedef union unsigned
        volatile NULL nullptr namespace template typename virtual operator friend using
        explicit mutable noexcept constexpr decltype static_cast dynamic_cast
        reinterpret_cast const_cast override""",
}
_RESERVED["tsx"] = _RESERVED["typescript"]
_LANGUAGE_FIXED = {
    language: _GENERIC_FIXED | frozenset(words.split()) for language, words in _RESERVED.items()
}

_HASH_LANGUAGES = frozenset(
    {"python", "py", "ruby", "rb", "shell", "sh", "bash", "shellscript", "yaml", "perl", "r"}
)

# Grammar nodes read as one token: string-like literals (their quotes, escapes and `${...}`
# inside), comments (dropped) and numbers.
_STRING_NODES = frozenset({
    "string", "template_string", "regex", "interpreted_string_literal", "raw_string_literal",
    "rune_literal", "string_literal", "character_literal", "char_literal", "system_lib_string",
})  # fmt: skip
_NUMBER_NODES = frozenset({
    "integer", "float", "number", "int_literal", "float_literal", "imaginary_literal",
    "decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
    "binary_integer_literal", "decimal_floating_point_literal", "hex_floating_point_literal",
    "integer_literal", "number_literal",
})  # fmt: skip
_COMMENT_NODES = frozenset({"comment", "line_comment", "block_comment", "html_comment"})
# A Rust lifetime (`'a`) is one name: its quote would otherwise read as a char literal's.
_NAME_NODES = frozenset({"lifetime"})
_ATOMIC_NODES = _STRING_NODES | _NUMBER_NODES | _COMMENT_NODES | _NAME_NODES


def fixed_names(language: str) -> frozenset[str]:
    """The words that are keywords or builtins of a language (normalized name)."""
    if language == "python":
        return _PYTHON_FIXED
    return _LANGUAGE_FIXED.get(language, _GENERIC_FIXED)


def tokenize(code: str, language: str = "python") -> list[Token]:
    """Significant tokens of `code` (no white space, no comments), with their offsets."""
    lang = normalize_language(language)
    grammars = syntax.grammars(lang)
    if grammars:
        return _tree_tokens(code, grammars[0], fixed_names(lang))
    return _regex_tokens(code, lang, 0, fixed_names(lang))


def _regex_tokens(code: str, language: str, shift: int, fixed: frozenset[str]) -> list[Token]:
    """The regex tokenizer's tokens of `code`, their offsets moved by `shift`."""
    regex = _HASH_COMMENTS if language in _HASH_LANGUAGES else _C_COMMENTS
    tokens: list[Token] = []
    for found in regex.finditer(code):
        group = found.lastgroup
        if group in ("ws", "comment") or group is None:
            continue
        text = found.group()
        if group == "name":
            kind = TokenKind.FIXED if text in fixed else TokenKind.NAME
        else:
            kind = TokenKind(group)
        tokens.append(Token(kind, text, found.start() + shift, found.end() + shift))
    return tokens


def char_offsets(code: str, data: bytes) -> list[int] | None:
    """For each byte offset into the UTF-8 `data`, the offset into `code` of the character
    it is in (None when both are the same: ASCII)."""
    if len(data) == len(code):
        return None
    widths = [
        1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4 for o in map(ord, code)
    ]
    offsets: list[int] = []
    for index, width in enumerate(widths):
        offsets.extend([index] * width)
    offsets.append(len(code))
    return offsets


def _leaves(root: Node) -> Iterator[tuple[Node, bool]]:
    """The tree's tokens in order: leaves, and whole literals and comments (True)."""
    cursor = root.walk()
    while True:
        node = cursor.node
        assert node is not None
        atomic = node.type in _ATOMIC_NODES
        if atomic or not cursor.goto_first_child():
            yield node, atomic
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return


def _tree_tokens(code: str, grammar: str, fixed: frozenset[str]) -> list[Token]:
    """Tokens from the leaves of `grammar`'s tree of `code`. Text between leaves that is
    not white space (none is expected: error recovery keeps skipped bytes in ERROR nodes)
    and leaves that are not one token (an ERROR leaf, JSX text) go through the regex
    tokenizer, so that no code is ever lost."""
    data = syntax.encode(code)
    tree = syntax.parse_bytes(data, grammar)
    offsets = char_offsets(code, data)
    tokens: list[Token] = []
    cursor = 0  # end of the last leaf read, a str offset

    def regex(start: int, end: int) -> None:
        if code[start:end].strip():
            tokens.extend(_regex_tokens(code[start:end], grammar, start, fixed))

    for node, atomic in _leaves(tree.root_node):
        start, end = node.start_byte, node.end_byte
        if start == end:
            continue  # a missing node tree-sitter put in: not in the text
        if offsets is not None:
            start, end = offsets[start], offsets[end]
        if start < cursor:  # never expected; never read text twice
            continue
        regex(cursor, start)
        cursor = end
        kind = node.type
        text = code[start:end]
        if kind in _COMMENT_NODES:
            continue
        if kind in _NAME_NODES:
            word = TokenKind.FIXED if text == "'static" else TokenKind.NAME
            tokens.append(Token(word, text, start, end))
        elif atomic:
            number = kind in _NUMBER_NODES
            tokens.append(Token(TokenKind.NUMBER if number else TokenKind.STRING, text, start, end))
        elif _WORD.fullmatch(text):
            word = TokenKind.FIXED if text in fixed else TokenKind.NAME
            tokens.append(Token(word, text, start, end))
        elif node.is_named or node.is_error or any(c.isspace() for c in text):
            regex(start, end)  # ERROR leaves, JSX text, stray string pieces
        else:
            tokens.append(Token(TokenKind.OP, text, start, end))
    regex(cursor, len(code))
    return tokens


_CHAR_LITERAL_LANGUAGES = frozenset({"go", "rust", "c", "cpp", "java"})
_LITERAL_PREFIX = re.compile(r"^[A-Za-z0-9_#]*")  # r, b, f, L, u8, Rust's r#


def literal_family(text: str, language: str) -> str:
    """What kind of literal a STRING token is, beyond its kind: a quoted string, a regex
    literal (`/a+/g`), a backtick string, a char literal where `'x'` is one. A literal hole
    stands for literals of its own family only: a JavaScript key `':'` is not a regex."""
    if text.startswith("/"):
        return "regex"
    opening = _LITERAL_PREFIX.sub("", text, count=1)[:1]
    if opening == "`":
        return "backtick"
    if opening == "'" and normalize_language(language) in _CHAR_LITERAL_LANGUAGES:
        return "char"
    return "quoted" if opening in ("'", '"') else opening


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
