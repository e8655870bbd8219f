"""Forge (the post-hook): the fixes an assistant answer states become patterns.

Each detected fix is stored as a `bug_fix` pattern with source `forge`, its secrets scrubbed
the way mined hunks are, and embedded under the request it answered (the seed: "the request
embedding as the lookup vector"), so that the next similar request finds it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..languages import normalize_language
from ..mining import scrub_text
from ..mining.classify import Classification, confidence
from ..patterns import DATE_FORMAT, Pattern, PatternSource, ProblemType, make_pattern_id
from ..settings import ForgeDetector
from .detect import DetectedFix, detect_fixes

if TYPE_CHECKING:
    from ..memory.embedder import Embedder
    from ..memory.service import PatternMemory

__all__ = ["DetectedFix", "detect_fixes", "find_fixes", "fix_to_pattern", "forge_patterns"]
log = logging.getLogger(__name__)

# A stated fix is as clear a bug-fix signal as a "fix:" commit subject.
_FORGED = Classification(ProblemType.BUG_FIX, True, "fix stated in an assistant answer")


Detector = Callable[[str, str | None], list[DetectedFix]]


def forge_patterns(
    memory: PatternMemory,
    response: str,
    request: str | None = None,
    detector: Detector | None = None,
    embedder: Embedder | None = None,
) -> list[str]:
    """Store the fixes `response` states; returns their pattern ids (an already known fix
    gives its existing id). Nothing when the settings say `forgeOnSuccess: false`.
    `patterns.forged` is counted by the memory, for fixes it did not know yet. `embedder`:
    the model the learned detector reads the answer with (the memory's when None; the proxy
    gives it another instance of the same model, so that forging never holds the one its
    lookups wait for)."""
    settings = memory.settings
    if not settings.forge_on_success:
        return []
    if detector is not None:  # the proxy's `forgeDetector: llm`
        fixes = detector(response, request)
    elif settings.forge_detector is ForgeDetector.REGEX:
        fixes = detect_fixes(response, request)
    else:
        fixes = find_fixes(embedder or memory.embedder, response, request)
    if not fixes:
        return []
    now = dt.datetime.now(dt.UTC).strftime(DATE_FORMAT)
    patterns = [fix_to_pattern(fix, author=settings.user_id, date=now) for fix in fixes]
    # What a later question will resemble: the request, else the problem the answer names.
    scrubbed_request = scrub_text(request).text if request and request.strip() else None
    lookup_texts = [scrubbed_request or scrub_text(fix.problem).text for fix in fixes]
    return memory.add_patterns(patterns, lookup_texts=lookup_texts)


def find_fixes(embedder: Embedder, response: str, request: str | None = None) -> list[DetectedFix]:
    """The forge detector: the learned head (learned.py) behind a cheap word pre-filter
    that spares the model on answers with no fix vocabulary; the regex detector when the
    head or the model cannot be used (logged)."""
    from .learned import detect_learned, may_state_a_fix

    if not may_state_a_fix(response):
        return []
    try:
        return detect_learned(embedder, response, request)
    except Exception as exc:  # a missing head file or a broken model must not lose the fix
        log.warning("learned forge detector unavailable (%s); using the regex detector", exc)
        return detect_fixes(response, request)


# A fix with prose on either side is advice, not code an editor can put in place of code.
PROSE_LANGUAGE = "text"


def _language(fix: DetectedFix) -> str:
    """The fence's language under the miner's names ("py" -> "python"), or PROSE_LANGUAGE
    when a side is prose (editors only offer patterns of the document's language)."""
    return normalize_language(fix.language) if fix.paired_code else PROSE_LANGUAGE


def fix_to_pattern(fix: DetectedFix, *, author: str, date: str) -> Pattern:
    """The pattern for one detected fix, secrets scrubbed."""
    problem = scrub_text(fix.problem).text
    solution = scrub_text(fix.solution).text
    before_code = scrub_text(fix.before_code).text
    after_code = scrub_text(fix.after_code).text
    # "Both sides present" (the seed's +0.15) means code on both sides, not prose.
    change_size = len(before_code) + len(after_code)
    score = confidence(
        _FORGED,
        before_code if fix.before_is_code else "",
        after_code if fix.after_is_code else "",
        change_size,
    )
    return Pattern(
        pattern_id=make_pattern_id("forge", problem, solution, before_code, after_code),
        problem_type=ProblemType.BUG_FIX,
        before_code=before_code,
        after_code=after_code,
        commit_msg=f"Problem: {problem}\nFix: {solution}",
        author=author,
        date=date,
        confidence=score,
        language=_language(fix),
        source=PatternSource.FORGE,
    )
