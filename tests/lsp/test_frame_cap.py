"""A frame declaring a huge Content-Length is refused and the server keeps serving
(pygls would reserve the declared length first: MemoryError, OverflowError, or a stall)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_message(stdout: IO[bytes], deadline: float) -> dict[str, Any]:
    length = 0
    while True:
        assert time.monotonic() < deadline, "no answer in time"
        line = stdout.readline()
        assert line, "the server closed its output"
        if line.startswith(b"Content-Length:"):
            length = int(line.split(b":")[1])
        elif line == b"\r\n" and length:
            answer: dict[str, Any] = json.loads(stdout.read(length))
            return answer


def answer_to(stdout: IO[bytes], msg_id: int, seconds: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        message = read_message(stdout, deadline)
        if message.get("id") == msg_id and "method" not in message:
            return message


@pytest.mark.parametrize("declared", [2**60, 64 * 2**30, 10**30, 4 * 2**30, 64 * 2**20 + 1])
def test_a_huge_content_length_is_refused_and_the_server_keeps_serving(
    tmp_path: Path, declared: int
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "pattern_memory", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        hostile = (
            b'Content-Length: %d\r\n\r\n{"jsonrpc": "2.0", "id": 99, "method": "x"}' % declared
        )
        server.stdin.write(hostile)
        server.stdin.write(
            frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": None, "capabilities": {}},
                }
            )
        )
        server.stdin.flush()
        assert "result" in answer_to(server.stdout, 1, seconds=20.0)
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.flush()
        assert answer_to(server.stdout, 2) == {"jsonrpc": "2.0", "id": 2, "result": None}
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        server.stdin.close()
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.stderr is not None
    assert b"refused a frame declaring Content-Length %d" % declared in server.stderr.read()
