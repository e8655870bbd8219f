"""The shape of code: what stays when every identifier is renamed.

Finding a pattern whose before-code stands in a document under other names cannot start from
the names (a lexical search looks for exactly those). It starts from the shape instead: the
token sequence with each identifier replaced by one placeholder, keeping keywords, builtins,
operators, punctuation and literals (the tokens a renamed match must still have verbatim;
see match.py). Shingles are hashes of SHINGLE_TOKENS consecutive shape tokens.

A template can only match where every one of its shingles stands in the searched code, so
the share of a pattern's shingles found in a document window (containment) is 1.0 for every
pattern that can match there: a search by shingles finds renamed code, and ranks it first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .template import MIN_TEMPLATE_TOKENS, build_template
from .tokens import Token, TokenKind, tokenize

# No longer than the shortest template, so that every template has at least one shingle.
SHINGLE_TOKENS = 5
# An identifier in the shape; a control character, so no real token can equal it.
NAME_PLACEHOLDER = "\x01"
_SEPARATOR = "\x00"

assert SHINGLE_TOKENS <= MIN_TEMPLATE_TOKENS


def skeleton(tokens: Sequence[Token]) -> list[str]:
    """The tokens' texts with every renameable identifier replaced by one placeholder."""
    return [NAME_PLACEHOLDER if t.kind is TokenKind.NAME else t.text for t in tokens]


def _hash(parts: Sequence[str]) -> int:
    digest = hashlib.blake2b(
        _SEPARATOR.join(parts).encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    # Signed, so that it fits SQLite's 64-bit INTEGER.
    return int.from_bytes(digest, "big", signed=True)


def shingles(shape: Sequence[str]) -> frozenset[int]:
    """Hashes of every run of SHINGLE_TOKENS consecutive shape tokens (of the whole shape
    when it is shorter)."""
    if not shape:
        return frozenset()
    if len(shape) <= SHINGLE_TOKENS:
        return frozenset({_hash(shape)})
    return frozenset(
        _hash(shape[i : i + SHINGLE_TOKENS]) for i in range(len(shape) - SHINGLE_TOKENS + 1)
    )


def code_shingles(code: str, language: str) -> frozenset[int]:
    """The shingles of a piece of code (a document window)."""
    return shingles(skeleton(tokenize(code, language)))


def pattern_shingles(before_code: str, after_code: str, language: str) -> frozenset[int]:
    """The shingles of the part of a pattern's before-code that the matcher looks for (its
    template); none when the change has nothing to locate."""
    template = build_template(before_code, after_code, language)
    if template is None:
        return frozenset()
    return shingles(skeleton(template.before_tokens))
