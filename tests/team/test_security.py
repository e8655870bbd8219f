"""Who may do what: a uniform 401 (missing, wrong, revoked key), another team's patterns and
adapters answer 404 on every route, members may not delete others' patterns, activate or
roll back (403); body and page limits; error bodies are one line with no paths."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pattern_memory.team.db import connect
from pattern_memory.team.keys import revoke_key
from pattern_memory.team.models import MAX_BODY_BYTES

ANY_ID = "123e4567-e89b-12d3-a456-426614174000"
ROUTES = [
    ("GET", "/patterns", None),
    ("GET", "/patterns/search?q=x", None),
    ("GET", f"/patterns/{ANY_ID}", None),
    ("POST", "/patterns", {"problem_type": "bug_fix", "code_before": "a", "code_after": "b"}),
    ("POST", "/patterns/bulk", {"patterns": [{"code_before": "a", "code_after": "b"}]}),
    ("POST", f"/patterns/{ANY_ID}/feedback", {"helpful": True}),
    ("DELETE", f"/patterns/{ANY_ID}", None),
    ("GET", "/adapters", None),
    ("POST", "/adapters/merge", {"inputs": [ANY_ID, ANY_ID]}),
    ("POST", f"/adapters/{ANY_ID}/activate", None),
    ("POST", "/adapters/rollback", {}),
]


@pytest.fixture(scope="module")
def keys(team_server):  # type: ignore[no-untyped-def]
    made = {
        "core_admin": team_server.key("ann", "core", admin=True),
        "core_member": team_server.key("ben", "core"),
        "other_admin": team_server.key("cat", "other", admin=True),
        "other_member": team_server.key("dan", "other"),
        "revoked": team_server.key("eve", "core", admin=True),
    }

    async def revoke() -> None:
        async with connect(team_server.database_url) as conn:
            await revoke_key(conn, made["revoked"])

    asyncio.run(revoke())
    return made


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_a_missing_wrong_or_revoked_key_gets_the_same_401(
    team_server, keys, method, path, body
) -> None:  # type: ignore[no-untyped-def]
    good = keys["core_admin"]
    wrong_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    answers = []
    for key in (None, "", "nonsense", wrong_secret, keys["revoked"]):
        with team_server.client(key) as client:
            response = client.request(method, path, json=body)
        answers.append((response.status_code, response.json()))
    assert answers == [(401, {"detail": "invalid or missing API key"})] * 5


def test_another_teams_patterns_answer_404_on_every_route(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with (
        team_server.client(keys["core_member"]) as core,
        team_server.client(keys["other_admin"]) as other,
    ):
        made = core.post(
            "/patterns", json={"code_before": "team_only()", "code_after": "team_only(1)"}
        ).json()
        pid = made["id"]
        for method, path, body in [
            ("GET", f"/patterns/{pid}", None),
            ("POST", f"/patterns/{pid}/feedback", {"helpful": False}),
            ("DELETE", f"/patterns/{pid}", None),
        ]:
            response = other.request(method, path, json=body)
            assert response.status_code == 404, (method, path)
            assert response.json() == {"detail": "no such pattern"}
        listed = other.get("/patterns").json()
        assert pid not in [p["id"] for p in listed["patterns"]]
        assert pid not in [
            p["id"]
            for p in other.get(
                "/patterns", params={"updated_since": "2000-01-01T00:00:00Z"}
            ).json()["patterns"]
        ]
        assert pid not in [
            p["id"]
            for p in other.get("/patterns/search", params={"q": "team only"}).json()["patterns"]
        ]
        # The same fix uploaded by the other team is the other team's own pattern.
        theirs = other.post(
            "/patterns", json={"code_before": "team_only()", "code_after": "team_only(1)"}
        )
        assert theirs.status_code == 201
        assert theirs.json()["id"] != pid
        assert theirs.json()["pattern"]["contributors"] == ["cat"]
        # Nothing of it changed for the first team.
        assert core.get(f"/patterns/{pid}").json()["failure_count"] == 0


def test_members_may_not_delete_others_patterns_activate_or_roll_back(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with (
        team_server.client(keys["core_admin"]) as admin,
        team_server.client(keys["core_member"]) as member,
    ):
        pid = admin.post(
            "/patterns", json={"code_before": "admins()", "code_after": "admins(1)"}
        ).json()["id"]
        response = member.delete(f"/patterns/{pid}")
        assert response.status_code == 403
        assert "admin" in response.json()["detail"]
        assert member.post("/adapters/rollback").status_code == 403
        assert member.post("/adapters/merge", json={"inputs": [ANY_ID, ANY_ID]}).status_code == 404
        assert admin.get(f"/patterns/{pid}").status_code == 200


def test_oversize_bodies_get_413_and_unknown_fields_422(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["core_admin"]) as client:
        big = b'{"code_before": "' + b"x" * (MAX_BODY_BYTES + 10) + b'", "code_after": "y"}'
        response = client.post(
            "/patterns", content=big, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json() == {"detail": "request body too large"}

        def chunks():  # type: ignore[no-untyped-def]
            yield b'{"code_before": "'
            for _ in range(9):
                yield b"x" * (1024 * 1024)
            yield b'", "code_after": "y"}'

        response = client.post(
            "/patterns", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        response = client.post(
            "/patterns", json={"code_before": "a", "code_after": "b", "is_admin": True}
        )
        assert response.status_code == 422
        assert "is_admin" in response.json()["detail"]
        response = client.post(
            "/patterns", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert set(response.json()) == {"detail"}


def test_a_bad_content_length_is_refused_cleanly(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    host, port = team_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /patterns HTTP/1.1\r\nHost: x\r\nX-API-Key: "
            + keys["core_admin"].encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}"
        )
        head = sock.recv(200)
    assert head.startswith(b"HTTP/1.1 413")
