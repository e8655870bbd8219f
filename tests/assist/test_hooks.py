"""`pattern-memory hook user-prompt` / `hook stop` as Claude Code runs them: a separate
process, the hook's JSON on standard input, a JSONL transcript, the real memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings

FIX = Pattern(
    pattern_id=make_pattern_id("hook-timeout"),
    problem_type=ProblemType.BUG_FIX,
    before_code="requests.get(url, timeout=5000)",
    after_code="requests.get(url, timeout=5)",
    commit_msg="fix: request timeout given in milliseconds instead of seconds",
    author="dev@example.com",
    date="2099-01-01 00:00:00",
    confidence=0.85,
    language="python",
)
ANSWER = (
    "The bug was that the retry loop never slept between attempts. "
    "The fix is to sleep for the backoff delay before retrying."
)


def hook(kind: str, db: Path, event: dict[str, Any] | str) -> subprocess.CompletedProcess[str]:
    stdin = event if isinstance(event, str) else json.dumps(event)
    return subprocess.run(
        [sys.executable, "-m", "pattern_memory", "hook", kind, "--db", str(db)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def transcript(path: Path, *turns: tuple[str, str]) -> Path:
    lines = []
    for user, assistant in turns:
        lines.append({"type": "user", "message": {"role": "user", "content": user}})
        lines.append(
            {
                "type": "assistant",
                "message": {"role": "assistant", "content": [{"type": "text", "text": assistant}]},
            }
        )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def seeded(db: Path) -> None:
    settings = Settings(db_path=db, similarity=0.2)
    with PatternMemory.open(settings) as memory:
        memory.add_patterns([FIX])


def test_user_prompt_prints_the_block_as_additional_context(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    seeded(db)
    event = {
        "session_id": "s1",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "my requests.get call with timeout=5000 hangs, why?",
        "transcript_path": str(tmp_path / "t.jsonl"),
        "cwd": str(tmp_path),
    }
    done = hook("user-prompt", db, event)
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)["hookSpecificOutput"]
    assert output["hookEventName"] == "UserPromptSubmit"
    assert output["additionalContext"].startswith("<learned-patterns>")
    assert FIX.pattern_id in output["additionalContext"]


def test_stop_forges_then_the_next_turn_records_the_outcome(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    seeded(db)
    first = "my requests.get call with timeout=5000 hangs, why?"
    hook("user-prompt", db, {"session_id": "s2", "prompt": first})
    path = transcript(tmp_path / "t.jsonl", (first, ANSWER))
    done = hook("stop", db, {"session_id": "s2", "transcript_path": str(path)})
    assert done.returncode == 0, done.stderr
    with PatternMemory.open(Settings(db_path=db)) as memory:
        forged = [p for p in memory.iter_patterns() if p.source.value == "forge"]
    assert len(forged) == 1 and "retry loop" in forged[0].commit_msg
    # The user's next message says it worked: the injected and the forged pattern gain.
    reply = "thanks, that worked!"
    hook("user-prompt", db, {"session_id": "s2", "prompt": reply})
    path = transcript(path, (first, ANSWER), (reply, "Glad it helped."))
    done = hook("stop", db, {"session_id": "s2", "transcript_path": str(path)})
    assert done.returncode == 0, done.stderr
    with PatternMemory.open(Settings(db_path=db)) as memory:
        injected = memory.get(FIX.pattern_id)
        new = memory.get(forged[0].pattern_id)
    assert injected is not None and injected.lifecycle.success_count == 1
    assert new is not None and new.lifecycle.success_count == 1
    # The state is in the database: no per-session files beside it.
    assert not (tmp_path / "hook-sessions").exists()
    # Judged once: the same Stop again (the agent retrying) records nothing more.
    hook("stop", db, {"session_id": "s2", "transcript_path": str(path)})
    with PatternMemory.open(Settings(db_path=db)) as memory:
        again = memory.get(FIX.pattern_id)
    assert (
        again is not None
        and again.lifecycle.success_count == 1
        and again.lifecycle.failure_count == 0
    )


def test_bad_input_never_fails_the_turn(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    for kind, stdin in [
        ("user-prompt", "not json"),
        ("stop", {"transcript_path": str(tmp_path / "missing.jsonl")}),
        ("stop", "[1, 2]"),
    ]:
        done = hook(kind, db, stdin)
        assert done.returncode == 0
        assert done.stdout == ""
    assert "pattern-memory hook" in hook("user-prompt", db, "{").stderr
