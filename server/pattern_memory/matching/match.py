"""Locating a template's before-code in a document and adapting its after-code.

A match is a run of document tokens equal to the template's tokens, where identifiers may be
renamed consistently (one document name per pattern name and back: a bijection) while
keywords, builtins, literals and operators must be identical. White space never matters.

A renamed match must be worth showing: its template has at least MIN_RENAMED_TOKENS tokens
(`value = data[key]` is 6 and has the shape of every `a = b[c]`), and its score, the share
of the template's tokens found verbatim, is at least `min_renamed_score` (the editor passes
its `similarity` setting).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from .template import FixTemplate
from .tokens import Token, TokenKind, literal_family, same_string, tokenize

MIN_RENAMED_TOKENS = 10


class MatchKind(StrEnum):
    EXACT = "exact"  # the same text, white space included
    WHITESPACE = "whitespace"  # the same tokens, white space differs
    RENAMED = "renamed"  # the same tokens up to consistently renamed identifiers


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """Where a template's before-code stands in a document (offsets into the text) and the
    edit that turns it into the adapted after-code."""

    start: int  # first matched token
    end: int  # end of the last matched token
    replace_start: int  # the span the fix replaces (whole lines when the match covers them)
    replace_end: int
    replacement: str
    kind: MatchKind
    score: float  # fraction of the before-code's tokens found verbatim (1.0 unless renamed)
    renames: tuple[tuple[str, str], ...]  # (pattern name, document name), renamed ones only


@dataclass
class DocumentTokens:
    """A document tokenized once, with an index from token text to positions."""

    text: str
    language: str
    tokens: list[Token]
    _positions: dict[str, list[int]] | None = field(default=None, repr=False)

    @classmethod
    def from_text(cls, text: str, language: str) -> DocumentTokens:
        return cls(text, language, tokenize(text, language))

    def positions(self, text: str) -> list[int]:
        if self._positions is None:
            index: dict[str, list[int]] = defaultdict(list)
            for position, token in enumerate(self.tokens):
                index[token.text].append(position)
            self._positions = dict(index)
        return self._positions.get(text, [])


@dataclass(frozen=True, slots=True)
class _Binding:
    names: dict[str, str]  # pattern name -> document name
    literals: dict[str, str]  # pattern literal (a hole) -> document literal


def _renaming_at(doc: list[Token], start: int, template: FixTemplate) -> _Binding | None:
    """The consistent renaming under which doc[start:] begins with the template's
    before-code, or None. Renameable names and literal holes map one to one (a bijection);
    anchors (APIs), keywords, operators and other literals must be identical."""
    names: dict[str, str] = {}
    literals: dict[str, str] = {}
    taken_names: dict[str, str] = {}
    taken_literals: dict[str, str] = {}
    anchors, holes, language = template.anchors, template.holes, template.language
    for offset, want in enumerate(template.before_tokens):
        got = doc[start + offset]
        if got.kind is not want.kind:
            return None
        if want.kind is TokenKind.NAME and offset not in anchors:
            forward, backward = names, taken_names
        elif (
            offset in holes
            and (
                want.kind is not TokenKind.STRING
                or literal_family(want.text, language) == literal_family(got.text, language)
            )
        ) or (want.kind is TokenKind.STRING and same_string(want.text, got.text)):
            # A hole, or the same string quoted otherwise ('name' for "name"): the document's
            # text is carried into the after-code.
            forward, backward = literals, taken_literals
        elif got.text != want.text:
            return None
        else:
            continue
        if forward is names and got.text == "_" != want.text:
            return None  # the document discards what the learned code keeps: another use
        if forward.setdefault(want.text, got.text) != got.text:
            return None
        if backward.setdefault(got.text, want.text) != want.text:
            return None
    return _Binding(names, literals)


def _candidate_starts(document: DocumentTokens, template: FixTemplate) -> list[int]:
    """Start positions worth trying: where the pattern's rarest fixed token (keyword,
    anchored name, literal, operator) could line up; none at all when one is missing."""
    pattern, anchors, holes = template.before_tokens, template.anchors, template.holes
    last_start = len(document.tokens) - len(pattern)
    anchor: tuple[int, list[int]] | None = None
    for index, token in enumerate(pattern):
        if index in holes or token.kind is TokenKind.STRING:
            continue  # strings may be holes or quoted otherwise: no position to rely on
        if token.kind is TokenKind.NAME and index not in anchors:
            continue
        positions = document.positions(token.text)
        if not positions:
            return []
        if anchor is None or len(positions) < len(anchor[1]):
            anchor = (index, positions)
    if anchor is None:
        return list(range(last_start + 1))
    index, positions = anchor
    return [p - index for p in positions if 0 <= p - index <= last_start]


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def _indent_of(text: str, offset: int) -> str:
    start = _line_start(text, offset)
    line = text[start : _line_end(text, start)]
    return line[: len(line) - len(line.lstrip())]


def _rename(template: FixTemplate, binding: _Binding) -> str:
    """The after-code with the document's names and literals put in for the pattern's."""
    pieces: list[str] = []
    cursor = 0
    for token in template.after_tokens:
        if token.kind is TokenKind.NAME:
            replacement = binding.names.get(token.text)
        elif token.kind in (TokenKind.STRING, TokenKind.NUMBER):
            replacement = binding.literals.get(token.text)
        else:
            replacement = None
        if replacement is not None and replacement != token.text:
            pieces.append(template.after[cursor : token.start])
            pieces.append(replacement)
            cursor = token.end
    pieces.append(template.after[cursor:])
    return "".join(pieces)


def _reindent(
    code: str, pattern_indent: str, document_indent: str, depths: dict[str, str]
) -> list[str]:
    """Lines of `code` moved from the pattern's base indentation to the document's. A line
    less indented than the first goes to the depth the document has for it (`depths`), or,
    where the document shows none, to the first line's."""
    lines = []
    for line in code.split("\n"):
        body = line.lstrip()
        if not body:
            lines.append("")
        elif line.startswith(pattern_indent):
            lines.append(document_indent + line[len(pattern_indent) :])
        else:
            lines.append(depths.get(line[: len(line) - len(body)], document_indent) + body)
    return lines


def _matched_depths(
    template: FixTemplate, doc: list[Token], start: int, text: str
) -> dict[str, str]:
    """Each indentation of the pattern's before-code -> the document's, read where a line's
    first token matched a line's first token. Matching ignores whitespace, so the document's
    lines may nest otherwise than the pattern's: axios' `  });` two columns left of
    `    config[prop] = ...` stood six columns deep in fetch.js, whose first line was at eight;
    a Python `return` four columns left of its loop's first line may stand at the loop's."""
    depths: dict[str, str] = {}
    before = template.before
    for index, token in enumerate(template.before_tokens):
        line_start = _line_start(before, token.start)
        found = doc[start + index]
        document_line = _line_start(text, found.start)
        if before[line_start : token.start].strip() or text[document_line : found.start].strip():
            continue  # not the first token of its line, here or there
        depths.setdefault(before[line_start : token.start], text[document_line : found.start])
    return depths


def _already_fixed(doc: list[Token], start: int, end: int, fixed: list[Token]) -> bool:
    """Whether the document already has the fixed code where the before-code was found: the
    match is the context of an added guard, say, and the guard is there (so applying the
    fix again would add it twice)."""
    if len(fixed) < end - start:
        return False
    want = [token.text for token in fixed]
    for shift in range(len(fixed) - (end - start) + 1):
        first = start - shift
        window = doc[first : first + len(fixed)] if first >= 0 else []
        if [token.text for token in window] == want:
            return True
    return False


def _renaming_refused(template: FixTemplate, changed: dict[str, str]) -> bool:
    """A renaming under which the fix means nothing here: a name the fix introduces already
    means something else in the document, or the fix only changes names that stand for
    others here (`range cmdDirs` -> `range []string{...}` says nothing of `range args`)."""
    if template.new_names & set(changed.values()):
        return True
    removed = template.removed
    return bool(removed) and all(template.before_tokens[i].text in changed for i in removed)


def find_matches(
    document: DocumentTokens, template: FixTemplate, *, min_renamed_score: float = 0.0
) -> list[CodeMatch]:
    """Every non-overlapping place where the template's before-code stands in the document
    (renamed matches only when the template is large enough and their score high enough)."""
    pattern = template.before_tokens
    if not pattern or len(pattern) > len(document.tokens):
        return []
    if any(not document.positions(name) for name in template.free_names):
        return []  # the fix would refer to something the document does not have
    text, doc = document.text, document.tokens
    newline = "\r\n" if "\r\n" in text else "\n"  # the replacement follows the document
    # A fix that only re-indents is recognised as applied by its text, further below.
    changes_tokens = [t.text for t in pattern] != [t.text for t in template.after_tokens]
    matches: list[CodeMatch] = []
    next_free = 0
    for start in _candidate_starts(document, template):
        if start < next_free:
            continue
        binding = _renaming_at(doc, start, template)
        if binding is None:
            continue
        next_free = start + len(pattern)
        first, last = doc[start], doc[next_free - 1]
        changed = {old: new for old, new in binding.names.items() if old != new}
        other_literals = {
            old: new
            for old, new in binding.literals.items()
            if old != new and not same_string(old, new)
        }
        if _renaming_refused(template, changed):
            continue
        if changed or other_literals:
            kind = MatchKind.RENAMED
            verbatim = sum(
                1
                for t in pattern
                if (t.text not in changed if t.kind is TokenKind.NAME else True)
                and t.text not in other_literals
            )
            score = verbatim / len(pattern)
            if len(pattern) < MIN_RENAMED_TOKENS or score < min_renamed_score:
                continue
        else:
            exact = text[first.start : last.end] == template.before.strip()
            kind = MatchKind.EXACT if exact else MatchKind.WHITESPACE
            score = 1.0
        adapted = _rename(template, binding)
        if changes_tokens and _already_fixed(
            doc, start, next_free, tokenize(adapted, document.language)
        ):
            continue
        depths = _matched_depths(template, doc, start, text)
        lines = _reindent(adapted, template.indent, _indent_of(text, first.start), depths)
        line_start = _line_start(text, first.start)
        line_end = _line_end(text, last.end)
        whole_lines = (
            not text[line_start : first.start].strip() and not text[last.end : line_end].strip()
        )
        if whole_lines:
            # Replace the lines themselves, so that a deletion leaves no blank line behind.
            replace_start = line_start
            replace_end = min(line_end + 1, len(text))
            ends_with_newline = replace_end > line_end
            body = newline.join(lines) if any(line.strip() for line in lines) else ""
            replacement = body + (newline if body and ends_with_newline else "")
        else:
            replace_start, replace_end = first.start, last.end
            replacement = newline.join(lines).strip()
        if text[replace_start:replace_end] == replacement:
            continue  # nothing left to change
        matches.append(
            CodeMatch(
                start=first.start,
                end=last.end,
                replace_start=replace_start,
                replace_end=replace_end,
                replacement=replacement,
                kind=kind,
                score=score,
                renames=tuple(sorted((changed | other_literals).items())),
            )
        )
    return matches
