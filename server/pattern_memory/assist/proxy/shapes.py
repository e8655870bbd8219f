"""The two API shapes the proxy understands: where the user's text, the system prompt and the
answer's text sit in an OpenAI chat completion and in an Anthropic message.

Everything here works on parsed JSON and never raises on odd input: a body the proxy does not
understand is forwarded as it came.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Shape = Literal["openai", "anthropic"]


def _text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    return ""


def _user_texts(body: dict[str, Any]) -> list[str]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    return [
        _text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    ]


def user_texts(body: dict[str, Any]) -> tuple[str, str, int]:
    """(first user message, last user message, how many user messages) — both shapes keep
    the conversation in `messages` with roles."""
    texts = _user_texts(body)
    if not texts:
        return "", "", 0
    return texts[0], texts[-1], len(texts)


def inject(shape: Shape, body: dict[str, Any], block: str) -> dict[str, Any]:
    """A copy of the body with `block` prepended to its system prompt."""
    out = dict(body)
    if shape == "anthropic":
        system = out.get("system")
        if isinstance(system, list):
            out["system"] = [{"type": "text", "text": block}, *system]
        elif isinstance(system, str) and system:
            out["system"] = block + "\n" + system
        else:
            out["system"] = block
        return out
    messages = list(out.get("messages") or [])
    for index, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") in ("system", "developer"):
            content = message.get("content")
            if isinstance(content, list):
                new_content: Any = [{"type": "text", "text": block}, *content]
            else:
                new_content = block + (
                    "\n" + content if isinstance(content, str) and content else ""
                )
            messages[index] = {**message, "content": new_content}
            break
    else:
        messages.insert(0, {"role": "system", "content": block})
    out["messages"] = messages
    return out


def answer_text(shape: Shape, payload: Any) -> str:
    """The text of a non-streamed answer."""
    if not isinstance(payload, dict):
        return ""
    if shape == "anthropic":
        return _text_of(payload.get("content"))
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _text_of(message.get("content"))
    return ""


@dataclass
class StreamText:
    """Accumulates an answer's text from its server-sent events, fed raw bytes as they pass
    (chunk boundaries anywhere, even inside a line)."""

    shape: Shape
    parts: list[str] = field(default_factory=list)
    _pending: bytes = b""
    max_chars: int = 2_000_000
    _size: int = 0

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._line(line.strip())

    def text(self) -> str:
        if self._pending:
            self._line(self._pending.strip())
            self._pending = b""
        return "".join(self.parts)

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        raw = line[5:].strip()
        if not raw or raw == b"[DONE]":
            return
        try:
            event = json.loads(raw)
        except ValueError:
            return
        piece = self._piece(event)
        if piece and self._size < self.max_chars:
            self.parts.append(piece)
            self._size += len(piece)

    def _piece(self, event: Any) -> str:
        if not isinstance(event, dict):
            return ""
        if self.shape == "anthropic":
            delta = event.get("delta")
            if event.get("type") == "content_block_delta" and isinstance(delta, dict):
                text = delta.get("text")
                return text if isinstance(text, str) else ""
            return ""
        choices = event.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            delta = choices[0].get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                return str(delta["content"])
        return ""
