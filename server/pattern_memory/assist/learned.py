"""The learned forge detector (the seed's v1.1): a small trained head over MiniLM embeddings
of an answer's sentences and their windows (the sentence with its neighbours).

Per prose sentence the head gives two probabilities: that the sentence states the fix, and
that it states the problem. An answer states a fix when its best fix sentence passes the
head's threshold; the problem is the best problem sentence (else the request), and the code
is paired from the blocks and words around the fix sentence (pairing.py).

The weights (forge_head.npz, a few kilobytes) ship in the package and are reproduced by
scripts/forge/train_detector.py from the labelled corpus in data/forge/. Features are
computed here, by the same function for training and for detection.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from importlib import resources
from typing import IO, TYPE_CHECKING

import numpy as np

from .detect import DetectedFix
from .detect import detect_fixes as regex_fixes
from .pairing import pair_code
from .sentences import Segment, segments, unwrap

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..memory.embedder import Embedder

HEAD_FILE = "forge_head.npz"
FIX, PROBLEM = 0, 1
MAX_DETECTED_CHARS = 20_000  # the fix is stated early; a long tail is logs and code
_WINDOW_CODE_CHARS = 60

_QUESTION = re.compile(r"\?\s*$")
_CONDITIONAL = re.compile(
    r"^(?:\W*)(?:if|whether|would|could|might|maybe|perhaps|suppose|assuming|is\s+it\s+"
    r"possible|not\s+sure|do\s+you|does|did|can\s+you|could\s+you)\b",
    re.I,
)
_STATUS = re.compile(
    r"\b(?:merged|released|ship(?:s|ped)?|in\s+review|eta|no\s+fix\s+yet|being\s+worked|"
    r"will\s+land|lands?\b|still\s+looking|investigating|pull\s+request|#\d+|lgtm|"
    r"approv\w*|nits?\b)",
    re.I,
)
_NEGATION = re.compile(r"\b(?:won't|wouldn't|doesn't|isn't|not|never|no\b|can't|don't)", re.I)
_FIX_WORDS = re.compile(
    r"\b(?:fix\w*|solv\w*|solution|resolv\w*|instead|chang\w*|replac\w*|becomes|caus\w*|"
    r"because|since|culprit|bug|issue|problem|wrong|goes\s+away|works?\b|patch|use|need)\b",
    re.I,
)
N_HAND_FEATURES = 10
_NOT_A_STATEMENT = re.compile(
    r"\?\s*$|^\W*(?:would|could|might|maybe|perhaps|whether|suppose)\b|"
    r"^\W*if\b.{0,200}\b(?:would|could|might)\b|"
    r"\b(?:won't|wouldn't|doesn't|does\s+not|will\s+not|isn't\s+going\s+to|not\s+going\s+to)\s+"
    r"(?:\w+\s+)?(?:fix|help|solve|change\s+anything|work)\b|\b(?:not\s+sure|doubt|no\s+idea)\b",
    re.I,
)


def _window_text(items: list[Segment], index: int) -> str:
    """The sentence with the one before and after it; code blocks as their first line."""
    parts = []
    for neighbour in items[max(0, index - 1) : index + 2]:
        if neighbour.is_code:
            first = neighbour.text.strip().splitlines()[0] if neighbour.text.strip() else ""
            parts.append(f"```{first[:_WINDOW_CODE_CHARS]}```")
        else:
            parts.append(neighbour.text)
    return " ".join(parts)


def _hand_features(
    items: list[Segment], index: int, prose_rank: float, regex_spans: list[tuple[int, int]]
) -> list[float]:
    segment = items[index]
    text = segment.text
    after = items[index + 1] if index + 1 < len(items) else None
    following_code = after is not None and after.is_code
    preceding_code = index > 0 and items[index - 1].is_code
    in_regex = any(s < segment.end and segment.start < e for s, e in regex_spans)
    return [
        float(following_code),
        float(preceding_code),
        float(bool(_QUESTION.search(text))),
        float("`" in text),
        float(in_regex),
        float(bool(_CONDITIONAL.search(text))),
        float(bool(_STATUS.search(text))),
        prose_rank,
        float(bool(_NEGATION.search(text))),
        float(bool(_FIX_WORDS.search(text))),
    ]


@dataclass(frozen=True)
class AnswerFeatures:
    items: list[Segment]
    prose: list[int]  # indices into items of the prose sentences, one row each
    matrix: NDArray[np.float32]  # (len(prose), 2 * dim + N_HAND_FEATURES)
    regex: list[DetectedFix]


def answer_features(embedder: Embedder, answer: str, request: str | None) -> AnswerFeatures:
    """The head's input for each prose sentence of `answer`."""
    answer = answer[:MAX_DETECTED_CHARS]
    items = segments(answer)
    prose = [i for i, s in enumerate(items) if not s.is_code]
    found = regex_fixes(unwrap(answer), request)
    spans = [(fix.start, fix.end) for fix in found]
    if not prose:
        return AnswerFeatures(items, prose, np.zeros((0, 0), np.float32), found)
    texts = [items[i].text for i in prose] + [_window_text(items, i) for i in prose]
    vectors = embedder.embed(texts)
    count = len(prose)
    hand = np.array(
        [_hand_features(items, i, rank / max(1, count - 1), spans) for rank, i in enumerate(prose)],
        dtype=np.float32,
    )
    matrix = np.hstack([vectors[:count], vectors[count:], hand]).astype(np.float32)
    return AnswerFeatures(items, prose, matrix, found)


@dataclass(frozen=True)
class Head:
    """A one-hidden-layer network with two sigmoid outputs (fix sentence, problem
    sentence) over standardised features."""

    mean: NDArray[np.float32]
    scale: NDArray[np.float32]
    w1: NDArray[np.float32]  # (features, hidden)
    b1: NDArray[np.float32]
    w2: NDArray[np.float32]  # (hidden, 2)
    b2: NDArray[np.float32]
    threshold: float

    def probabilities(self, matrix: NDArray[np.float32]) -> NDArray[np.float32]:
        hidden = np.maximum(0.0, ((matrix - self.mean) / self.scale) @ self.w1 + self.b1)
        logits = hidden @ self.w2 + self.b2
        result: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(
            np.float32
        )
        return result

    def save(self, path: str) -> None:
        arrays = {k: getattr(self, k).astype(np.float16) for k in ("w1", "w2")}
        arrays.update(
            {k: getattr(self, k).astype(np.float32) for k in ("mean", "scale", "b1", "b2")}
        )
        np.savez_compressed(path, threshold=np.array([self.threshold], np.float32), **arrays)

    @classmethod
    def read(cls, handle: IO[bytes]) -> Head:
        data = np.load(handle)
        f32 = {
            k: np.asarray(data[k], np.float32) for k in ("mean", "scale", "w1", "b1", "w2", "b2")
        }
        return cls(threshold=float(data["threshold"][0]), **f32)


_head_lock = threading.Lock()
_head: dict[str, Head] = {}


def load_head() -> Head:
    """The shipped head (read once per process)."""
    with _head_lock:
        if "head" not in _head:
            with resources.files(__package__).joinpath(HEAD_FILE).open("rb") as handle:
                _head["head"] = Head.read(handle)
        return _head["head"]


# Lead words that frame a sentence rather than say the problem or the fix.
_PROBLEM_LEAD = re.compile(
    r"^(?:\W*(?:\*\*)?(?:root\s+cause|cause|problem|issue|bug|why|symptom)(?:\*\*)?\s*:\s*|"
    r"(?:the\s+)?(?:root\s+cause|real\s+problem|problem|issue|bug|culprit|cause)\s+"
    r"(?:is|was)\s+(?:that\s+)?|this\s+happens\s+because\s+|what's\s+happening\s+is\s+"
    r"(?:that\s+)?|that's\s+because\s+|it's\s+because\s+|looks\s+like\s+|found\s+it:\s*|"
    r"because\s+|since\s+|\d+\.\s+)",
    re.I,
)
_SOLUTION_LEAD = re.compile(
    r"^(?:\W*(?:\*\*)?(?:fix|solution|resolution|workaround)(?:\*\*)?\s*:\s*(?:\*\*)?\s*|"
    r"(?:the\s+)?(?:fix|solution|workaround)\s+(?:is|was)\s+(?:to\s+)?|"
    r"to\s+fix\s+(?:it|this|that)\s*,\s*|(?:so\s+)?(?:you\s+(?:need|have)\s+to|you\s+should|"
    r"just|try)\s+|\d+\.\s+)",
    re.I,
)


def _clean(text: str, lead: re.Pattern[str]) -> str:
    text = lead.sub("", text.strip(), count=1).strip()
    return text.rstrip(" .:;").strip() or text


# Broad on purpose: the pre-filter only spares the model on answers that cannot state a fix.
_ANY_FIX_WORD = re.compile(
    r"\b(?:fix|solv|solution|resolv|instead|chang|replac|becom|caus|because|since|culprit|"
    r"bug|issue|problem|wrong|away|patch|use|need|try|switch|trouble|should|must|guard|"
    r"stop|rewrit|correct|error|fail|crash|miss|break|broke|make|set|add|remov|move|swap|"
    r"call|pass|return|wrap|declar|initiali|reorder|pin|upgrad|downgrad|renam|comes\s+from|"
    r"write|like\s+this|disappear|reason|here.s|happen|check|skip|avoid|handle|clamp|freeze|"
    r"strip|keep|normalis|normaliz|release|store|version)",
    re.I,
)


def may_state_a_fix(answer: str) -> bool:
    """A cheap pre-filter (no model): whether the answer's prose has any word a fix
    statement uses. False for chit-chat ("glad it worked!"), bare code and empty answers."""
    prose = " ".join(s.text for s in segments(answer[:MAX_DETECTED_CHARS]) if not s.is_code)
    return len(prose.split()) >= 4 and bool(_ANY_FIX_WORD.search(prose))


def detect_learned(
    embedder: Embedder, answer: str, request: str | None = None, head: Head | None = None
) -> list[DetectedFix]:
    """The fixes `answer` states, or nothing. The regex detector's statements come first
    (measured precision 1.00, and no model needed), with their code paired again here;
    otherwise the head's best sentence (at most one fix)."""
    # Hard-wrapped prose is read as the paragraph it renders to (offsets unchanged).
    stated = regex_fixes(unwrap(answer[:MAX_DETECTED_CHARS]), request)
    if stated:
        items = segments(answer[:MAX_DETECTED_CHARS])
        return [_repaired(fix, items) for fix in stated]
    head = head or load_head()
    features = answer_features(embedder, answer, request)
    if not features.prose:
        return []
    probabilities = head.probabilities(features.matrix)
    # Questions, hypotheticals and negated advice state no fix, however close their words
    # are to one ("would increasing the pool help?", "raising the timeout won't fix it").
    for row, index in enumerate(features.prose):
        if _NOT_A_STATEMENT.search(features.items[index].text):
            probabilities[row, FIX] = 0.0
    best = int(np.argmax(probabilities[:, FIX]))
    if float(probabilities[best, FIX]) < head.threshold:
        return []
    return [_extract(features, probabilities, best, request)]


def _repaired(fix: DetectedFix, items: list[Segment]) -> DetectedFix:
    """A regex statement with its code paired by the words around the blocks ("becomes",
    "instead of", ...), when that finds code."""
    inside = [i for i, s in enumerate(items) if not s.is_code and s.start < fix.end]
    if not inside:
        return fix
    pair = pair_code(items, inside[-1], fix.problem, fix.solution)
    if not (pair.before_is_code or pair.after_is_code):
        return fix
    return dataclasses.replace(
        fix,
        before_code=pair.before,
        after_code=pair.after,
        language=pair.language or fix.language,
        before_is_code=pair.before_is_code,
        after_is_code=pair.after_is_code,
    )


def _extract(
    features: AnswerFeatures,
    probabilities: NDArray[np.float32],
    best: int,
    request: str | None,
) -> DetectedFix:
    items, prose = features.items, features.prose
    index = prose[best]
    sentence = items[index]
    # The regex statement covering the fix sentence has the cleanest problem/solution.
    for fix in features.regex:
        if fix.start < sentence.end and sentence.start < fix.end:
            problem, solution = fix.problem, fix.solution
            break
    else:
        others = [(float(probabilities[r, PROBLEM]), r) for r in range(len(prose)) if r != best]
        problem_row = max(others)[1] if others and max(others)[0] >= 0.5 else None
        if problem_row is not None:
            problem = _clean(items[prose[problem_row]].text, _PROBLEM_LEAD)
        else:
            problem = (request or "").strip()[:300] or _clean(sentence.text, _PROBLEM_LEAD)
        solution = _clean(sentence.text, _SOLUTION_LEAD)
    pair = pair_code(items, index, problem, solution)
    return DetectedFix(
        problem=problem,
        solution=solution,
        start=sentence.start,
        end=sentence.end,
        before_code=pair.before,
        after_code=pair.after,
        language=pair.language,
        before_is_code=pair.before_is_code,
        after_is_code=pair.after_is_code,
        form="learned",
    )
