"""Coding-agent hooks (Claude Code's `UserPromptSubmit` and `Stop`; any agent that passes
the same JSON on standard input).

`hook user-prompt` reads {"prompt", "session_id", ...} and prints the `<learned-patterns>`
block as `hookSpecificOutput.additionalContext`. `hook stop` reads {"transcript_path",
"session_id", ...}, forges from the transcript's last assistant message and records the
outcome of the previous turn's patterns from the latest user message.

A hook must never fail the agent's turn: every error is logged to standard error and the
exit status is 0. The model is loaded only when there is something to embed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..settings import Settings

log = logging.getLogger(__name__)
MAX_STDIN_CHARS = 2_000_000
MAX_TRANSCRIPT_BYTES = 50_000_000
_SESSION = re.compile(r"[^A-Za-z0-9_.-]")


def read_event(stream: Any) -> dict[str, Any]:
    raw = stream.read(MAX_STDIN_CHARS + 1) if stream is not None else ""
    event = json.loads(raw) if raw.strip() else {}
    return event if isinstance(event, dict) else {}


# --- per-session state: which patterns went into the current and the previous turn -----


def _state_path(settings: Settings, session_id: str) -> Path:
    name = _SESSION.sub("_", session_id)[:100] or "default"
    return settings.db_path.parent / "hook-sessions" / f"{name}.json"


def _load_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# --- transcript ---------------------------------------------------------------------


def _message_text(entry: dict[str, Any]) -> tuple[str, str]:
    """(role, text) of one transcript line; tool results and tool calls carry no text."""
    message = entry.get("message")
    if not isinstance(message, dict):
        return "", ""
    role = str(message.get("role") or entry.get("type") or "")
    content = message.get("content")
    if isinstance(content, str):
        return role, content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ]
        return role, "\n".join(texts)
    return role, ""


def last_turn(transcript: Path) -> tuple[str, str]:
    """(latest user message, the assistant's text after it) from a JSONL transcript."""
    user, answer = "", list[str]()
    if transcript.stat().st_size > MAX_TRANSCRIPT_BYTES:
        raise ValueError(f"{transcript}: transcript too large")
    with transcript.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            role, text = _message_text(entry)
            if role == "user" and text.strip():
                user, answer = text, []
            elif role == "assistant" and text.strip():
                answer.append(text)
    return user, "\n\n".join(answer)


# --- the hooks ----------------------------------------------------------------------


def user_prompt(settings: Settings, event: dict[str, Any]) -> str:
    """The hook's JSON output ("" when there is nothing to add)."""
    prompt = event.get("prompt")
    session = str(event.get("session_id") or "default")
    path = _state_path(settings, session)
    state = _load_state(path)
    # This turn's patterns become the previous turn's: the Stop hook judges them next time.
    state["previous"] = state.get("current") or {}
    state["current"] = {"injected": [], "forged": []}
    block, ids = "", []
    if isinstance(prompt, str) and prompt.strip() and settings.db_path.exists():
        from ..memory.service import PatternMemory
        from .inject import format_injection_block

        with PatternMemory.open(settings) as memory:
            hits = memory.search(prompt, k=settings.max_injected)
            formatted = format_injection_block(hits)
            block = formatted.text
            ids = [hit.stored.pattern.pattern_id for hit in hits[: formatted.injected]]
    state["current"]["injected"] = ids
    _save_state(path, state)
    if not block:
        return ""
    output = {
        "hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": block}
    }
    return json.dumps(output)


def stop(settings: Settings, event: dict[str, Any]) -> None:
    from ..memory.types import Outcome
    from .conversations import Verdict, judge_reply
    from .detect import detect_fixes

    transcript = event.get("transcript_path")
    if not isinstance(transcript, str) or not transcript:
        return
    session = str(event.get("session_id") or "default")
    user, answer = last_turn(Path(transcript))
    path = _state_path(settings, session)
    state = _load_state(path)
    previous = state.get("previous") or {}
    judged = list(dict.fromkeys([*previous.get("injected", []), *previous.get("forged", [])]))
    verdict = judge_reply(user) if judged and user else None
    fixes = detect_fixes(answer, user or None) if settings.forge_on_success and answer else []
    if verdict is None and not fixes:
        return  # nothing to store: no model, no database
    from ..memory.service import PatternMemory
    from .forge import forge_patterns

    with PatternMemory.open(settings) as memory:
        if verdict is not None:
            outcome = Outcome.HELPFUL if verdict is Verdict.WORKED else Outcome.NOT_HELPFUL
            for pattern_id in judged:
                try:
                    memory.record_outcome(pattern_id, outcome)
                except Exception as exc:  # a pattern forgotten since, say
                    log.info("outcome not recorded for %s: %s", pattern_id, exc)
            state["previous"] = {}
        if fixes:
            forged = forge_patterns(memory, answer, user or None)
            current = state.setdefault("current", {"injected": [], "forged": []})
            current["forged"] = list(dict.fromkeys([*current.get("forged", []), *forged]))
    _save_state(path, state)


def run(kind: str, settings: Settings) -> int:
    """Entry point of `pattern-memory hook KIND`: always 0."""
    try:
        event = read_event(sys.stdin)
        if kind == "user-prompt":
            output = user_prompt(settings, event)
            if output:
                sys.stdout.write(output + "\n")
        else:
            stop(settings, event)
    except Exception as exc:
        print(f"pattern-memory hook {kind}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 0
