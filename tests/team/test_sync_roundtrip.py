"""`pattern-memory sync` between two local stores through the real team server (FastAPI on
a real PostgreSQL with pgvector, tests/team/conftest.py): push from one, pull into the other,
feedback back, offline then online behind the same URL, and the CLI itself."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pattern_memory.memory.embedder import FastEmbedEmbedder
from pattern_memory.memory.filters import Scope
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.team_store import team_owner
from pattern_memory.memory.types import Outcome
from pattern_memory.mining.scrub import pseudonym
from pattern_memory.patterns import Pattern, PatternSource, ProblemType, make_pattern_id
from pattern_memory.settings import Settings
from pattern_memory.team.client import TeamAuthError, TeamClient
from pattern_memory.team.sync import sync

SECRET = "ghp_Cg9A1c3aCIedwfjgMD1ZFiD3BXG7CvUq5YSD"


def fix(
    message: str, before: str, after: str, *, path: str = "/home/alice/src/app/db.py"
) -> Pattern:
    return Pattern(
        pattern_id=make_pattern_id(message, before, after),
        problem_type=ProblemType.BUG_FIX,
        before_code=before,
        after_code=after,
        commit_msg=message,
        author="alice@example.com",
        date="2024-03-01 12:00:00",
        confidence=0.9,
        commit="0123456789abcdef0123456789abcdef01234567",
        file_path=path,
        language="python",
        repository="/home/alice/src/app",
    )


ALICE_FIXES = [
    fix(
        "fix: close the cursor\n\nSigned-off-by: Alice <alice@example.com>",
        "cur = conn.cursor()\ncur.execute(sql)\n",
        "with conn.cursor() as cur:\n    cur.execute(sql)\n",
    ),
    fix(
        "fix: timeout on requests",
        "requests.get(url)\n",
        f"requests.get(url, timeout=10, headers={{'Authorization': 'token {SECRET}'}})\n",
    ),
    fix("fix: none check", "if x == None:\n    pass\n", "if x is None:\n    pass\n"),
]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> FastEmbedEmbedder:
    model = FastEmbedEmbedder(cache_root=tmp_path_factory.mktemp("model-cache"))
    model.load()
    return model


class Switch:
    """A TCP forwarder in front of the team server: the same URL, switched off and on."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.up = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()  # the connection drops: what a dead server or network gives
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def switch(team_server: Any) -> Iterator[Switch]:
    port = int(team_server.url.rsplit(":", 1)[1])
    forwarder = Switch(port)
    yield forwarder
    forwarder.close()


def open_store(
    tmp_path: Path, embedder: FastEmbedEmbedder, user: str, **kw: object
) -> PatternMemory:
    settings = dataclasses.replace(Settings(db_path=tmp_path / f"{user}.db", user_id=user), **kw)
    return PatternMemory.open(settings, embedder)


def test_push_pull_feedback_and_offline_then_online(
    team_server: Any, switch: Switch, tmp_path: Path, embedder: FastEmbedEmbedder
) -> None:
    team = team_server
    alice_key = team.key("alice", "acme")
    bob_key = team.key("bob", "acme")
    url = switch.url
    alice = open_store(tmp_path, embedder, "alice", anonymize_authors=True)
    bob = open_store(tmp_path, embedder, "bob", include_team=True)
    try:
        alice.add_patterns(ALICE_FIXES)
        with TeamClient(url, alice_key) as client:
            first = sync(alice, client)
            again = sync(alice, client)
        assert (first.pushed, first.merged, first.offline) == (3, 0, None)
        assert (again.pushed, again.merged, again.pulled, again.votes) == (0, 0, 0, 0)
        assert first.own == 3  # her own patterns came back from the team: not duplicated
        assert alice.stats().patterns == 3

        # What left Alice's machine: no secret, no address, no home directory.
        with team.client(alice_key) as http:
            shared = http.get("/patterns", params={"limit": 100}).json()["patterns"]
        text = json.dumps(shared)
        assert SECRET not in text and "alice@example.com" not in text
        assert pseudonym("alice@example.com") in text
        assert "/home/alice" not in text
        assert {p["file_path"] for p in shared} == {"app/db.py"}
        assert {p["repository"] for p in shared} == {"app"}

        # Bob pulls them as the team's.
        with TeamClient(url, bob_key) as client:
            pulled = sync(bob, client)
        assert (pulled.pulled, pulled.updated, pulled.pushed) == (3, 0, 0)
        hits = bob.search("close the cursor after executing sql")
        assert hits and hits[0].stored.pattern.source is PatternSource.TEAM
        # Bob's copy keeps the fix's commit and date (the share's moment is its evidence).
        assert hits[0].stored.pattern.date == "2024-03-01 12:00:00"
        assert hits[0].stored.pattern.commit == "0123456789abcdef0123456789abcdef01234567"
        team_id = hits[0].stored.pattern.pattern_id
        origin = bob.team_sync.origins([team_id])[team_id]
        assert (origin.created_by, origin.contributors) == ("alice", ("alice",))
        assert SECRET not in json.dumps([h.stored.pattern.after_code for h in hits])
        alone_settings = dataclasses.replace(bob.settings, include_team=False)
        with PatternMemory.open(alone_settings, embedder) as alone:
            assert alone.get(team_id) is None  # only with includeTeam

        # Feedback back: Bob's rating reaches the server once, then comes back as its count.
        bob.record_outcome(team_id, Outcome.HELPFUL)
        with TeamClient(url, bob_key) as client:
            rated = sync(bob, client)
            rated_again = sync(bob, client)
        assert (rated.votes, rated.updated) == (1, 1)
        assert rated_again.votes == 0 and rated_again.updated == 0
        remote = next(p for p in shared if p["id"] == origin.remote_id)
        with team.client(alice_key) as http:
            now = http.get(f"/patterns/{remote['id']}").json()
        assert (now["success_count"], now["failure_count"]) == (1, 0)
        stored = bob.get(team_id)
        assert stored is not None and (stored.lifecycle.success_count, stored.lifecycle.uses) == (
            1,
            1,
        )

        # Offline: Bob's new pattern and changed vote wait; nothing is lost; exit status 0.
        bob.add_patterns([fix("fix: strip input", "name = raw\n", "name = raw.strip()\n")])
        bob.record_outcome(team_id, Outcome.NOT_HELPFUL)
        switch.up = False
        with TeamClient(url, bob_key, sleep=lambda _s: None) as client:
            offline = sync(bob, client)
        assert offline.offline and "cannot reach" in offline.offline
        assert (offline.waiting_patterns, offline.waiting_votes) == (1, 1)
        assert "wait for the next sync" in offline.summary()

        switch.up = True
        with TeamClient(url, bob_key) as client:
            online = sync(bob, client)
        assert (online.pushed, online.votes, online.offline) == (1, 1, None)
        assert (online.waiting_patterns, online.waiting_votes) == (0, 0)
        with team.client(bob_key) as http:
            now = http.get(f"/patterns/{remote['id']}").json()
        assert (now["success_count"], now["failure_count"]) == (0, 1)  # replaced, not added

        # Alice gets Bob's pattern; her own are still not duplicated.
        with TeamClient(url, alice_key) as client:
            back = sync(alice, client)
        assert back.pulled == 1 and alice.stats().patterns == 3
        everything = alice.store.counts.counts(Scope("alice", include_team=True))
        assert everything["by_source"] == {"git": 3, "team": 1}
        assert bob.store.meta("schema_version") == "0012_pattern_templates"
        assert team_owner(url).startswith("team@")
    finally:
        alice.close()
        bob.close()


def test_a_pattern_deleted_on_the_server_leaves_the_stores_that_pulled_it(
    team_server: Any, tmp_path: Path, embedder: FastEmbedEmbedder
) -> None:
    """Tombstones: push from Alice, pull into Bob, delete on the server, sync again: Bob's
    team copy is gone (once; incremental with the same cursor). A tombstone never removes
    anyone's own pattern: not Alice's, whose pushed pattern it was, nor Bob's own copy of a
    change the team also had."""
    team = team_server
    url = team.url
    alice_key, bob_key = team.key("alice", "tomb"), team.key("bob", "tomb")
    admin_key = team.key("root", "tomb", admin=True)
    cursor_fix, timeout_fix, none_fix = ALICE_FIXES
    alice = open_store(tmp_path, embedder, "alice")
    bob = open_store(tmp_path, embedder, "bob", include_team=True)
    try:
        alice.add_patterns([cursor_fix, timeout_fix])
        bob.add_patterns([none_fix])  # Bob's own, shared too: the team has it from him
        with TeamClient(url, alice_key) as client:
            assert sync(alice, client).pushed == 2
        with TeamClient(url, bob_key) as client:
            first = sync(bob, client)
        assert (first.pushed, first.pulled, first.removed) == (1, 2, 0)
        team_ids = {o.remote_id: pid for pid, o in bob.team_sync.all_origins().items()}
        assert len(team_ids) == 2

        with team.client(alice_key) as http:
            shared = http.get("/patterns", params={"limit": 100}).json()["patterns"]
        by_message = {p["commit_msg"].split("\n")[0]: p["id"] for p in shared}
        gone = by_message["fix: close the cursor"]
        bobs = by_message["fix: none check"]
        with team.client(alice_key) as http:
            assert http.delete(f"/patterns/{gone}").status_code == 204
        with team.client(admin_key) as http:
            assert http.delete(f"/patterns/{bobs}").status_code == 204

        with TeamClient(url, bob_key) as client:
            second = sync(bob, client)
            third = sync(bob, client)
        assert (second.removed, second.pulled, second.updated) == (1, 0, 0)
        assert "removed 1 the team deleted" in second.summary()
        assert (third.removed, third.pulled) == (0, 0)  # idempotent, from the saved cursor
        assert bob.get(team_ids[gone]) is None
        assert team_ids[gone] not in bob.team_sync.all_origins()
        assert not [
            h
            for h in bob.search("close the cursor")
            if h.stored.pattern.pattern_id == team_ids[gone]
        ]
        remaining = bob.team_sync.all_origins()
        assert [o.remote_id for o in remaining.values()] == [by_message["fix: timeout on requests"]]
        # Bob's own pattern stays his, though the team's copy of it was deleted; nor is it
        # pushed again (the deletion is the team's say on what it shares).
        assert bob.get(none_fix.pattern_id) is not None
        assert bob.store.counts.counts(Scope("bob", include_team=True))["by_source"] == {
            "git": 1,
            "team": 1,
        }
        assert third.pushed == 0 and third.waiting_patterns == 0

        with TeamClient(url, alice_key) as client:
            back = sync(alice, client)
        assert (back.removed, back.pushed) == (0, 0)
        assert alice.get(cursor_fix.pattern_id) is not None  # her own, still hers
    finally:
        alice.close()
        bob.close()


def test_another_teams_key_sees_nothing_and_a_wrong_key_is_one_line(
    team_server: Any, tmp_path: Path, embedder: FastEmbedEmbedder
) -> None:
    team = team_server
    eve = open_store(tmp_path, embedder, "eve", include_team=True)
    try:
        with TeamClient(team.url, team.key("eve", "other")) as client:
            report = sync(eve, client)
        assert (report.pulled, report.pushed) == (0, 0)
        with TeamClient(team.url, "pm_not_a_key") as client, pytest.raises(TeamAuthError):
            sync(eve, client)
    finally:
        eve.close()


def test_the_cli_syncs_with_a_saved_key_and_exits_0_offline(
    team_server: Any, switch: Switch, tmp_path: Path
) -> None:
    team = team_server
    env = {**os.environ, "PATTERN_MEMORY_CONFIG": str(tmp_path / "none.yaml")}
    db = tmp_path / "cli.db"
    key = team.key("carol", "acme")

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pattern_memory", *args],
            check=False,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    wrong = cli("team", "login", "--url", switch.url, "--key-stdin", stdin="pm_wrong\n")
    assert wrong.returncode == 2 and "refused the API key" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    login = cli("team", "login", "--url", switch.url, "--key-stdin", stdin=key + "\n")
    assert login.returncode == 0, login.stderr
    key_file = Path(env["XDG_CONFIG_HOME"]) / "pattern-memory" / "team-keys.json"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "none.yaml").exists()  # nothing written to the settings

    done = cli("sync", "--url", switch.url, "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["offline"] is None and report["pulled"] >= 0

    switch.up = False
    offline = cli("sync", "--url", switch.url, "--db", str(db))
    switch.up = True
    assert offline.returncode == 0, offline.stderr
    assert "warning: offline" in offline.stderr and "Traceback" not in offline.stderr

    nokey = cli("sync", "--url", "http://127.0.0.1:9", "--db", str(db))
    assert nokey.returncode == 2 and "team login" in nokey.stderr
