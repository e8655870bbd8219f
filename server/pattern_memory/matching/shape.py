"""The shape of code: what stays when every identifier is renamed.

Finding a pattern whose before-code stands in a document under other names cannot start from
the names (a lexical search looks for exactly those). It starts from the shape instead: the
token sequence with each identifier replaced by one placeholder, keeping keywords, builtins,
operators, punctuation and literals (the tokens a renamed match must still have verbatim;
see match.py). Shingles are hashes of SHINGLE_TOKENS consecutive tokens of the shape, where
each identifier is numbered by its first appearance in the shingle: a renaming is consistent
(one name for one name), so `a = b[a]` and `x = y[x]` share shingles, `x = y[z]` does not.

A template can only match where every one of its shingles stands in the searched code, so
the share of a pattern's shingles found in a document window (containment) is 1.0 for every
pattern that can match there: a search by shingles finds renamed code, and ranks it first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .template import MIN_TEMPLATE_TOKENS, build_template
from .tokens import Token, TokenKind, tokenize

# Long enough to see that a name is used again a few tokens further (`def f(a, b): a = b`
# is not `def f(a, b): c = a`); a template shorter than this is one shingle of its own
# length, so searched code has shingles of every length from the shortest template's.
SHINGLE_TOKENS = 8
# An identifier in the shape; a control character, so no real token can equal it.
NAME_PLACEHOLDER = "\x01"
_SEPARATOR = "\x00"

assert MIN_TEMPLATE_TOKENS <= SHINGLE_TOKENS


def skeleton(tokens: Sequence[Token]) -> list[str]:
    """The tokens' texts with every renameable identifier replaced by one placeholder."""
    return [NAME_PLACEHOLDER if t.kind is TokenKind.NAME else t.text for t in tokens]


def _hash(parts: Sequence[str]) -> int:
    digest = hashlib.blake2b(
        _SEPARATOR.join(parts).encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    # Signed, so that it fits SQLite's 64-bit INTEGER.
    return int.from_bytes(digest, "big", signed=True)


def _shingle(tokens: Sequence[Token]) -> int:
    numbers: dict[str, str] = {}
    parts = [
        numbers.setdefault(t.text, f"{NAME_PLACEHOLDER}{len(numbers)}")
        if t.kind is TokenKind.NAME
        else t.text
        for t in tokens
    ]
    return _hash(parts)


def _runs(tokens: Sequence[Token], length: int) -> set[int]:
    return {_shingle(tokens[i : i + length]) for i in range(len(tokens) - length + 1)}


def shingles(tokens: Sequence[Token]) -> frozenset[int]:
    """A template's shingles: hashes of every run of SHINGLE_TOKENS consecutive tokens (of
    all of them when fewer), identifiers numbered by their first appearance in the run."""
    if not tokens:
        return frozenset()
    return frozenset(_runs(tokens, min(len(tokens), SHINGLE_TOKENS)))


def code_shingles(code: str, language: str) -> frozenset[int]:
    """The shingles of searched code (a document window): of its runs of every length a
    template's shingle can have, so that it has every shingle of each template in it."""
    tokens = tokenize(code, language)
    found: set[int] = set()
    for length in range(MIN_TEMPLATE_TOKENS, SHINGLE_TOKENS + 1):
        found |= _runs(tokens, length)
    return frozenset(found)


def pattern_shingles(before_code: str, after_code: str, language: str) -> frozenset[int]:
    """The shingles of the part of a pattern's before-code that the matcher looks for (its
    template); none when the change has nothing to locate."""
    template = build_template(before_code, after_code, language)
    if template is None:
        return frozenset()
    return shingles(template.before_tokens)
