"""Which code of an answer is the broken code and which is the fix: from the order of the
code blocks and the words around them ("becomes", "to", "with", "instead of", "change ...
to", before/after labels, a diff's -/+ lines), or from inline code in the fix sentence
("changing `a` to `b`", "use `b` instead of `a`")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sentences import Segment

_INSTEAD = re.compile(r"\binstead\s+of\b|\brather\s+than\b|\bover\b(?=\s*:?\s*$)", re.I)
_FORWARD = re.compile(
    r"\b(?:becomes?|to|with|into|by|should\s+be|after|fixed|corrected|correct|new|now|"
    r"this\s+instead)\b|->|=>|\u2192",
    re.I,
)
_BEFORE_WORDS = re.compile(
    r"\b(?:before|broken|buggy|wrong|old|original|incorrect|currently|you\s+have|"
    r"instead\s+of)\b",
    re.I,
)
_CHANGE_TO = re.compile(
    r"\b(?:chang\w*|replac\w*|swap\w*|turn\w*|rewrit\w*|convert\w*|from)\s+`(?P<a>[^`\n]+)`"
    r"\s+(?:to|with|for|into|by)\s+`(?P<b>[^`\n]+)`",
    re.I,
)
_BECOMES = re.compile(
    r"`(?P<a>[^`\n]+)`\s*(?:becomes|->|=>|\u2192|should\s+be)\s*`(?P<b>[^`\n]+)`", re.I
)
_USE_INSTEAD = re.compile(
    r"`(?P<b>[^`\n]+)`\s+(?:instead\s+of|rather\s+than|in\s+place\s+of)\s+`(?P<a>[^`\n]+)`",
    re.I,
)
# Prose allowed between the fix sentence and the code it introduces.
_MAX_GAP_SENTENCES = 1


@dataclass(frozen=True, slots=True)
class CodePair:
    before: str
    after: str
    before_is_code: bool
    after_is_code: bool
    language: str = ""


def _between(segments: list[Segment], first: int, second: int) -> str:
    return " ".join(s.text for s in segments[first + 1 : second] if not s.is_code)


def _diff(code: str) -> tuple[str, str] | None:
    lines = code.splitlines()
    minus = [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")]
    plus = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    if minus and plus:
        return "\n".join(minus), "\n".join(plus)
    return None


def _nearby_blocks(segments: list[Segment], index: int) -> list[int]:
    """Indices of up to two code blocks that belong to the fix sentence at `index`: the
    block just before it (when the sentence joins two blocks, "... becomes:") and the
    blocks after it, each at most one prose sentence from the previous."""
    found: list[int] = []
    if index > 0 and segments[index - 1].is_code:
        found.append(index - 1)
    gap, position = 0, index + 1
    while position < len(segments) and len(found) < 2:
        if segments[position].is_code:
            found.append(position)
            gap = 0
        else:
            gap += 1
            if gap > _MAX_GAP_SENTENCES:
                break
        position += 1
    return found


def pair_code(segments: list[Segment], index: int, problem: str, solution: str) -> CodePair:
    """Before/after code for the fix stated by the sentence at `index`; the problem and
    solution texts stand in for a side the answer shows no code for."""
    sentence = segments[index].text
    blocks = _nearby_blocks(segments, index)
    if blocks:
        first = segments[blocks[0]].code
        assert first is not None
        if len(blocks) == 1:
            diff = _diff(first.code) if first.language in ("diff", "patch", "") else None
            if diff is not None:
                return CodePair(diff[0], diff[1], True, True, first.language)
            lead = sentence if blocks[0] > index else _between(segments, blocks[0], index + 1)
            if blocks[0] > index and _BEFORE_WORDS.search(lead) and not _FORWARD.search(lead):
                return CodePair(first.code, solution, True, False, first.language)
            return CodePair(problem, first.code, False, True, first.language)
        second = segments[blocks[1]].code
        assert second is not None
        between = _between(segments, blocks[0], blocks[1])
        if blocks[0] < index < blocks[1]:
            between = between or sentence
        language = first.language or second.language
        # "use A instead of B": the first block is the fix; otherwise ("A becomes B",
        # "change A to B", "replace A with B", before/after labels) the order is the story.
        if _INSTEAD.search(between):
            return CodePair(second.code, first.code, True, True, language)
        return CodePair(first.code, second.code, True, True, language)
    for pattern in (_CHANGE_TO, _BECOMES, _USE_INSTEAD):
        match = pattern.search(sentence)
        if match:
            return CodePair(match.group("a"), match.group("b"), True, True, "")
    return CodePair(problem, solution, False, False, "")
