"""The sync client's HTTP layer against a real HTTP server on loopback that misbehaves on
purpose (503s with Retry-After, 401s, nothing listening), and the API key file."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pattern_memory.errors import InputError
from pattern_memory.team import credentials
from pattern_memory.team.client import (
    RetryPolicy,
    TeamAuthError,
    TeamClient,
    TeamError,
    TeamOffline,
)

HEALTHY = {"status": "healthy", "version": "1.0.0", "database": "connected"}


class Script:
    """What the server answers, one (status, body, headers) per request, then 200 HEALTHY."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object, dict[str, str]]] = []
        self.seen: list[tuple[str, str, str | None]] = []  # method, path, X-API-Key


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.seen.append(("GET", self.path, self.headers.get("X-API-Key")))
            status, body, headers = script.answers.pop(0) if script.answers else (200, HEALTHY, {})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def test_transient_answers_are_retried_with_backoff_and_retry_after(
    scripted: tuple[str, Script],
) -> None:
    url, script = scripted
    script.answers = [(503, {"detail": "busy"}, {"Retry-After": "2"}), (502, {}, {})]
    waits: list[float] = []
    script.answers.append((200, {"patterns": [], "total": 0, "page": 1, "per_page": 100}, {}))
    with TeamClient(url, "k-1", sleep=waits.append) as client:
        assert client.changes(None).total == 0
    assert len(script.seen) == 3 and all(key == "k-1" for *_, key in script.seen)
    assert waits[0] == 2.0  # the server's Retry-After
    assert 0 < waits[1] <= RetryPolicy().max_wait  # exponential with jitter
    assert "updated_since=1970" in script.seen[0][1]  # a first sync asks for everything


def test_a_503_from_health_is_an_answer_not_a_retry(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    down = {"status": "unhealthy", "version": "1.0.0", "database": "disconnected"}
    script.answers = [(503, down, {})]
    with TeamClient(url, None) as client:
        assert client.health().database == "disconnected"
    assert script.seen == [("GET", "/health", None)]


def test_a_server_that_keeps_failing_is_offline_after_the_attempts(
    scripted: tuple[str, Script],
) -> None:
    url, script = scripted
    script.answers = [(503, {}, {})] * 10
    waits: list[float] = []
    client = TeamClient(url, "k", retry=RetryPolicy(attempts=3), sleep=waits.append)
    with client, pytest.raises(TeamOffline, match="503 after 3 attempts"):
        client.changes(None)
    assert len(script.seen) == 3 and len(waits) == 2


def test_nothing_listening_is_offline_and_a_401_is_not_retried(
    scripted: tuple[str, Script],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    waits: list[float] = []
    client = TeamClient(f"http://127.0.0.1:{port}", "k", sleep=waits.append)
    with client, pytest.raises(TeamOffline, match="cannot reach"):
        client.health()
    assert len(waits) == RetryPolicy().attempts - 1

    url, script = scripted
    script.answers = [(401, {"detail": "invalid or missing API key"}, {})]
    client = TeamClient(url, "secret-key-123", sleep=waits.append)
    with client, pytest.raises(TeamAuthError, match="team login") as raised:
        client.changes("c")
    assert "secret-key-123" not in str(raised.value)
    assert len(script.seen) == 1


def test_a_cancel_ends_the_retries_at_once(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers = [(503, {}, {"Retry-After": "20"})] * 10
    cancel = threading.Event()
    slow = RetryPolicy(attempts=4, max_wait=20.0, total_seconds=120.0)
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with TeamClient(url, "k", retry=slow, cancel=cancel) as client, pytest.raises(TeamOffline):
        client.changes(None)
    assert time.monotonic() - started < 5.0  # not the 20 s backoff
    assert len(script.seen) == 1  # no attempt after the cancel


def test_a_server_that_is_not_the_team_api_is_named(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers = [(200, {"hello": "world"}, {})]
    with TeamClient(url, "k") as client, pytest.raises(TeamError, match="not the team API"):
        client.changes(None)


def test_login_keeps_the_key_owner_only_outside_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = credentials.save_key("https://team.example", "  pm_abc123  ")
    assert path.parent == Path(os.environ["XDG_CONFIG_HOME"]) / "pattern-memory"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (path.parent / "config.yaml").exists()
    assert credentials.resolve_key("https://team.example") == ("pm_abc123", str(path))
    assert credentials.resolve_key("https://other.example") == (None, "")
    monkeypatch.setenv(credentials.API_KEY_ENV, "pm_from_env")
    assert credentials.resolve_key("https://team.example")[0] == "pm_from_env"
    monkeypatch.delenv(credentials.API_KEY_ENV)

    os.chmod(path, 0o644)
    with pytest.raises(InputError, match="chmod 600"):
        credentials.resolve_key("https://team.example")
    os.chmod(path, 0o600)
    assert credentials.remove_key("https://team.example")
    assert credentials.resolve_key("https://team.example") == (None, "")
    with pytest.raises(InputError, match="does not look like"):
        credentials.save_key("https://team.example", "two words")
