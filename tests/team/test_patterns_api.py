"""The /patterns routes against a real server on a real PostgreSQL: the seed's curl lines as
written, miner JSONL uploads, dedupe and merge, ranking, feedback, sync pages, search."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from pattern_memory.patterns import Pattern, ProblemType, dump_jsonl_line, solution_hash
from pattern_memory.team.models import (
    BulkResult,
    FeedbackResult,
    Health,
    PatternList,
    PatternOut,
    PatternWriteResult,
)

SEED_ID = "123e4567-e89b-12d3-a456-426614174000"


@pytest.fixture(scope="module")
def keys(team_server):  # type: ignore[no-untyped-def]
    return {
        "alice": team_server.key("alice", "core", admin=True),
        "bob": team_server.key("bob", "core"),
    }


def curl(line: str, key: str, port_url: str) -> tuple[int, str]:
    """Run one of the seed's curl lines as written, with a real key and this server's port."""
    line = line.replace("your-api-key", key).replace("http://localhost:8000", port_url)
    args = shlex.split(line)
    assert args[0] == "curl"
    done = subprocess.run(
        [*args, "-s", "-w", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


def upload(client, before: str, after: str, **extra: object) -> PatternWriteResult:  # type: ignore[no-untyped-def]
    response = client.post(
        "/patterns",
        json={"problem_type": "bug_fix", "code_before": before, "code_after": after, **extra},
    )
    assert response.status_code in (200, 201), response.text
    return PatternWriteResult.model_validate(response.json())


def test_the_seed_curl_lines_work_as_written(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    key = keys["alice"]
    code, body = curl(
        """curl -X POST -H "X-API-Key: your-api-key" \
  -H "Content-Type: application/json" \
  -d '{"problem_type": "bug_fix", "code_before": "...", "code_after": "..."}' \
  "http://localhost:8000/patterns" """,
        key,
        team_server.url,
    )
    assert code in (200, 201), body
    created = PatternWriteResult.model_validate_json(body)
    assert created.pattern.created_by == "alice"
    # The seed's feedback line names a fixed id: the team holds a pattern with that id.
    team_server.sql(
        "INSERT INTO patterns (id, team_id, problem_type, solution_hash, code_before,"
        " code_after, created_by) SELECT %s, id, 'bug_fix', %s, 'a', 'b', 'alice'"
        " FROM teams WHERE name = 'core'",
        (SEED_ID, solution_hash("a", "b")),
    )
    code, body = curl(
        """curl -X POST -H "X-API-Key: your-api-key" \
  -H "Content-Type: application/json" \
  -d '{"helpful": true}' \
  "http://localhost:8000/patterns/123e4567-e89b-12d3-a456-426614174000/feedback" """,
        key,
        team_server.url,
    )
    assert code == 200, body
    assert FeedbackResult.model_validate_json(body).success_count == 1
    code, body = curl(
        """curl -H "X-API-Key: your-api-key" \
  "http://localhost:8000/patterns?problem_type=bug_fix&limit=20" """,
        key,
        team_server.url,
    )
    assert code == 200
    listed = PatternList.model_validate_json(body)
    assert (listed.page, listed.per_page) == (1, 20)
    assert SEED_ID in [p.id for p in listed.patterns]
    assert set(json.loads(body)) >= {"patterns", "total", "page", "per_page"}
    code, body = curl('curl "http://localhost:8000/health"', key, team_server.url)
    assert code == 200
    assert json.loads(body) == {"status": "healthy", "version": "1.0.0", "database": "connected"}
    Health.model_validate_json(body)


def test_a_miner_jsonl_line_uploads_unchanged_as_the_seeds_loop_sends_it(
    team_server, keys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pattern = Pattern(
        pattern_id="a1b2c3d4e5f6a7b8",
        problem_type=ProblemType.BUG_FIX,
        before_code="def total(xs):\n    return sum(xs) / len(xs)\n",
        after_code="def total(xs):\n    return sum(xs) / len(xs) if xs else 0\n",
        commit_msg="fix: division by zero on empty list",
        author="dev@example.com",
        date="2024-03-15 10:30:00",
        confidence=0.85,
        commit="0123456789abcdef0123456789abcdef01234567",
        language="python",
        repository="demo",
        file_path="src/stats.py",
    )
    lines = tmp_path / "patterns.jsonl"
    lines.write_text(dump_jsonl_line(pattern))
    with team_server.client(keys["bob"]) as client, open(lines) as f:
        for line in f:
            response = client.post("/patterns", json=json.loads(line))
            assert response.status_code == 201, response.text
    got = PatternWriteResult.model_validate(response.json()).pattern
    assert got.solution_hash == pattern.solution_hash
    assert (got.language, got.repository, got.file_path) == ("python", "demo", "src/stats.py")
    assert got.commit_msg == "fix: division by zero on empty list"
    assert got.confidence == 0.85
    # The commit it was mined from: a teammate's copy names the fix's, not the upload's.
    assert got.commit == pattern.commit
    assert got.committed_at is not None
    assert got.committed_at.isoformat() == "2024-03-15T10:30:00+00:00"
    with team_server.client(keys["bob"]) as client:
        bad = client.post("/patterns", json={**json.loads(line), "date": "last tuesday"})
        assert bad.status_code == 422 and "date" in bad.text


def test_the_same_fix_from_two_members_is_one_pattern(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["alice"]) as alice, team_server.client(keys["bob"]) as bob:
        first = upload(alice, "x = d['k']", "x = d.get('k')", commit_msg="fix: KeyError")
        assert first.created
        # Bob's copy differs only in trailing white space and line endings: same hash.
        second = bob.post(
            "/patterns",
            json={
                "problem_type": "bug_fix",
                "code_before": "x = d['k']  \r\n",
                "code_after": "x = d.get('k')",
            },
        )
        assert second.status_code == 200
        merged = PatternWriteResult.model_validate(second.json())
        assert (merged.created, merged.id) == (False, first.id)
        assert merged.pattern.created_by == "alice"
        assert merged.pattern.created_at == first.pattern.created_at
        assert merged.pattern.contributors == ["alice", "bob"]
        assert merged.pattern.updated_at > first.pattern.updated_at
        # Bob pushing it again changes nothing (a sync retry is idempotent).
        again = PatternWriteResult.model_validate(
            bob.post(
                "/patterns",
                json={
                    "problem_type": "bug_fix",
                    "code_before": "x = d['k']",
                    "code_after": "x = d.get('k')",
                },
            ).json()
        )
        assert again.pattern.updated_at == merged.pattern.updated_at
        assert again.pattern.contributors == ["alice", "bob"]
    assert team_server.sql("SELECT upload_count FROM patterns WHERE id = %s", (first.id,)) == [(2,)]


def test_bulk_upload_reports_each_item_and_merges_duplicates(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    items = [
        {
            "problem_type": "bug_fix",
            "code_before": f"a{i} = 1",
            "code_after": f"a{i} = 2",
            "pattern_id": f"p{i}",
        }
        for i in range(3)
    ]
    items.append(dict(items[0], pattern_id="dup"))
    with team_server.client(keys["bob"]) as client:
        response = client.post("/patterns/bulk", json={"patterns": items})
        assert response.status_code == 200, response.text
        result = BulkResult.model_validate(response.json())
        assert (result.created, result.merged) == (3, 1)
        assert [r.client_pattern_id for r in result.results] == ["p0", "p1", "p2", "dup"]
        assert result.results[3].id == result.results[0].id
        # All or nothing: one bad item refuses the whole request.
        bad = client.post("/patterns/bulk", json={"patterns": [*items, {"code_before": "x"}]})
        assert bad.status_code == 422
        assert "patterns.4" in bad.json()["detail"]


def test_feedback_counts_once_per_user_and_ranks(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["alice"]) as alice, team_server.client(keys["bob"]) as bob:
        low = upload(alice, "rank_low()", "rank_low(1)", repository="ranking")
        high = upload(alice, "rank_high()", "rank_high(1)", repository="ranking")
        newest = upload(alice, "rank_new()", "rank_new(1)", repository="ranking")
        for _ in range(3):  # the same user voting again counts once
            votes = bob.post(f"/patterns/{high.id}/feedback", json={"helpful": True})
        assert FeedbackResult.model_validate(votes.json()).model_dump() | {} == {
            "pattern_id": high.id,
            "helpful": True,
            "replaced": True,
            "success_count": 1,
            "failure_count": 0,
        }
        alice.post(f"/patterns/{high.id}/feedback", json={"helpful": True})
        # A changed vote replaces the first.
        changed = FeedbackResult.model_validate(
            bob.post(f"/patterns/{low.id}/feedback", json={"helpful": True}).json()
        )
        assert changed.success_count == 1
        changed = FeedbackResult.model_validate(
            bob.post(f"/patterns/{low.id}/feedback", json={"helpful": False}).json()
        )
        assert (changed.replaced, changed.success_count, changed.failure_count) == (True, 0, 1)
        listed = PatternList.model_validate(
            alice.get("/patterns", params={"repository": "ranking"}).json()
        )
        # success_count first, then the most recently changed (low's vote came last).
        assert [p.id for p in listed.patterns] == [high.id, low.id, newest.id]
        assert listed.patterns[0].success_count == 2


def test_filters_text_query_and_page_bounds(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["alice"]) as client:
        upload(
            client,
            "open(path)",
            "open(path, encoding='utf-8')",
            language="python",
            repository="filters",
            commit_msg="fix: read files as utf-8",
        )
        upload(
            client,
            "var x = 1",
            "let x = 1",
            language="javascript",
            repository="filters",
            problem_type="feature_addition",
        )
        got = PatternList.model_validate(
            client.get("/patterns", params={"repository": "filters", "language": "python"}).json()
        )
        assert [p.language for p in got.patterns] == ["python"]
        got = PatternList.model_validate(
            client.get(
                "/patterns", params={"repository": "filters", "problem_type": "feature_addition"}
            ).json()
        )
        assert [p.code_after for p in got.patterns] == ["let x = 1"]
        got = PatternList.model_validate(
            client.get("/patterns", params={"q": "utf", "repository": "filters"}).json()
        )
        assert got.total == 1
        paged = PatternList.model_validate(
            client.get("/patterns", params={"repository": "filters", "limit": 1, "page": 2}).json()
        )
        assert (paged.total, len(paged.patterns), paged.page, paged.per_page) == (2, 1, 2, 1)
        for params in (
            {"limit": 0},
            {"limit": 101},
            {"page": 0},
            {"limit": "x"},
            {"problem_type": "nope"},
        ):
            response = client.get("/patterns", params=params)
            assert response.status_code == 422, params
            assert set(response.json()) == {"detail"}


def test_sync_mode_pages_changes_in_a_stable_order(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["alice"]) as client:
        start = client.get(
            "/patterns", params={"updated_since": "2000-01-01T00:00:00Z", "limit": 100}
        )
        seen = [p.id for p in PatternList.model_validate(start.json()).patterns]
        made = [
            upload(client, f"sync_{i}()", f"sync_{i}(True)", repository="sync") for i in range(5)
        ]
        cursor, pulled = None, []
        first = PatternList.model_validate(
            client.get(
                "/patterns",
                params={"updated_since": "2000-01-01T00:00:00Z", "limit": 2, "repository": "sync"},
            ).json()
        )
        pulled += first.patterns
        cursor = first.next_cursor
        assert first.has_more and cursor
        while True:
            page = PatternList.model_validate(
                client.get(
                    "/patterns", params={"cursor": cursor, "limit": 2, "repository": "sync"}
                ).json()
            )
            pulled += page.patterns
            if page.next_cursor:
                cursor = page.next_cursor
            if not page.has_more:
                break
        assert [p.id for p in pulled] == [m.id for m in made]
        # Nothing new: an empty page, the cursor stays the client's.
        empty = PatternList.model_validate(
            client.get("/patterns", params={"cursor": cursor}).json()
        )
        assert (empty.patterns, empty.next_cursor, empty.has_more) == ([], None, False)
        # Feedback changes a pattern: it comes again after the cursor.
        client.post(f"/patterns/{made[1].id}/feedback", json={"helpful": True})
        again = PatternList.model_validate(
            client.get("/patterns", params={"cursor": cursor}).json()
        )
        assert [p.id for p in again.patterns] == [made[1].id]
        assert again.patterns[0].success_count == 1
        assert client.get("/patterns", params={"cursor": "garbage!"}).status_code == 422
    assert seen is not None


def test_semantic_search_finds_the_closest_fix(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["alice"]) as client:
        target = upload(
            client,
            "conn = connect(url)\nconn.query(q)",
            "with connect(url) as conn:\n    conn.query(q)",
            commit_msg="fix: close the database connection after the query",
            repository="search",
        )
        upload(
            client,
            "print 'hi'",
            "print('hi')",
            commit_msg="fix: python 3 print function",
            repository="search",
        )
        upload(
            client,
            "items.sort()",
            "items = sorted(items, key=str.lower)",
            commit_msg="fix: case-insensitive sort order",
            repository="search",
        )
        got = PatternList.model_validate(
            client.get(
                "/patterns/search",
                params={"q": "database connection left open", "repository": "search"},
            ).json()
        )
        assert got.patterns[0].id == target.id
        assert client.get("/patterns/search").status_code == 422


def test_get_and_delete(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    with team_server.client(keys["alice"]) as alice, team_server.client(keys["bob"]) as bob:
        mine = upload(bob, "del_me()", "del_me(1)")
        assert PatternOut.model_validate(alice.get(f"/patterns/{mine.id}").json()).id == mine.id
        alices = upload(alice, "keep_me()", "keep_me(1)")
        assert bob.delete(f"/patterns/{alices.id}").status_code == 403
        assert bob.delete(f"/patterns/{mine.id}").status_code == 204
        assert alice.get(f"/patterns/{mine.id}").status_code == 404
        assert alice.delete(f"/patterns/{alices.id}").status_code == 204
        assert alice.get("/patterns/not-a-uuid").status_code == 404


def test_secrets_are_scrubbed_on_the_server(team_server, keys) -> None:  # type: ignore[no-untyped-def]
    secret = "AKIA" + "IOSFODNN7EXAMPLE"
    with team_server.client(keys["alice"]) as client:
        got = upload(
            client,
            f"key = '{secret}'",
            "key = os.environ['AWS_KEY']",
            commit_msg=f"fix: drop {secret}",
        )
    stored = team_server.sql(
        "SELECT code_before, commit_msg FROM patterns WHERE id = %s", (got.id,)
    )
    assert secret not in repr(stored)
    assert secret not in got.pattern.code_before
    assert got.solution_hash == solution_hash(got.pattern.code_before, got.pattern.code_after)
