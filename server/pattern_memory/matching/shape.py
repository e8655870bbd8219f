"""The shape of code: what stays when every identifier is renamed.

Finding a pattern whose before-code stands in a document under other names cannot start from
the names (a lexical search looks for exactly those). It starts from the shape instead: the
token sequence with each identifier replaced by one placeholder, keeping keywords, builtins,
operators and punctuation, with each literal replaced by a placeholder of its kind (a literal
the fix carries unchanged matches any literal; see roles.py and match.py).
Shingles are hashes of SHINGLE_TOKENS consecutive tokens of the shape, which
also tell which identifiers in the shingle are the same name: a renaming is consistent (one
name for one name), so `a = b[a]` and `x = y[x]` share shingles, `x = y[z]` does not.

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
# Stored shingles made by another version of these rules are rebuilt (memory/shape_store.py).
SHAPE_VERSION = "4"  # 4: tokens from tree-sitter's leaves
# An identifier in the shape; a control character, so no real token can equal it.
NAME_PLACEHOLDER = "\x01"
STRING_PLACEHOLDER = "\x02"
NUMBER_PLACEHOLDER = "\x03"
_SEPARATOR = "\x00"

assert MIN_TEMPLATE_TOKENS <= SHINGLE_TOKENS


def _shape_text(token: Token) -> str | None:
    """A token's text in the shape: None for a name, a placeholder for a literal."""
    if token.kind is TokenKind.NAME:
        return None
    if token.kind is TokenKind.STRING:
        return STRING_PLACEHOLDER
    if token.kind is TokenKind.NUMBER:
        return NUMBER_PLACEHOLDER
    return token.text


def skeleton(tokens: Sequence[Token]) -> list[str]:
    """The tokens' texts with every identifier replaced by one placeholder, and every
    literal by its kind's."""
    return [NAME_PLACEHOLDER if (text := _shape_text(t)) is None else text for t in tokens]


def _hash(parts: Sequence[str]) -> int:
    digest = hashlib.blake2b(
        _SEPARATOR.join(parts).encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    # Signed, so that it fits SQLite's 64-bit INTEGER.
    return int.from_bytes(digest, "big", signed=True)


def _runs(tokens: Sequence[Token], lengths: Sequence[int]) -> set[int]:
    """Hashes of every run of each of `lengths` (ascending) consecutive tokens. In a run, a
    name is the placeholder, followed by how far back the same name stood when it did within
    the run: the same partition of names into equal ones as numbering them, computed once
    per token instead of once per run."""
    texts = [_shape_text(t) for t in tokens]
    previous: list[int] = []
    last_seen: dict[str, int] = {}
    for position, token in enumerate(tokens):
        previous.append(last_seen.get(token.text, -1) if texts[position] is None else -1)
        last_seen[token.text] = position
    found: set[int] = set()
    longest = lengths[-1]
    for start in range(len(tokens) - lengths[0] + 1):
        parts = [
            text
            if text is not None
            else NAME_PLACEHOLDER
            if previous[position] < start
            else f"{NAME_PLACEHOLDER}{position - previous[position]}"
            for position, text in enumerate(texts[start : start + longest], start)
        ]
        found.update(_hash(parts[:length]) for length in lengths if length <= len(parts))
    return found


def shingles(tokens: Sequence[Token]) -> frozenset[int]:
    """A template's shingles: hashes of every run of SHINGLE_TOKENS consecutive tokens (of
    all of them when fewer), with each name's equality to the run's earlier names."""
    if not tokens:
        return frozenset()
    return frozenset(_runs(tokens, [min(len(tokens), SHINGLE_TOKENS)]))


def code_shingles(code: str, language: str) -> frozenset[int]:
    """The shingles of searched code (a document window): of its runs of every length a
    template's shingle can have, so that it has every shingle of each template in it."""
    return token_shingles(tokenize(code, language))


def token_shingles(tokens: Sequence[Token]) -> frozenset[int]:
    """code_shingles of code already tokenized."""
    return frozenset(_runs(tokens, list(range(MIN_TEMPLATE_TOKENS, SHINGLE_TOKENS + 1))))


def pattern_shingles(before_code: str, after_code: str, language: str) -> frozenset[int]:
    """The shingles of the part of a pattern's before-code that the matcher looks for (its
    template); none when the change has nothing to locate."""
    template = build_template(before_code, after_code, language)
    if template is None:
        return frozenset()
    return shingles(template.before_tokens)
