"""Regex detection of the fix shapes an assistant answer states (the seed's v1 detector).

Recognised, case-insensitively, within a sentence or a few adjacent ones:

- "the (issue|bug|problem|error|root cause) (was|is) X, (the fix|solution) (is|was) Y"
  (also across a sentence break, with at most one sentence or a code block between)
- "the bug was X; (I|we) fixed it by Y" / "..., it can be fixed by Y" / "you can fix it by Y"
- "to (fix|solve|resolve) X, do Y" where Y is an instruction (an imperative verb, or
  "you should/need to/must/can ...")
- "the (fix|solution) (for|to) X (is|was) Y"
- labelled lines: "Problem: X" (or Root cause / Issue / Bug) then "Fix: Y" (or Solution)
- "the issue is X. Here's the fix:" followed by a code block (the code is Y)

Clauses are bounded in length, and only the start of a very long answer is read, so the
work stays linear.

Precision over recall: questions, conditionals ("if the bug was ..."), status talk ("the fix
is merged", "the solution is pending") and one-word fragments are not fixes. A pronoun for
X ("to fix this, ...") is only a fix when the request says what "this" is.

Fenced code blocks next to a detection become its before/after code when they are clearly
paired (one between X and Y and one after Y, or a "before"/"after" labelled pair after Y);
a single block after Y is the after-code. Otherwise the problem and solution texts stand in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .markdown import CodeBlock, fenced_code_blocks, prose_mask

# Clauses stay within one sentence ("obj.attr" allowed) and are bounded, which keeps the
# scan linear on long answers; a longer sentence is not a fix statement anyway.
_CLAUSE = r"(?:[^.!?\n]|[.!?](?=\S)){1,300}?"  # lazy
_CLAUSE_NO_COMMA = r"(?:[^,;.!?\n]|[.!?](?=\S)){1,300}?"
_REST = r"(?:[^.!?\n]|[.!?](?=\S)){1,400}+"  # possessive: to the end of the sentence
_SENTENCE = r"(?:[^.!?\n]|[.!?](?=\S)){1,200}+"
_END = r"(?P<end>[.!?]|(?=\n)|\Z)"
_QUALIFIER = r"(?:(?:simple|easy|quick|correct|proper|right|real|actual|only)\s+)?"
_FIX_NOUN = r"(?:fix|solution|resolution|remedy|workaround)"

_PROBLEM_SUBJECT = (
    r"\b(?:the|this|that|our|your)\s+"
    r"(?:(?:real|actual|underlying|main|original|first|second|other|last|only|whole)\s+)?"
    r"(?:issue|bug|problem|error|root\s+cause|cause|culprit)\s+(?:here\s+)?"
    r"(?:was|is|turned\s+out\s+to\s+be)\s+"
)

_PROBLEM_THEN_FIX = re.compile(
    rf"{_PROBLEM_SUBJECT}(?P<problem>{_CLAUSE})"
    r"(?:\s*(?:[,;:]|\s--?|\s\u2014|\s\u2013)\s*"
    # ... or a sentence break, with at most one sentence in between ("... X. It only shows
    # under load. The fix was Y").
    rf"|\s*[.!]\s+(?:{_SENTENCE}[.!]\s+)?)"
    r"(?:(?:and|so)\s+)?"
    r"(?:"
    rf"(?:the|a|one|our|my)\s+{_QUALIFIER}{_FIX_NOUN}\s+(?:was|is|would\s+be)\s+(?:to\s+)?"
    r"|(?:(?:i|we|you)\s+)?(?:fixed|solved|resolved)\s+(?:it|this|that)\s+by\s+"
    r"|(?:i|we|you)\s+(?:can|should|need\s+to)\s+(?:fix|solve|resolve)\s+(?:it|this|that)\s+by\s+"
    r"|(?:it|this|that)\s+(?:was|is|can\s+be)\s+(?:fixed|solved|resolved)\s+by\s+"
    r")"
    rf"(?P<solution>{_REST}){_END}",
    re.IGNORECASE,
)

# "The issue is X. Here's the fix:" and then the code.
_PROBLEM_THEN_CODE = re.compile(
    rf"{_PROBLEM_SUBJECT}(?P<problem>{_CLAUSE})\s*(?:[.!:]\s+|[,;]\s*)"
    r"(?:so\s+)?here(?:'s|\u2019s|\s+is)\s+(?:the|a|my)\s+"
    r"(?:fix|solution|corrected\s+(?:code|version)|fixed\s+(?:code|version))"
    r"(?P<solution>[ \t]*:?[ \t]*)(?P<end>(?=\n)|\Z)",
    re.IGNORECASE,
)

# Y in "to fix X, Y" must be an instruction: one of these verbs (or "you should ...").
_INSTRUCTION_VERBS = (
    "do|add|adjust|apply|avoid|await|bump|call|cast|catch|change|check|clear|close|compare|"
    "configure|convert|copy|create|declare|decode|define|delete|disable|drop|enable|encode|"
    "ensure|escape|filter|guard|handle|import|increase|decrease|initialize|initialise|insert|"
    "install|lock|lower|make|mark|move|normalize|pass|pin|prefer|provide|put|quote|raise|read|"
    "release|remove|rename|reorder|replace|reset|restart|return|revert|rewrite|run|sanitize|"
    "set|sort|specify|split|strip|swap|switch|trim|try|update|upgrade|downgrade|use|validate|"
    "wrap|write"
)
_TRANSITION = r"(?:(?:so|and|then|first|second|third|finally|also|next|now)\s*,?\s+)?"

_TO_FIX_DO = re.compile(
    rf"(?:^|(?<=[\n.!?:]))[ \t>*-]*{_TRANSITION}(?:in\s+order\s+)?"
    r"to\s+(?:fix|solve|resolve)\s+"
    rf"(?P<problem>{_CLAUSE_NO_COMMA})\s*,\s*"
    r"(?P<solution>(?:(?:you\s+(?:should|need\s+to|must|have\s+to|can)|just|simply|first)\s+)?"
    rf"(?:{_INSTRUCTION_VERBS})\b{_REST}){_END}",
    re.IGNORECASE | re.MULTILINE,
)

_FIX_FOR_X_IS = re.compile(
    rf"\b(?:the|a|one)\s+{_QUALIFIER}{_FIX_NOUN}\s+(?:for|to)\s+"
    rf"(?P<problem>{_CLAUSE})\s+(?:is|was)\s+(?:to\s+)?"
    rf"(?P<solution>{_REST}){_END}",
    re.IGNORECASE,
)

# "Problem: X" then, on a later line (code blocks may sit between), "Fix: Y"; Y may be
# empty when the fix is the code block that follows.
_LABELLED = re.compile(
    r"(?:^|(?<=\n))[ \t>#*-]*(?:the\s+)?(?:root\s+cause|cause|problem|issue|bug)[ \t]*:\s*"
    r"(?P<problem>[^\n]{1,400}+)\n\s*"
    rf"[ \t>#*-]*(?:the\s+)?{_FIX_NOUN}[ \t]*:[ \t]*"
    r"(?P<solution>[^\n]{0,400}+)(?P<end>(?=\n)|\Z)",
    re.IGNORECASE,
)

_DETECTORS = (
    ("problem-then-fix", _PROBLEM_THEN_FIX),
    ("to-fix-do", _TO_FIX_DO),
    ("fix-for-x-is", _FIX_FOR_X_IS),
    ("labelled", _LABELLED),
    ("problem-then-code", _PROBLEM_THEN_CODE),
)

# Status or hedge talk, not a statement of what the problem or the fix is.
_VAGUE = re.compile(
    r"^(?:not\b|still\b|unclear|unknown|pending|tbd|coming|being\b|yet\b|merged|released|"
    r"shipped|deployed|landed|landing|available|included|ready|done\b|scheduled|planned|"
    r"under\b|waiting|attached|linked|described|explained|closed|open\b|reopened|assigned|"
    r"fixed\b|resolved\b|in\s+(?:progress|review|the\s+(?:next|latest|new)|pr\b|version|"
    r"release|v?\d)|on\s+(?:the\s+)?(?:way|main|master|branch)|part\s+of|somewhere|"
    r"(?:probably|maybe|possibly|perhaps)\b)",
    re.IGNORECASE,
)
# A solution that points at code that follows ("the fix is simple:", "... as follows:").
_DEFERRED = re.compile(
    r"^(?:(?:quite|very|pretty|really)\s+)?(?:simple|easy|straightforward|trivial|"
    r"as\s+follows|below|the\s+following|this|here)?\s*:?$",
    re.IGNORECASE,
)
# "this", "the bug", "that error": says nothing on its own.
_ANAPHORA = re.compile(
    r"^(?:(?:this|that|it|these|those)|(?:the|this|that|your|our)\s+"
    r"(?:issue|bug|problem|error|one|crash|failure|exception))$",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(
    r"\b(?:if|whether|unless|when|suppose|assuming|maybe|perhaps|might|could|"
    r"don't\s+know|not\s+sure|no\s+idea)\b",
    re.IGNORECASE,
)
# Only a judgement ("really hard", "quite elegant"): not a statement of the problem or fix.
_EVALUATIVE = re.compile(
    r"^(?:(?:really|very|quite|pretty|so|rather|super|a\s+bit|kind\s+of)\s+)?"
    r"(?:hard|easy|simple|difficult|tricky|subtle|obvious|elegant|clever|nice|ugly|complex|"
    r"complicated|interesting|weird|strange|annoying|clear|unclear|surprising|small|big)$",
    re.IGNORECASE,
)
# The answer talking about itself ("the problem is that I don't have enough information"),
# asking for more input ("the solution is to share more logs"), or advice about fixing in
# general ("to fix bugs faster, use a debugger"): no fix of a problem in the code.
_ABOUT_THE_ANSWER = re.compile(
    r"^(?:i|i'm|i\u2019m)\s+(?:(?:am|was)\s+)?(?:don't|do\s+not|didn't|did\s+not|can't|cannot|"
    r"can\s+not|couldn't|could\s+not|haven't|have\s+not|have\s+no|lack|need|not|missing|"
    r"unable)\b|^there\s+(?:is|isn't|is\s+not|was|wasn't)\s+(?:not\s+)?(?:enough|no|too\s+little)\s+"
    r"(?:information|info|context|detail)",
    re.IGNORECASE,
)
_ASKS_FOR_MORE = re.compile(
    r"^(?:(?:you\s+(?:should|need\s+to|must|can))\s+)?(?:share|send|provide|give|post|paste|"
    r"attach|show|include)\s+(?:me\s+|us\s+)?(?:more|additional|further|the\s+full)\b",
    re.IGNORECASE,
)
_GENERIC_PROBLEM = re.compile(
    r"^(?:(?:most|many|all|some|any|such|common|typical)\s+)?"
    r"(?:bugs|issues|problems|errors|mistakes|things|code)"
    r"(?:\s+(?:faster|quicker|sooner|earlier|more\s+\w+|\w+ly|in\s+general|for\s+good))?$",
    re.IGNORECASE,
)
_THAT = re.compile(r"^that\s+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9_]+")
_BEFORE_LABEL = re.compile(
    r"\b(?:before|broken|buggy|wrong|old|original|incorrect|bad|instead\s+of|don't|do\s+not)\b",
    re.IGNORECASE,
)
_AFTER_LABEL = re.compile(
    r"\b(?:after|fixed|correct|corrected|new|good|should\s+be|becomes|instead)\b",
    re.IGNORECASE,
)
MAX_SCANNED_CHARS = 100_000
# Prose allowed between a detection and the code block it introduces ("Like this:").
_MAX_LEAD_IN = 200


@dataclass(frozen=True, slots=True)
class DetectedFix:
    """A fix stated in an answer: what was wrong, what fixes it, and the code when the
    answer shows it. `start`/`end` is the span of the statement in the answer."""

    problem: str
    solution: str
    start: int
    end: int
    before_code: str
    after_code: str
    language: str = ""
    # Whether each side is code from the answer's blocks (else the problem/solution text).
    before_is_code: bool = False
    after_is_code: bool = False
    form: str = ""  # which shape matched: problem-then-fix, to-fix-do, fix-for-x-is

    @property
    def paired_code(self) -> bool:
        return self.before_is_code and self.after_is_code

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


@dataclass(frozen=True, slots=True)
class _Statement:
    form: str
    problem: str
    solution: str
    start: int
    end: int
    split: int  # where the solution starts: code blocks before it belong to the problem
    deferred: bool  # the solution text points at the code that follows


def detect_fixes(response: str, request: str | None = None) -> list[DetectedFix]:
    """Every fix the answer states, in order of appearance (overlaps resolved to the first).
    Only the first MAX_SCANNED_CHARS characters are read: that bounds the work on
    pathological input (about a second), far above any real answer."""
    response = response[:MAX_SCANNED_CHARS]
    blocks = fenced_code_blocks(response)
    mask = prose_mask(response, blocks)
    statements = _non_overlapping(
        statement
        for form, pattern in _DETECTORS
        for match in pattern.finditer(mask)
        if (statement := _statement(form, match, response, mask, request)) is not None
    )
    fixes = []
    for index, statement in enumerate(statements):
        limit = statements[index + 1].start if index + 1 < len(statements) else len(response)
        fix = _with_code(statement, blocks, response, limit)
        if fix is not None:
            fixes.append(fix)
    return fixes


def _statement(
    form: str, match: re.Match[str], response: str, mask: str, request: str | None
) -> _Statement | None:
    if match.group("end") == "?":
        return None
    sentence_start = max(mask.rfind(c, 0, match.start()) for c in ".!?\n") + 1
    if _CONDITIONAL.search(mask[sentence_start : match.start("problem")]):
        return None
    problem = _THAT.sub("", _clean(response[match.start("problem") : match.end("problem")]))
    solution = _clean(response[match.start("solution") : match.end("solution")])
    if _ANAPHORA.match(problem):
        if not request or not request.strip():
            return None
        problem = _clean(request)
    if (
        _ABOUT_THE_ANSWER.match(problem)
        or _ASKS_FOR_MORE.match(solution)
        or _GENERIC_PROBLEM.match(problem)
    ):
        return None
    deferred = bool(_DEFERRED.match(solution))
    if not _informative(problem) or (not deferred and not _informative(solution)):
        return None
    end = match.end("end") if match.group("end") else match.end("solution")
    return _Statement(
        form, problem, solution, match.start(), end, match.start("solution"), deferred
    )


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(" ,;:-*_").rstrip(".")
    return re.sub(r"^to\s+", "", text, flags=re.IGNORECASE) if text else text


def _informative(text: str) -> bool:
    """Two words at least, or inline code; and not status or hedge talk."""
    if _VAGUE.match(text) or _EVALUATIVE.match(text):
        return False
    return len(_WORD.findall(text)) >= 2 or "`" in text


def _non_overlapping(statements: Iterable[_Statement]) -> list[_Statement]:
    ordered = sorted(statements, key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[_Statement] = []
    for statement in ordered:
        if not kept or statement.start >= kept[-1].end:
            kept.append(statement)
    return kept


def _with_code(
    statement: _Statement, blocks: list[CodeBlock], response: str, limit: int
) -> DetectedFix | None:
    inside = [b for b in blocks if statement.start <= b.start and b.end <= statement.split]
    following = _following_blocks(statement.end, blocks, response, limit)
    before: CodeBlock | None = inside[-1] if inside else None
    after: CodeBlock | None = following[0] if following else None
    if not inside and len(following) >= 2 and _labelled_pair(statement.end, following, response):
        before, after = following[0], following[1]
    solution = statement.solution
    if statement.deferred:
        if after is None:
            return None  # "the fix is simple:" and then nothing to show for it
        solution = after.code
    return DetectedFix(
        problem=statement.problem,
        solution=solution,
        start=statement.start,
        end=statement.end,
        before_code=before.code if before else statement.problem,
        after_code=after.code if after else solution,
        language=(after.language if after else "") or (before.language if before else ""),
        before_is_code=before is not None,
        after_is_code=after is not None,
        form=statement.form,
    )


def _following_blocks(
    position: int, blocks: list[CodeBlock], response: str, limit: int
) -> list[CodeBlock]:
    """Up to two code blocks right after `position`, each introduced by at most a short
    lead-in line of prose, and not past the next statement."""
    found: list[CodeBlock] = []
    for block in blocks:
        if block.start < position or block.start >= limit:
            continue
        if len(response[position : block.start].strip()) > _MAX_LEAD_IN:
            break
        found.append(block)
        position = block.end
        if len(found) == 2:
            break
    return found


def _labelled_pair(position: int, pair: list[CodeBlock], response: str) -> bool:
    first_lead_in = response[position : pair[0].start]
    second_lead_in = response[pair[0].end : pair[1].start]
    return bool(
        _BEFORE_LABEL.search(first_lead_in)
        and _AFTER_LABEL.search(second_lead_in)
        and not _BEFORE_LABEL.search(second_lead_in)
    )
