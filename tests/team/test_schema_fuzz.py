"""Property-based fuzzing of every operation in the team server's own OpenAPI schema
(schemathesis): the real app under uvicorn on a real PostgreSQL with pgvector (pgserver),
called with a valid member key. Valid (positive) and invalid (negative) inputs for every
operation; no case may answer 5xx, and every response must match the schema (a documented
status code, content type, headers and body)."""

from __future__ import annotations

import collections
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from .conftest import TeamServer

# Cases per operation and mode: 13 operations, 2 modes, this many each: about 1,300 cases near a
# minute on two shared cores (the embedding model answers every write and search).
MAX_EXAMPLES = 50
SEED_OPERATIONS = {
    "GET /health",
    "GET /patterns",
    "POST /patterns",
    "POST /patterns/bulk",
    "GET /patterns/search",
    "GET /patterns/{pattern_id}",
    "DELETE /patterns/{pattern_id}",
    "POST /patterns/{pattern_id}/feedback",
    "GET /adapters",
    "POST /adapters",
    "POST /adapters/merge",
    "POST /adapters/{version_id}/activate",
    "POST /adapters/rollback",
}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _seed_patterns(team_server: TeamServer, key: str) -> None:
    """A few real patterns so that ids, feedback and deletes can meet rows too."""
    with team_server.client(key) as client:
        for n in range(3):
            client.post(
                "/patterns",
                json={
                    "problem_type": "bug_fix",
                    "code_before": f"x = value_{n}",
                    "code_after": f"x = value_{n} or 0",
                },
            ).raise_for_status()


def _fuzz(
    operation: Any, mode: GenerationMode, url: str, key: str, cases: collections.Counter[str]
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        cases[f"{operation.label} ({mode.value})"] += 1
        case.call_and_validate(base_url=url, headers={"X-API-Key": key}, checks=CHECKS)

    try:
        fuzz()
    except Unsatisfiable:
        # An operation with no inputs (GET /health, GET /adapters) has nothing to make
        # invalid; its positive cases ran.
        if mode is not GenerationMode.NEGATIVE:
            raise


def test_every_operation_fuzzed(team_server: TeamServer) -> None:
    key = team_server.key("fuzzer", "fuzz-team")
    _seed_patterns(team_server, key)
    schema = schemathesis.openapi.from_url(f"{team_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # Every route of the seed's API is in the schema, so every one is fuzzed.
    assert {op.label for op in operations} >= SEED_OPERATIONS
    cases: collections.Counter[str] = collections.Counter()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, team_server.url, key, cases)

    print(f"\nschemathesis: {sum(cases.values())} cases over {len(operations)} operations")
    for label, count in sorted(cases.items()):
        print(f"  {count:4d}  {label}")


def test_what_the_fuzzer_found_answers_4xx(team_server: TeamServer) -> None:
    """Found by the fuzzing above (both answered 500): a body that is not UTF-8, and a NUL
    character PostgreSQL cannot store, in a filter or in an upload."""
    key = team_server.key("fuzzer-regressions", "fuzz-team")
    with team_server.client(key) as client:
        for path in ("/patterns", "/patterns/bulk"):
            answer = client.post(
                path, content=b"\xc3", headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json() == {"detail": "There was an error parsing the body"}
        answer = client.get("/patterns", params={"repository": "a\x00b"})
        assert answer.status_code == 422, answer.text
        answer = client.get("/patterns", params={"updated_since": "2026-01-01", "q": "\x00"})
        assert answer.status_code == 422, answer.text
        answer = client.post(
            "/patterns",
            json={"problem_type": "bug_fix", "code_before": "a\x00", "code_after": "b"},
        )
        assert answer.status_code == 422, answer.text
        assert "NUL" in answer.json()["detail"]
