"""What the user's next message says about the fix the assistant gave: it worked, it did
not, or nothing (an unrelated message, a question, a plan to try it later).

The reply is cut into clauses ("but", "however", sentence ends); each clause is read for a
success signal ("that worked", "fixed it", "perfect", "no longer crashes") or a failure
signal ("still failing", "same error", "didn't help", "now it crashes in ..."). A success
verb under a negation ("didn't work", "not fixed") is a failure; a failure verb under a
negation ("doesn't crash anymore", "no longer fails") is a success. Questions and
hypotheticals ("will that work on Windows?", "if this fixes it ...", "that should work")
carry no outcome, except that a question about a failure that persists ("why does it
still fail?") is one. Any failure wins over any success: "that fixed the crash but the
test still fails" charges the fix, since the user's problem is not solved.
"""

from __future__ import annotations

import re
from enum import StrEnum

# The outcome is said at the start of a reply; a long paste after it is a new question.
MAX_READ_CHARS = 600


class ReplyOutcome(StrEnum):
    WORKED = "worked"
    FAILED = "failed"
    NONE = "none"


_SUCCESS_VERB = (
    r"(?:change\s+anything|make\s+(?:a|any)\s+difference|work(?:s|ed|ing)?|help(?:s|ed)?|"
    r"fix(?:es|ed)?|solve[sd]?|resolve[sd]?|do(?:es)?\s+(?:it|the\s+trick))"
)
_FAILURE_VERB = (
    r"(?:fail(?:s|ed|ing)?|crash(?:es|ed|ing)?|error(?:s|ed|ing)?|throw(?:s|ing)?|"
    r"hang(?:s|ing)?|break(?:s|ing)?|complain(?:s|ing)?|segfault(?:s|ing)?|time\s?out|"
    r"times\s+out|timing\s+out|blow(?:s|ing)?\s+up|panic(?:s|king)?|leak(?:s|ing)?|"
    r"happen(?:s|ing)?|show(?:s|ing)?\s+up|appear(?:s|ing)?|reproduce[sd]?)"
)
_NEGATION = (
    r"(?:not|never|no\s+longer|doesn't|doesnt|does\s+not|didn't|didnt|did\s+not|don't|dont|"
    r"do\s+not|isn't|isnt|is\s+not|wasn't|wasnt|was\s+not|won't|wont|will\s+not|aren't|"
    r"haven't|hasn't|can't|cant|cannot|couldn't)"
)
# Words that may sit between a negation and its verb ("didn't really help").
_FILLER = (
    r"(?:\s+(?:really|actually|quite|seem\s+to|seems\s+to|even|anything\s+to|at\s+all|"
    r"it|that|this|me))*"
)

_NEGATED_SUCCESS = re.compile(rf"\b{_NEGATION}{_FILLER}\s+{_SUCCESS_VERB}\b", re.I)
_NEGATED_FAILURE = re.compile(
    rf"\b(?:{_NEGATION}{_FILLER}\s+{_FAILURE_VERB}\b"
    r"|no\s+(?:more\s+)?(?:errors?|crash(?:es)?|exceptions?|failures?|warnings?|"
    r"tracebacks?|segfaults?|timeouts?|issues?|problems?|\w+(?:error|exception))\b(?!\s+(?:changed|difference)))",
    re.I,
)

_FAILURE = re.compile(
    r"\b(?:"
    r"still\s+(?:\w+\s+){0,3}?(?:fail\w*|broken|crash\w*|error\w*|throw\w*|hang\w*|"
    r"get(?:ting)?|see(?:ing)?|seeing|there|happen\w*|the\s+same|same|red|timing\s+out|"
    r"times\s+out|no\b|not\b|doesn't|does\s+not|won't|can't|empty|null|none|wrong|stuck|"
    r"slow|leak\w*|reproduc\w*|returns?|shows?|prints?|raises?)"
    r"|same\s+(?:\w+\s+)?(?:error|problem|issue|thing|exception|result|crash|traceback|"
    r"failure|behaviou?r|message|output|story)"
    r"|(?:no|not\s+(?:any|much))\s+(?:luck|dice|change|difference|joy|improvement)"
    r"|nothing\s+(?:changed|changes|happens|happened|different)"
    r"|(?:error|problem|issue|crash|bug|failure|it)\s+(?:still\s+)?persists?"
    r"|nope\b|made\s+(?:it|things)\s+worse|(?:it's|its|it\s+is|now)\s+worse"
    r"|(?:new|another|different|a\s+new)\s+(?:\w+\s+)?(?:error|exception|crash|failure|"
    r"traceback|problem|warning)"
    r"|(?:now|then|but)\s+(?:\w+\s+){0,4}?(?:crash\w*|fail\w*|throw\w*|raises?|errors?\b|"
    r"hangs?|breaks?|broke|get\s+an?\s|getting\s+an?\s|segfault\w*|panics?)"
    r"|broke\s+(?:\w+\s+)?(?:something|everything|the|my|other|it)"
    r"|(?:crash\w*|fail\w*|errors?|throws?|hangs?|breaks?)\s+(?:again|now|anyway|regardless)"
    r"|(?:tests?|build|ci|pipeline|it|check)\s+(?:is\s+)?(?:still\s+)?(?:fail\w*|red|broken)"
    r"|(?:traceback\s+\(most\s+recent|\w+(?:error|exception):\s)"
    r"|not\s+(?:fixed|solved|resolved|working|quite|it|right|yet)"
    r"|(?:get|got|getting|see|seeing|hit|hitting)\s+(?:a|an|the|this)\s+(?:\w+\s+)?\w*(?:error|exception)\b"
    r")",
    re.I,
)

_SUCCESS = re.compile(
    r"\b(?:"
    r"(?:that|this|it|which|you|the\s+\w+|your\s+\w+)\s+(?:(?:totally|really|finally|"
    r"definitely|indeed|just|actually|seems\s+to\s+have|seems\s+to|has|have|did)\s+)*"
    r"(?:worked|works|fixed|solved|resolved|helped|did\s+(?:it|the\s+trick)|does\s+the\s+trick)"
    r"|(?:works?|working|runs?|running|passe?s?|passing|builds?|building|compiles?|green|"
    r"loads?|starts?)\s+(?:\w+\s+)?(?:now|again|fine|perfectly|great|correctly)"
    r"|(?:it's|its|it\s+is|that's|everything\s+is|all)\s+(?:\w+\s+)?(?:working|green|fixed|"
    r"good\s+now|fine\s+now|passing)"
    r"|(?:fixed|solved|sorted)\s+(?:it|that|the\s+\w+|my\s+\w+)"
    r"|(?:problem|issue|bug)\s+(?:is\s+)?(?:solved|resolved|fixed|gone)"
    r"|(?:perfect|bingo|nailed\s+it|spot\s+on|exactly\s+(?:it|right|what)|that's\s+(?:it|the\s+one))"
    r"|(?:error|crash|warning|exception|problem|issue|failure|bug|it)\s+(?:is\s+|has\s+)?"
    r"(?:gone|went\s+away|goes\s+away|disappeared)"
    r"|\w+\s+(?:is|are)\s+gone\b|confirmed\s+(?:working|fixed|it\s+works)"
    r"|(?:works?|runs?|loads?|parses?|returns?|shows?|renders?|prints?)\s+(?:\w+\s+){0,3}?(?:correctly|properly|as\s+expected)"
    r"|(?:tests?|ci|build|everything|suite)\s+(?:\w+\s+)?(?:pass\w*|green|succeed\w*)"
    r"|(?:^|\s)(?:worked|works)(?:\s+(?:great|perfectly|like\s+a\s+charm|fine|now))?\s*(?:[!.,]|$)"
    r"|works\s+like\s+a\s+charm|did\s+the\s+trick|that\s+was\s+it|success\b"
    r")",
    re.I,
)

# Hedges that make a success verb a guess or a plan: "that should work", "it might help".
_HEDGED_SUCCESS = re.compile(
    rf"\b(?:should|might|may|could|would|will|gonna|going\s+to|hope|hopefully|"
    rf"if|once|whether|try|trying|test|see\s+if)\b(?:\s+\w+){{0,3}}?\s+{_SUCCESS_VERB}\b",
    re.I,
)
_CONDITIONAL_START = re.compile(
    r"^\s*(?:if|once|when|whether|assuming|suppose|in\s+case|before|after\s+i)\b", re.I
)
_QUESTION_START = re.compile(
    r"^\s*(?:will|would|should|does|do|did|can|could|is|are|was|were|has|have|how|what|"
    r"which|where|why|who|any\s+idea|is\s+there|shall)\b",
    re.I,
)
# A clause that starts like a bare negation after "but" ("... but not for the second").
_BARE_NEGATIVE = re.compile(r"^\s*(?:not|no|none)\b(?!\s+(?:more|longer|problem|worries))", re.I)
_CLAUSE_BREAK = re.compile(
    r"(?<=[.!?;])\s+|\n+|,\s*(?=(?:and\s+)?(?:can|could|would|will)\s+you\b)|\s*\b(?:but|however|though|although|except|yet)\b\s*,?|\s+-+\s+",
    re.I,
)
_BUT = re.compile(r"\b(?:but|however|though|although|except)\b", re.I)
_CODE = re.compile(r"```.*?(?:```|\Z)", re.S)


def _clauses(text: str) -> list[tuple[str, bool]]:
    """(clause, follows a contrast word) pairs."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _CLAUSE_BREAK.finditer(text):
        parts.append((text[position : match.start()], False))
        contrast = bool(_BUT.search(match.group(0)))
        position = match.end()
        if contrast:
            parts.append(("\0", True))
    parts.append((text[position:], False))
    # Mark the clause after each contrast marker.
    result: list[tuple[str, bool]] = []
    contrast = False
    for clause, marker in parts:
        if marker:
            contrast = True
            continue
        if clause.strip():
            result.append((clause.strip(), contrast))
            contrast = False
    return result


def _question(clause: str, text: str) -> bool:
    end = text.find(clause) + len(clause)
    follows = text[end : end + 1]
    return clause.endswith("?") or follows == "?" or bool(_QUESTION_START.match(clause))


def _clause_signal(clause: str, text: str, after_contrast: bool) -> ReplyOutcome:
    question = _question(clause, text)
    hypothetical = bool(_CONDITIONAL_START.match(clause))
    if _NEGATED_SUCCESS.search(clause) and not hypothetical:
        return ReplyOutcome.FAILED
    negated_failure = _NEGATED_FAILURE.search(clause)
    remainder = _NEGATED_FAILURE.sub(" ", clause) if negated_failure else clause
    failure = _FAILURE.search(remainder)
    # A question only counts when it says the failure persists ("why is it still ...").
    if (
        failure
        and not hypothetical
        and (not question or re.search(r"\b(?:still|same|again|now)\b", failure.group(0), re.I))
    ):
        return ReplyOutcome.FAILED
    if after_contrast and _BARE_NEGATIVE.match(clause) and not question:
        return ReplyOutcome.FAILED
    if question or hypothetical:
        return ReplyOutcome.NONE
    if negated_failure:
        return ReplyOutcome.WORKED
    success = _SUCCESS.search(clause + " ")
    if success and not _HEDGED_SUCCESS.search(clause):
        return ReplyOutcome.WORKED
    return ReplyOutcome.NONE


def reply_outcome(text: str) -> ReplyOutcome:
    """WORKED, FAILED or NONE for the user's message that follows an answer."""
    head = _CODE.sub(" ", text[:MAX_READ_CHARS])
    head = head.replace("\u2019", "'").replace("\u2018", "'")
    signals = [_clause_signal(c, head, contrast) for c, contrast in _clauses(head)]
    if ReplyOutcome.FAILED in signals:
        return ReplyOutcome.FAILED
    if ReplyOutcome.WORKED in signals:
        return ReplyOutcome.WORKED
    # A pasted traceback or error line with no words around it: the fix did not hold.
    if _FAILURE.search(text[:MAX_READ_CHARS]) and re.search(
        r"(?:traceback|\w+(?:error|exception):)", text[:MAX_READ_CHARS], re.I
    ):
        return ReplyOutcome.FAILED
    return ReplyOutcome.NONE
