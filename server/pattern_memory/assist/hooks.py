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
import sys
from pathlib import Path
from typing import Any

from ..settings import Settings

log = logging.getLogger(__name__)
MAX_STDIN_CHARS = 2_000_000
MAX_TRANSCRIPT_BYTES = 50_000_000


def read_event(stream: Any) -> dict[str, Any]:
    raw = stream.read(MAX_STDIN_CHARS + 1) if stream is not None else ""
    event = json.loads(raw) if raw.strip() else {}
    return event if isinstance(event, dict) else {}


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


def _session(event: dict[str, Any]) -> str:
    return str(event.get("session_id") or "default")[:200]


def user_prompt(settings: Settings, event: dict[str, Any]) -> str:
    """The hook's JSON output ("" when there is nothing to add). A new turn of the session
    begins: the patterns it injects are recorded in the database for the Stop hook."""
    prompt = event.get("prompt")
    if not settings.db_path.exists():
        return ""  # no patterns yet: nothing to inject or to remember
    from ..memory.conversation_store import ConversationStore
    from ..memory.service import PatternMemory
    from .inject import format_injection_block

    block, ids = "", []
    with PatternMemory.open(settings) as memory:
        conversations = ConversationStore(memory.store.db)
        turn = conversations.next_turn(settings.user_id, _session(event))
        if isinstance(prompt, str) and prompt.strip():
            hits = memory.search(prompt, k=settings.max_injected)
            formatted = format_injection_block(hits)
            block = formatted.text
            ids = [hit.stored.pattern.pattern_id for hit in hits[: formatted.injected]]
        conversations.start_turn(settings.user_id, _session(event), turn, ids)
    if not block:
        return ""
    output = {
        "hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": block}
    }
    return json.dumps(output)


def stop(settings: Settings, event: dict[str, Any]) -> None:
    """Judge the previous turn's patterns by the latest user message, then forge from the
    answer to it."""
    from ..settings import ForgeDetector
    from .conversations import judge_reply, record_verdict
    from .detect import detect_fixes
    from .learned import may_state_a_fix

    transcript = event.get("transcript_path")
    if not isinstance(transcript, str) or not transcript:
        return
    user, answer = last_turn(Path(transcript))
    # The pre-filter only (the detector and its model run in forge_patterns); with the
    # regex detector, the regex itself, so that no fix means no database and no model.
    if settings.forge_detector is ForgeDetector.REGEX:
        fixes = bool(settings.forge_on_success and answer and detect_fixes(answer, user or None))
    else:
        fixes = bool(settings.forge_on_success and answer and may_state_a_fix(answer))
    if not fixes and not settings.db_path.exists():
        return  # nothing was injected and nothing is to be stored
    from ..memory.conversation_store import ConversationStore
    from ..memory.service import PatternMemory
    from .forge import forge_patterns

    session = _session(event)
    with PatternMemory.open(settings) as memory:
        conversations = ConversationStore(memory.store.db)
        turn = conversations.current_turn(settings.user_id, session)
        if turn == 0:  # no prompt hook ran before (no database then): this is turn 1
            turn = conversations.next_turn(settings.user_id, session)
        previous = conversations.take_previous(settings.user_id, session, turn)
        verdict = judge_reply(user) if previous is not None and user else None
        if previous is not None and verdict is not None:
            record_verdict(memory, previous.judged, verdict)
        if fixes:
            forged = forge_patterns(memory, answer, user or None)
            conversations.add_forged(settings.user_id, session, turn, forged)


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
