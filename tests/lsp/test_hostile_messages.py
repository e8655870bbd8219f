"""Hostile and malformed JSON-RPC messages against the real server over stdio: every request
gets an answer (InvalidRequest, InvalidParams, ServerNotInitialized, ...), no answer carries
a traceback, and after each message the server still answers a hover within 2 s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from .test_frame_cap import answer_to, frame

URI = "file:///tmp/hostile/example.py"
HOVER = {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}
INVALID_REQUEST, INVALID_PARAMS, NOT_INITIALIZED = -32600, -32602, -32002


@pytest.fixture
def server(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pattern_memory", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env={**os.environ, "PATTERN_MEMORY_DB_PATH": str(tmp_path / "p.db")},
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def send(process: subprocess.Popen[bytes], payload: bytes | dict[str, Any]) -> None:
    assert process.stdin is not None
    process.stdin.write(frame(payload) if isinstance(payload, dict) else payload)
    process.stdin.flush()


def raw(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def initialize(process: subprocess.Popen[bytes], stdout: IO[bytes]) -> None:
    send(
        process,
        {
            "jsonrpc": "2.0",
            "id": "init",
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        },
    )
    assert "result" in answer_to_any(stdout, "init", 60.0)
    send(process, {"jsonrpc": "2.0", "method": "initialized", "params": {}})


def answer_to_any(stdout: IO[bytes], msg_id: Any, seconds: float) -> dict[str, Any]:
    return answer_to(stdout, msg_id, seconds)


def bad_params() -> list[tuple[str, Any]]:
    position = HOVER["position"]
    return [
        ("position as a string", {**HOVER, "position": "0:0"}),
        ("negative line", {**HOVER, "position": {"line": -1, "character": 0}}),
        ("negative character", {**HOVER, "position": {"line": 0, "character": -5}}),
        ("huge character", {**HOVER, "position": {"line": 0, "character": 2**40}}),
        ("huge line", {**HOVER, "position": {"line": 10**20, "character": 0}}),
        ("params null", None),
        ("params an array", [URI, 0, 0]),
        ("params a string", "hover"),
        ("missing textDocument", {"position": position}),
        ("missing position", {"textDocument": {"uri": URI}}),
        ("empty object", {}),
        ("position null", {**HOVER, "position": None}),
    ]


# cattrs would coerce these to the schema's types (7 -> "7", 1.5 -> 1, True -> 1, "3" -> 3);
# the server's converter (lsp/gate.strict_converter) refuses them: InvalidParams.
COERCED: list[tuple[str, Any]] = [
    ("uri a number", {"textDocument": {"uri": 7}, "position": HOVER["position"]}),
    ("line a float", {**HOVER, "position": {"line": 1.5, "character": 0}}),
    ("line a bool", {**HOVER, "position": {"line": True, "character": 0}}),
    ("line a numeric string", {**HOVER, "position": {"line": "3", "character": 0}}),
    ("character a bool", {**HOVER, "position": {"line": 0, "character": False}}),
]


SEARCH_ARGUMENTS: list[tuple[str, Any]] = [
    ("no arguments", None),
    ("a number", [5]),
    ("k negative", [{"query": "crash", "k": -3}]),
    ("k huge", [{"query": "crash", "k": 10**12}]),
    ("query null", [{"query": None}]),
    ("an unknown key", [{"query": "crash", "nope": 1}]),
    ("a nested array", [[["crash"]]]),
    # cattrs would make these the list of the object's keys / the string's characters.
    ("an object, not a list", {"text": "crash"}),
    ("a string, not a list", "crash"),
]


# (what, the request's members besides "id", the error codes acceptable as its answer)
def hostile_requests() -> list[tuple[str, dict[str, Any], set[int]]]:
    cases: list[tuple[str, dict[str, Any], set[int]]] = []
    for what, params in bad_params():
        for method in ("textDocument/hover", "textDocument/codeAction"):
            body = {"jsonrpc": "2.0", "method": method}
            if params is not None or what == "params null":
                body["params"] = params
            cases.append((f"{method}: {what}", body, {INVALID_PARAMS, INVALID_REQUEST}))
    for what, params in COERCED:
        body = {"jsonrpc": "2.0", "method": "textDocument/hover", "params": params}
        cases.append((f"hover: {what}", body, {INVALID_PARAMS}))
    negative_range = {
        "textDocument": {"uri": URI},
        "range": {"start": {"line": 5, "character": 0}, "end": {"line": 1, "character": 0}},
        "context": {"diagnostics": []},
    }
    cases += [
        (
            "codeAction with a negative range",
            {"jsonrpc": "2.0", "method": "textDocument/codeAction", "params": negative_range},
            {INVALID_PARAMS, 0},  # 0: an empty result is a fine answer too
        ),
        ("jsonrpc 1.0", {"jsonrpc": "1.0", "method": "textDocument/hover"}, {INVALID_REQUEST}),
        ("jsonrpc a number", {"jsonrpc": 2, "method": "textDocument/hover"}, {INVALID_REQUEST}),
        ("jsonrpc missing", {"method": "textDocument/hover", "params": HOVER}, {INVALID_REQUEST}),
        ("numeric method", {"jsonrpc": "2.0", "method": 42, "params": HOVER}, {INVALID_REQUEST}),
        ("method null", {"jsonrpc": "2.0", "method": None}, {INVALID_REQUEST}),
        ("unknown method", {"jsonrpc": "2.0", "method": "no/such"}, {-32601}),
        (
            "executeCommand with no command",
            {"jsonrpc": "2.0", "method": "workspace/executeCommand", "params": {}},
            {INVALID_PARAMS},
        ),
        (
            "executeCommand, unknown command",
            {
                "jsonrpc": "2.0",
                "method": "workspace/executeCommand",
                "params": {"command": "nope", "arguments": []},
            },
            {INVALID_PARAMS, -32601, -32603},
        ),
        (
            "search with arguments of the wrong type",
            {
                "jsonrpc": "2.0",
                "method": "workspace/executeCommand",
                "params": {"command": "patternMemory.search", "arguments": [{"query": 5}]},
            },
            {INVALID_PARAMS},
        ),
    ]
    for what, arguments in SEARCH_ARGUMENTS:
        params: dict[str, Any] = {"command": "patternMemory.search"}
        if arguments is not None:
            params["arguments"] = arguments
        body = {"jsonrpc": "2.0", "method": "workspace/executeCommand", "params": params}
        cases.append((f"search: {what}", body, {INVALID_PARAMS}))
    return cases


# Frames that are not requests with a usable id: nothing to answer, the server goes on.
UNANSWERABLE: list[tuple[str, bytes]] = [
    ("not JSON", raw(b"this is not json")),
    ("truncated JSON", raw(b'{"jsonrpc": "2.0", "id": 1, "method": "textDoc')),
    ("empty body", raw(b"")),
    ("a JSON number", raw(b"42")),
    ("a JSON string", raw(b'"hello"')),
    ("a batch", raw(b'[{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}]')),
    ("invalid UTF-8", raw(b'{"jsonrpc": "2.0", "method": "\xff\xfe"}')),
    ("object id", raw(b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover"}')),
    ("array id", raw(b'{"jsonrpc": "2.0", "id": [1], "method": "textDocument/hover"}')),
    ("notification, bad params", frame({"jsonrpc": "2.0", "method": "textDocument/didOpen"})),
    (
        "didChange of an unknown document",
        frame(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": URI, "version": 3},
                    "contentChanges": [{"text": "x = 1\n"}],
                },
            }
        ),
    ),
    ("a response to nothing", frame({"jsonrpc": "2.0", "id": 12345, "result": None})),
    ("an error response", frame({"jsonrpc": "2.0", "id": 9, "error": {"code": 1}})),
    ("missing header value", b"Content-Length: \r\n\r\n"),
    ("cancel of nothing", frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {}})),
    ("a Content-Type only", b"Content-Type: application/json\r\n\r\n"),
    ("a deeply nested body", raw(b"[" * 100_000 + b"]" * 100_000)),
    ("a NUL byte body", raw(b"\x00" * 64)),
    ("JSON null", raw(b"null")),
    ("a 1 MiB string method", frame({"jsonrpc": "2.0", "method": "x" * 2**20})),
]


def hover_answers(process: subprocess.Popen[bytes], stdout: IO[bytes], msg_id: int) -> bool:
    send(process, {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/hover", "params": HOVER})
    try:
        answer = answer_to(stdout, msg_id, 2.0)
    except AssertionError:
        return False
    return "result" in answer or "error" in answer


@pytest.mark.slow
def test_every_hostile_request_gets_its_error_and_the_server_keeps_answering(
    server: subprocess.Popen[bytes],
) -> None:
    assert server.stdout is not None
    stdout = server.stdout
    initialize(server, stdout)
    answered = recovered = 0
    wrong: list[str] = []
    next_id = 1000
    for what, body, codes in hostile_requests():
        next_id += 1
        send(server, {**body, "id": next_id})
        answer = answer_to(stdout, next_id, 5.0)
        answered += 1
        code = answer["error"]["code"] if "error" in answer else 0
        if code not in codes:
            wrong.append(f"{what}: {answer}")
        assert "traceback" not in json.dumps(answer), what
        next_id += 1
        recovered += hover_answers(server, stdout, next_id)
    for _what, payload in UNANSWERABLE:
        send(server, payload)
        next_id += 1
        recovered += hover_answers(server, stdout, next_id)
    total = len(hostile_requests()) + len(UNANSWERABLE)
    print(
        f"\nhostile messages: {total} sent to one server, {answered} requests answered, "
        f"{recovered} followed by a hover answered within 2 s, {len(wrong)} wrong codes"
    )
    assert not wrong, "\n".join(wrong)
    assert recovered == total
    assert total >= 60


@pytest.mark.slow
def test_before_initialize_requests_get_server_not_initialized(
    server: subprocess.Popen[bytes],
) -> None:
    assert server.stdout is not None
    send(server, {"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": HOVER})
    assert answer_to(server.stdout, 1, 30.0)["error"]["code"] == NOT_INITIALIZED
    send(
        server,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": "patternMemory.stats", "arguments": []},
        },
    )
    assert answer_to(server.stdout, 2, 5.0)["error"]["code"] == NOT_INITIALIZED
    initialize(server, server.stdout)
    assert hover_answers(server, server.stdout, 3)


@pytest.mark.slow
def test_after_shutdown_requests_are_invalid_and_exit_exits_cleanly(
    server: subprocess.Popen[bytes],
) -> None:
    assert server.stdout is not None and server.stdin is not None
    initialize(server, server.stdout)
    send(server, {"jsonrpc": "2.0", "id": 5, "method": "shutdown"})
    assert answer_to(server.stdout, 5, 30.0) == {"jsonrpc": "2.0", "id": 5, "result": None}
    send(server, {"jsonrpc": "2.0", "id": 6, "method": "textDocument/hover", "params": HOVER})
    assert answer_to(server.stdout, 6, 5.0)["error"]["code"] == INVALID_REQUEST
    send(server, {"jsonrpc": "2.0", "method": "exit"})
    server.stdin.close()
    started = time.monotonic()
    assert server.wait(timeout=10) == 0
    assert time.monotonic() - started < 10
