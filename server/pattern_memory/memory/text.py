"""Text the memory derives from a pattern: lexical tokens for FTS5 and the short lookup text
that gets embedded.

Code is matched lexically (identifiers and their camelCase / snake_case parts), meaning is
matched by the embedding of a short text: the commit message plus the words of the lines the
change touched, truncated. Short texts keep embedding fast (the model's cost grows with
length): code as written spends a word piece on every bracket and dot, so the changed lines
are given as their identifiers' words ("raise KeyError(name)" -> "raise key error name"):
faster to embed than raw changed lines, with the same hybrid top-1/top-5 (figures in
docs/benchmarks.md, "Local pattern memory": the lookup-text rows).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from ..patterns import Pattern

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
MIN_TOKEN_LENGTH = 2
MAX_TOKEN_LENGTH = 64
LOOKUP_MESSAGE_CHARS = 120
LOOKUP_CHANGE_CHARS = 60


def _identifiers(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each identifier or number (underscores stripped) with its camel/snake parts."""
    for match in _WORD.finditer(text):
        word = match.group(0)
        if len(word) > MAX_TOKEN_LENGTH:
            continue
        stripped = word.strip("_")
        yield stripped, [p for chunk in stripped.split("_") for p in _CAMEL_PART.findall(chunk)]


def code_tokens(text: str) -> list[str]:
    """Lowercased identifiers and words, each followed by its camel/snake parts, in order."""
    out: list[str] = []
    for word, parts in _identifiers(text):
        if len(word) >= MIN_TOKEN_LENGTH:
            out.append(word.lower())
        if len(parts) > 1:
            out.extend(p.lower() for p in parts if len(p) >= MIN_TOKEN_LENGTH)
    return out


def code_words(text: str) -> list[str]:
    """The words code is made of, for a language model: identifiers split into their
    camel/snake parts, lowercased, each once, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for word, parts in _identifiers(text):
        for part in parts or [word]:
            lowered = part.lower()
            if len(lowered) >= MIN_TOKEN_LENGTH and lowered not in seen:
                seen.add(lowered)
                out.append(lowered)
    return out


def token_text(text: str) -> str:
    return " ".join(code_tokens(text))


def changed_lines(before: str, after: str) -> list[str]:
    """Lines the change removed or added (stripped, in order, each once)."""
    before_lines = [line.strip() for line in before.splitlines()]
    after_lines = [line.strip() for line in after.splitlines()]
    before_set, after_set = set(before_lines), set(after_lines)
    seen: set[str] = set()
    out: list[str] = []
    for line in [
        *(b for b in before_lines if b not in after_set),
        *(a for a in after_lines if a not in before_set),
    ]:
        if line and line not in seen:
            seen.add(line)
            out.append(line)
    return out


def lookup_text(pattern: Pattern) -> str:
    """What gets embedded for a pattern: its message and the words of its changed lines,
    truncated.

    A pure addition (no before-code) is described by its message alone: its code would
    otherwise make it the closest match for any query made of similar code (the file as it
    still is), although it holds nothing such code could be fixed with."""
    message = " ".join(pattern.commit_msg.split())[:LOOKUP_MESSAGE_CHARS]
    if not pattern.before_code.strip():
        return message
    words = code_words("\n".join(changed_lines(pattern.before_code, pattern.after_code)))
    return f"{message}\n{_first_words(words, LOOKUP_CHANGE_CHARS)}".strip()


def _first_words(words: list[str], limit: int) -> str:
    """As many whole words as fit in `limit` characters (a cut word would only add noise)."""
    kept: list[str] = []
    length = -1
    for word in words:
        length += 1 + len(word)
        if length > limit:
            break
        kept.append(word)
    return " ".join(kept)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
