"""Precision and recall of the outcome classifier (assist/outcome.py) on the labelled
replies in tests/assist/data/outcome_replies.tsv.

    python scripts/eval/eval_outcome.py [--show-errors]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pattern_memory.assist.outcome import ReplyOutcome, reply_outcome

DATA = Path(__file__).resolve().parents[2] / "tests" / "assist" / "data" / "outcome_replies.tsv"


def load(path: Path = DATA) -> list[tuple[ReplyOutcome, str]]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        cases.append((ReplyOutcome(label), text.replace("\\n", "\n")))
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    cases = load()
    predicted = [reply_outcome(text) for _, text in cases]
    print(f"{len(cases)} labelled replies")
    for label in (ReplyOutcome.WORKED, ReplyOutcome.FAILED):
        tp = sum(p == label and g == label for (g, _), p in zip(cases, predicted, strict=True))
        fp = sum(p == label and g != label for (g, _), p in zip(cases, predicted, strict=True))
        fn = sum(p != label and g == label for (g, _), p in zip(cases, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(
            f"{label.value:>7}: precision {precision:.2f}  recall {recall:.2f}"
            f"  ({tp + fn} labelled)"
        )
    # An outcome recorded for the wrong verdict, the costly error (a failure reinforced).
    swapped = sum(
        {g, p} == {ReplyOutcome.WORKED, ReplyOutcome.FAILED}
        for (g, _), p in zip(cases, predicted, strict=True)
    )
    print(f"swapped verdicts: {swapped}")
    if args.show_errors:
        for (gold, text), guess in zip(cases, predicted, strict=True):
            if gold != guess:
                print(f"  {gold.value} -> {guess.value}: {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
