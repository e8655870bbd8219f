"""`forgeDetector: llm` (opt-in, the proxy only): the upstream model the user already talks
to is asked to extract the fix an answer states, as JSON.

The request goes to the same upstream, in the conversation's own shape (OpenAI or
Anthropic), with the client's own credential headers (held in memory for this call only,
never logged or stored). Any failure (transport, status, a reply that is not the JSON asked
for) raises LlmDetectorError, and the caller falls back to the learned detector.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from .detect import DetectedFix
from .proxy.shapes import Shape, answer_text

PROMPT = (
    "You extract bug fixes from an assistant's answer. Reply with JSON only, no prose: "
    '{"fixes": [{"problem": "...", "solution": "...", "before_code": "...", '
    '"after_code": "...", "language": "..."}]}. A fix states what was wrong and what fixes '
    "it. Use an empty list when the answer states no fix: questions, hypotheticals, status "
    'reports ("the fix is merged"), code reviews, general explanations. before_code and '
    'after_code are the code the answer shows before and after the fix, or "".'
)
MAX_FIXES = 5
MAX_FIELD_CHARS = 4000


class LlmDetectorError(Exception):
    pass


def _body(shape: Shape, model: str, answer: str, request: str | None) -> dict[str, Any]:
    content = f"Question:\n{request or ''}\n\nAnswer:\n{answer}"
    if shape == "anthropic":
        return {
            "model": model,
            "system": PROMPT,
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": content}],
        }
    return {
        "model": model,
        "temperature": 0,
        "messages": [{"role": "system", "content": PROMPT}, {"role": "user", "content": content}],
    }


def _text(value: Any) -> str:
    return value.strip()[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


def parse_fixes(reply: str) -> list[DetectedFix]:
    """The fixes in the model's reply (the outermost JSON object in it)."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end <= start:
        raise LlmDetectorError("the model's reply holds no JSON object")
    try:
        data = json.loads(reply[start : end + 1])
    except ValueError as exc:
        raise LlmDetectorError(f"the model's reply is not JSON: {exc}") from None
    items = data.get("fixes") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise LlmDetectorError('the model\'s reply has no "fixes" list')
    fixes = []
    for item in items[:MAX_FIXES]:
        if not isinstance(item, dict):
            continue
        problem, solution = _text(item.get("problem")), _text(item.get("solution"))
        if not problem or not solution:
            continue
        before, after = _text(item.get("before_code")), _text(item.get("after_code"))
        fixes.append(
            DetectedFix(
                problem=problem,
                solution=solution,
                start=0,
                end=0,
                before_code=before or problem,
                after_code=after or solution,
                language=_text(item.get("language")).lower()[:40],
                before_is_code=bool(before),
                after_is_code=bool(after),
                form="llm",
            )
        )
    return fixes


def llm_fixes(
    upstream: str,
    shape: Shape,
    model: str,
    headers: Mapping[str, str],
    answer: str,
    *,
    request: str | None = None,
    timeout: float = 60.0,
) -> list[DetectedFix]:
    path = "/v1/messages" if shape == "anthropic" else "/v1/chat/completions"
    try:
        response = httpx.post(
            upstream.rstrip("/") + path,
            json=_body(shape, model, answer, request),
            headers=dict(headers),
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise LlmDetectorError(f"the upstream could not be reached: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise LlmDetectorError(f"the upstream answered {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        raise LlmDetectorError("the upstream's answer is not JSON") from None
    return parse_fixes(answer_text(shape, payload))
