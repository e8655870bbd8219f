"""Outcome tracking: the user's next message says the fix worked, failed, or nothing."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from pattern_memory.assist.conversations import Verdict, judge_reply
from pattern_memory.assist.outcome import MAX_READ_CHARS, ReplyOutcome, reply_outcome

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval" / "eval_outcome.py"
CASES: list[tuple[ReplyOutcome, str]] = runpy.run_path(str(SCRIPT))["load"]()


def test_the_labelled_set_is_large_and_varied() -> None:
    labels = [label for label, _ in CASES]
    assert len(CASES) >= 60
    assert min(labels.count(label) for label in ReplyOutcome) >= 20


@pytest.mark.parametrize(("label", "text"), CASES, ids=[t[:40] for _, t in CASES])
def test_labelled_reply(label: ReplyOutcome, text: str) -> None:
    assert reply_outcome(text) is label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("that worked", Verdict.WORKED),
        ("that didn't work", Verdict.FAILED),
        ("that fixed the crash but the test still fails", Verdict.FAILED),
        ("can you also write a README?", None),
        ("", None),
    ],
)
def test_judge_reply_maps_outcomes(text: str, expected: Verdict | None) -> None:
    assert judge_reply(text) is expected


def test_only_the_start_of_a_long_reply_is_read() -> None:
    # A pasted log far down a reply is a new question's material, not an outcome.
    text = "Here is the other module I mentioned." + " filler" * MAX_READ_CHARS + " still failing"
    assert reply_outcome(text) is ReplyOutcome.NONE


def test_code_in_the_reply_is_not_read_as_prose() -> None:
    assert reply_outcome("Can you review this?\n```\nassert still_failing()\n```") is (
        ReplyOutcome.NONE
    )


def test_the_script_prints_precision_and_recall() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True
    ).stdout
    assert "worked: precision" in out and "failed: precision" in out
