"""`pattern-memory mcp` through the SDK's own client over stdio, on the real memory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings

FIX = Pattern(
    pattern_id=make_pattern_id("mcp-timeout"),
    problem_type=ProblemType.BUG_FIX,
    before_code="requests.get(url, timeout=5000)",
    after_code="requests.get(url, timeout=5)",
    commit_msg="fix: request timeout given in milliseconds instead of seconds",
    author="dev@example.com",
    date="2099-01-01 00:00:00",
    confidence=0.85,
    language="python",
)


def _payload(result: Any) -> Any:
    assert not result.is_error, result
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if isinstance(content, dict) else content
    return json.loads(result.content[0].text)


async def _session_run(db: Path, user: str, steps: Any) -> Any:
    env = {**os.environ, "PATTERN_MEMORY_USER_ID": user, "PATTERN_MEMORY_SIMILARITY": "0.2"}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "pattern_memory", "mcp", "--db", str(db)], env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await steps(session)


@pytest.mark.asyncio
async def test_tools_and_prompt_over_stdio(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with PatternMemory.open(Settings(db_path=db, user_id="alice")) as memory:
        memory.add_patterns([FIX])

    async def steps(session: ClientSession) -> None:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert names >= {"search_patterns", "get_pattern", "record_fix", "record_outcome"}
        hits = _payload(
            await session.call_tool("search_patterns", {"query": "requests.get timeout=5000 hangs"})
        )
        assert hits[0]["id"] == FIX.pattern_id
        by_code = _payload(
            await session.call_tool(
                "search_patterns", {"query": "", "code": "r = requests.get(url, timeout=5000)"}
            )
        )
        assert by_code[0]["id"] == FIX.pattern_id
        assert (
            _payload(await session.call_tool("get_pattern", {"id": FIX.pattern_id}))["after_code"]
            == FIX.after_code
        )
        stored = _payload(
            await session.call_tool(
                "record_fix",
                {
                    "problem": "retry loop never slept between attempts",
                    "solution": "sleep for the backoff delay",
                    "before_code": "retry()",
                    "after_code": "time.sleep(delay); retry()",
                    "file_path": "/home/alice/work/app/retry.py",
                    "language": "python",
                },
            )
        )
        assert stored["stored"] is True
        found = _payload(await session.call_tool("get_pattern", {"id": stored["id"]}))
        assert found["file_path"] == "app/retry.py"
        outcome = _payload(
            await session.call_tool(
                "record_outcome", {"pattern_id": FIX.pattern_id, "worked": True}
            )
        )
        assert outcome["id"] == FIX.pattern_id
        prompt = await session.get_prompt(
            "learned_patterns", {"query": "requests.get timeout=5000 hangs"}
        )
        assert "<learned-patterns>" in prompt.messages[0].content.text  # type: ignore[union-attr]
        missing = await session.call_tool("get_pattern", {"id": "nope"})
        assert missing.is_error

    await _session_run(db, "alice", steps)
    with PatternMemory.open(Settings(db_path=db, user_id="alice")) as memory:
        stored = memory.get(FIX.pattern_id)
    assert stored is not None and stored.lifecycle.success_count == 1

    async def as_bob(session: ClientSession) -> None:
        assert (
            _payload(
                await session.call_tool(
                    "search_patterns", {"query": "requests.get timeout=5000 hangs"}
                )
            )
            == []
        )

    await _session_run(db, "bob", as_bob)
