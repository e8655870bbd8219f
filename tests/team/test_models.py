"""The team API's request models: the seed's body, a real miner JSONL line, refusals."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pattern_memory.patterns import Pattern, ProblemType, dump_jsonl_line
from pattern_memory.team.models import MAX_BULK_ITEMS, BulkIn, PatternIn, RollbackIn


def test_seed_body_is_accepted() -> None:
    body = PatternIn.model_validate(
        {"problem_type": "bug_fix", "code_before": "...", "code_after": "..!"}
    )
    assert (body.code_before, body.code_after) == ("...", "..!")


def test_a_miner_jsonl_line_is_accepted_unchanged() -> None:
    pattern = Pattern(
        pattern_id="a1b2c3d4e5f6a7b8",
        problem_type=ProblemType.BUG_FIX,
        before_code="return None + 1",
        after_code="return 1",
        commit_msg="fix: handle None",
        author="dev@example.com",
        date="2024-03-15 10:30:00",
        confidence=0.85,
        language="python",
        repository="demo",
    )
    body = PatternIn.model_validate(json.loads(dump_jsonl_line(pattern)))
    assert (body.code_before, body.code_after) == ("return None + 1", "return 1")
    assert body.pattern_id == "a1b2c3d4e5f6a7b8"


@pytest.mark.parametrize(
    "data",
    [
        {"problem_type": "bug_fix", "code_before": "a", "code_after": "b", "admin": True},
        {"problem_type": "bug_fix", "code_before": "a"},
        {"problem_type": "nonsense", "code_before": "a", "code_after": "b"},
        {"problem_type": "bug_fix", "code_before": " ", "code_after": ""},
    ],
)
def test_bad_pattern_bodies_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PatternIn.model_validate(data)


def test_bulk_size_is_bounded() -> None:
    item = {"code_before": "a", "code_after": "b"}
    BulkIn.model_validate({"patterns": [item] * MAX_BULK_ITEMS})
    with pytest.raises(ValidationError):
        BulkIn.model_validate({"patterns": [item] * (MAX_BULK_ITEMS + 1)})


def test_rollback_body_may_be_empty() -> None:
    assert RollbackIn.model_validate({}).version_id is None
