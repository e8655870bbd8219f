"""Code-to-code matching: where in a document a pattern's before-code stands (exactly,
ignoring white space, or with consistently renamed identifiers) and the pattern's after-code
adapted to the document's names and indentation. Pure functions over strings; no I/O."""

from ..languages import normalize_language
from .match import CodeMatch, DocumentTokens, MatchKind, find_matches
from .safety import edit_harm
from .template import FixTemplate, build_template
from .tokens import Token, TokenKind, tokenize
from .withheld import Withheld, abstract_edit, is_test_path, withheld_reason

__all__ = [
    "CodeMatch",
    "DocumentTokens",
    "FixTemplate",
    "MatchKind",
    "Token",
    "TokenKind",
    "Withheld",
    "abstract_edit",
    "build_template",
    "edit_harm",
    "find_matches",
    "is_test_path",
    "normalize_language",
    "tokenize",
    "withheld_reason",
]
