"""`pattern-memory mcp`: the memory as Model Context Protocol tools over stdio (the official
`mcp` SDK), for coding agents (Claude Code, Cursor, VS Code agent mode, Codex).

Tools: search_patterns, get_pattern, record_fix (a structured forge: the agent states the fix,
no detection needed), record_outcome; the `<learned-patterns>` block as the prompt
`learned_patterns`. Everything is scoped to the settings' user (userId), as everywhere else.
The memory (and the model) opens on the first call, so the server starts at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from ..memory.types import StoredPattern
from ..settings import Settings

MAX_FIELD_CHARS = 20_000


def _hit(stored: StoredPattern, score: float | None = None) -> dict[str, Any]:
    pattern = stored.pattern
    out = {
        "id": pattern.pattern_id,
        "kind": pattern.problem_type.value,
        "source": pattern.source.value,
        "why": pattern.commit_msg,
        "before_code": pattern.before_code,
        "after_code": pattern.after_code,
        "file_path": pattern.file_path,
        "language": pattern.language,
        "success_rate": round(stored.success_rate, 3),
        "uses": stored.lifecycle.uses,
    }
    if score is not None:
        out["relevance"] = round(score, 3)
    return out


def build_server(settings: Settings) -> Any:
    from mcp.server.mcpserver import MCPServer

    from ..errors import InputError
    from ..memory.service import PatternMemory
    from ..memory.types import Outcome

    server = MCPServer(
        name="pattern-memory",
        instructions="Fixes learned from this user's code history and earlier answers. "
        "Search before fixing a bug; record the fix you made; record whether a pattern worked.",
    )
    lock = threading.Lock()
    opened: list[PatternMemory] = []

    def memory() -> PatternMemory:
        with lock:
            if not opened:
                opened.append(PatternMemory.open(settings))
            return opened[0]

    @server.tool()
    def search_patterns(query: str, code: str | None = None, k: int = 5) -> list[dict[str, Any]]:
        """Patterns relevant to a problem description (and, given `code`, to that code)."""
        k = max(1, min(int(k), 50))
        hits = memory().search_code(code, k=k) if code else memory().search(query, k=k)
        return [_hit(hit.stored, hit.score) for hit in hits]

    @server.tool()
    def get_pattern(id: str) -> dict[str, Any]:  # the tool's parameter name is the spec's
        """One pattern by id."""
        stored = memory().get(id)
        if stored is None:
            raise ValueError(f"no pattern with id {id!r}")
        return _hit(stored)

    @server.tool()
    def record_fix(
        problem: str,
        solution: str,
        *,
        before_code: str | None = None,
        after_code: str | None = None,
        file_path: str | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """Store a fix you made: what was wrong, what fixed it, and the code if any."""
        from ..languages import normalize_language
        from ..mining import scrub_text
        from ..patterns import DATE_FORMAT, Pattern, PatternSource, ProblemType, make_pattern_id
        from .privacy import relative_path

        if not problem.strip() or not solution.strip():
            raise ValueError("problem and solution are required")
        if not settings.forge_on_success:
            return {"stored": False, "reason": "forgeOnSuccess is false (read-only)"}

        def clean(text: str | None) -> str:
            return scrub_text((text or "")[:MAX_FIELD_CHARS]).text

        problem_text, solution_text = clean(problem), clean(solution)
        before, after = clean(before_code), clean(after_code)
        pattern = Pattern(
            pattern_id=make_pattern_id("mcp", problem_text, solution_text, before, after),
            problem_type=ProblemType.BUG_FIX,
            before_code=before or problem_text,
            after_code=after or solution_text,
            commit_msg=f"Problem: {problem_text}\nFix: {solution_text}",
            author=settings.user_id,
            date=dt.datetime.now(dt.UTC).strftime(DATE_FORMAT),
            confidence=0.8 if before and after else 0.6,
            file_path=relative_path(file_path or ""),
            language=normalize_language(language) if language and before and after else "text",
            source=PatternSource.FORGE,
        )
        ids = memory().add_patterns([pattern], lookup_texts=[problem_text])
        return {"stored": True, "id": ids[0]}

    @server.tool()
    def record_outcome(pattern_id: str, worked: bool) -> dict[str, Any]:
        """Whether applying a pattern fixed the problem (reinforces or charges it)."""
        try:
            stored = memory().record_outcome(
                pattern_id, Outcome.HELPFUL if worked else Outcome.NOT_HELPFUL
            )
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return {
            "id": pattern_id,
            "success_rate": round(stored.success_rate, 3),
            "retired": stored.retired,
        }

    @server.prompt()
    def learned_patterns(query: str) -> str:
        """The <learned-patterns> block for a request, to put in front of it."""
        from .inject import build_injection_block

        return build_injection_block(memory(), query) or "(no learned patterns match)"

    return server


def serve(settings: Settings) -> None:
    server = build_server(settings)
    server.run("stdio")
