"""JSON-RPC's Parse error for frames whose body is not JSON, and a command pending while
the client shuts the server down (issue 10), against the real server over stdio."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest

from tests.gitrepo import RepoBuilder

from .test_frame_cap import answer_to, read_message
from .test_hostile_messages import HOVER, hover_answers, initialize, raw, send, server

__all__ = ["server"]  # the fixture, used by the tests below

PARSE_ERROR, REQUEST_CANCELLED = -32700, -32800

NOT_JSON: list[tuple[str, bytes]] = [
    ("not JSON", b"this is not json"),
    ("truncated JSON", b'{"jsonrpc": "2.0", "id": 1, "method": "textDoc'),
    ("invalid UTF-8", b'{"jsonrpc": "2.0", "method": "\xff\xfe"}'),
    ("a NUL byte body", b"\x00" * 64),
    ("a trailing comma", b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown",}'),
    ("nested too deep to read", b"[" * 100_000 + b"]" * 100_000),
]


def parse_error(stdout: IO[bytes], seconds: float = 5.0) -> dict[str, Any]:
    """The next response with a null id (notifications such as logMessage are skipped)."""
    deadline = time.monotonic() + seconds
    while True:
        message = read_message(stdout, deadline)
        if "method" not in message and message.get("id") is None:
            return message


@pytest.mark.slow
def test_a_body_that_is_not_json_gets_a_parse_error(server: subprocess.Popen[bytes]) -> None:
    assert server.stdout is not None
    initialize(server, server.stdout)
    answered = 0
    for number, (what, body) in enumerate(NOT_JSON):
        send(server, raw(body))
        answer = parse_error(server.stdout)
        assert answer["error"]["code"] == PARSE_ERROR, (what, answer)
        assert answer["id"] is None and "traceback" not in str(answer)
        answered += 1
        assert hover_answers(server, server.stdout, 100 + number), what
    print(f"\nparse errors: {answered} of {len(NOT_JSON)} frames that are not JSON answered -32700")


@pytest.mark.slow
def test_shutdown_while_a_command_is_pending_answers_both_and_exits_cleanly(
    server: subprocess.Popen[bytes], repo_builder: RepoBuilder
) -> None:
    assert server.stdout is not None and server.stdin is not None
    for number in range(40):
        code = f"def run_{number}(items):\n    return items[0] if items else None\n"
        repo_builder.commit(f"fix: IndexError on empty batch {number}", {f"b{number}.py": code})
    initialize(server, server.stdout)
    index = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "workspace/executeCommand",
        "params": {
            "command": "patternMemory.indexWorkspace",
            "arguments": [{"path": str(Path(repo_builder.path))}],
        },
    }
    send(server, index)
    send(server, {"jsonrpc": "2.0", "id": 8, "method": "textDocument/hover", "params": HOVER})
    send(server, {"jsonrpc": "2.0", "id": 9, "method": "shutdown"})
    answers: dict[Any, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while len(answers) < 3:
        message = read_message(server.stdout, deadline)
        if "method" not in message and message.get("id") in (7, 8, 9):
            answers[message["id"]] = message
    assert answers[9] == {"jsonrpc": "2.0", "id": 9, "result": None}
    # Done before the shutdown, or cancelled by it (what happens here: the index is still
    # loading the model), never an internal error.
    assert answers[7].get("error", {}).get("code") in (None, REQUEST_CANCELLED), answers[7]
    for msg_id in (7, 8):
        answer = answers[msg_id]
        assert "result" in answer or answer["error"]["code"] == REQUEST_CANCELLED, answer
    send(server, {"jsonrpc": "2.0", "id": 10, "method": "textDocument/hover", "params": HOVER})
    assert answer_to(server.stdout, 10, 5.0)["error"]["code"] == -32600
    send(server, {"jsonrpc": "2.0", "method": "exit"})
    server.stdin.close()
    assert server.wait(timeout=15) == 0


@pytest.mark.slow
def test_a_parse_error_leaves_no_traceback_on_stderr(tmp_path: Path) -> None:
    """Editors log a server's stderr as errors: one answered frame is no reason for a
    traceback there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pattern_memory", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PATTERN_MEMORY_DB_PATH": str(tmp_path / "p.db")},
    )
    assert process.stdout is not None and process.stdin is not None
    initialize(process, process.stdout)
    send(process, raw(b"this is not json"))
    assert parse_error(process.stdout)["error"]["code"] == PARSE_ERROR
    send(process, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    answer_to(process.stdout, 2, 10.0)
    send(process, {"jsonrpc": "2.0", "method": "exit"})
    process.stdin.close()
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    err = process.stderr.read()
    assert b"Traceback" not in err, err.decode(errors="replace")


@pytest.mark.slow
def test_each_unanswerable_frame_against_a_fresh_server(tmp_path: Path) -> None:
    """The frames with nothing to answer but a parse error, each as the first message after
    `initialize` of a server of its own: each server still answers a hover within 2 s."""
    from .test_hostile_messages import UNANSWERABLE

    frames = [*UNANSWERABLE, *((what, raw(body)) for what, body in NOT_JSON)]
    recovered: list[str] = []
    for number, (what, payload) in enumerate(frames):
        folder = tmp_path / str(number)
        folder.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-m", "pattern_memory", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            env={**os.environ, "PATTERN_MEMORY_DB_PATH": str(folder / "p.db")},
        )
        try:
            assert process.stdout is not None
            initialize(process, process.stdout)
            send(process, payload)
            if hover_answers(process, process.stdout, 1):
                recovered.append(what)
        finally:
            process.kill()
            process.wait()
    print(
        f"\nfresh servers: {len(frames)} started, one hostile frame each, "
        f"{len(recovered)} answered a hover within 2 s afterwards"
    )
    assert len(recovered) == len(frames), sorted({w for w, _ in frames} - set(recovered))
