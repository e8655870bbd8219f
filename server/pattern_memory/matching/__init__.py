"""Code-to-code matching: where in a document a pattern's before-code stands (exactly,
ignoring white space, or with consistently renamed identifiers) and the pattern's after-code
adapted to the document's names and indentation. Pure functions over strings; no I/O."""

from .match import CodeMatch, DocumentTokens, MatchKind, find_matches
from .template import FixTemplate, build_template
from .tokens import Token, TokenKind, normalize_language, tokenize

__all__ = [
    "CodeMatch",
    "DocumentTokens",
    "FixTemplate",
    "MatchKind",
    "Token",
    "TokenKind",
    "build_template",
    "find_matches",
    "normalize_language",
    "tokenize",
]
