"""`forgeDetector: llm`: the proxy asks its upstream (here the stub standing for the model
vendor) to extract the fix as JSON, with the client's credential; any failure falls back
to the learned detector."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pattern_memory.assist.llm_detect import PROMPT, LlmDetectorError, parse_fixes
from pattern_memory.assist.proxy.app import ProxyConfig, create_app
from pattern_memory.memory.service import PatternMemory

from .proxy_harness import Stub, serve, stub_app

QUESTION = "my requests.get call with timeout=5000 hangs for ages, why?"
EXTRACTED = {
    "fixes": [
        {
            "problem": "the timeout is given in milliseconds",
            "solution": "pass the timeout in seconds",
            "before_code": "requests.get(url, timeout=5000)",
            "after_code": "requests.get(url, timeout=5)",
            "language": "python",
        }
    ]
}


@pytest.fixture
def llm_proxy(open_memory: Callable[..., PatternMemory]) -> Iterator[tuple[str, Stub, Any]]:
    memory = open_memory(userId="alice", forgeDetector="llm")
    stub = Stub()
    with serve(stub_app(stub)) as upstream:
        app = create_app(ProxyConfig(upstream, memory.settings, 30.0), memory)
        with serve(app) as url:
            yield url, stub, app.state.proxy


def post(url: str, body: dict[str, Any], path: str = "/v1/chat/completions") -> httpx.Response:
    headers = {"Authorization": "Bearer sk-secret-123", "X-Pattern-Memory-User": "alice"}
    return httpx.post(url + path, json=body, headers=headers, timeout=30)


def settle(state: Any) -> None:
    """Wait for the post-hook (it runs after the response): a forged pattern appears."""
    deadline = time.monotonic() + 60
    while not forged(state) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)


def forged(state: Any) -> list[Any]:
    return [p for p in state.memory_for("alice").iter_patterns() if p.source.value == "forge"]


def test_the_upstream_extracts_the_fix_with_the_clients_credential(
    llm_proxy: tuple[str, Stub, Any],
) -> None:
    url, stub, state = llm_proxy
    stub.answer = "Sure. " + json.dumps(EXTRACTED)  # the chat answer and the extraction
    body = {"model": "gpt-x", "messages": [{"role": "user", "content": QUESTION}]}
    assert post(url, body).status_code == 200
    settle(state)
    assert len(stub.received) == 2
    extraction = stub.received[1]
    assert extraction["model"] == "gpt-x" and extraction["messages"][0]["content"] == PROMPT
    assert QUESTION in extraction["messages"][1]["content"]
    assert stub.headers[1]["authorization"] == "Bearer sk-secret-123"
    (pattern,) = forged(state)
    assert pattern.before_code == "requests.get(url, timeout=5000)"
    assert pattern.after_code == "requests.get(url, timeout=5)"
    assert "milliseconds" in pattern.commit_msg and pattern.language == "python"


def test_anthropic_shape_and_a_reply_without_json_falls_back_to_the_learned_detector(
    llm_proxy: tuple[str, Stub, Any],
) -> None:
    url, stub, state = llm_proxy
    stub.answer = (
        "The bug was that the timeout was given in milliseconds. "
        "The fix is to pass seconds to requests.get."
    )
    body = {
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    assert post(url, body, "/v1/messages").status_code == 200
    settle(state)
    assert stub.paths[-1] == "/v1/messages" and stub.received[1]["system"] == PROMPT
    (pattern,) = forged(state)
    assert "milliseconds" in pattern.commit_msg
    assert "proxy_llm_detector_errors_total 1" in state.metrics.render()


def test_the_reply_is_read_strictly() -> None:
    assert parse_fixes('{"fixes": []}') == []
    assert parse_fixes('{"fixes": [{"problem": "", "solution": "x"}, 3]}') == []
    (fix,) = parse_fixes('ok: {"fixes": [{"problem": "p", "solution": "s"}]}')
    assert (fix.before_code, fix.after_code, fix.paired_code) == ("p", "s", False)
    for bad in ["no json here", "{not json}", '{"fix": []}']:
        with pytest.raises(LlmDetectorError):
            parse_fixes(bad)
