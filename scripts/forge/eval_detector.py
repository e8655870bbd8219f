"""Held-out precision and recall of the forge detector, and how well it extracts.

    python scripts/forge/eval_detector.py [--detector learned|regex] [--show-errors]

Reads the corpus's held-out split (data/forge/answers.jsonl, never used in training) and
the hand-written answers (data/forge/handwritten.jsonl, held out too), runs the detector
that forging uses (assist/forge.find_fixes) and prints, per set: answer-level precision and
recall; for detected fixes, whether the solution names the fix, and for fixes with code on
both sides, whether before/after are the right blocks in the right order.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import ANSWERS, HANDWRITTEN, CachedEmbedder, load

from pattern_memory.assist.detect import detect_fixes
from pattern_memory.assist.forge import find_fixes


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9_]{3,}", text.lower()))


def evaluate(name: str, answers: list[dict[str, Any]], detect: Any, show: bool) -> None:
    tp = fp = fn = 0
    solution_ok = code_total = code_ok = 0
    for answer in answers:
        fixes = detect(answer["text"], answer.get("request"))
        gold = bool(answer["label"])
        if fixes and gold:
            tp += 1
            fix = fixes[0]
            said = _words(fix.solution + " " + fix.after_code)
            options = [_words(answer.get(k) or "") for k in ("solution", "solution_alt")]
            code_right = bool(answer.get("after")) and answer["after"].strip() in fix.after_code
            if code_right or any(
                not words or len(words & said) >= max(1, len(words) // 2) for words in options
            ):
                solution_ok += 1
            elif show:
                print(f"  [solution] {answer['id']}: {fix.solution!r} vs {answer['solution']!r}")
            if answer.get("before") and answer.get("after"):
                code_total += 1
                right = (fix.before_code.strip(), fix.after_code.strip()) == (
                    answer["before"].strip(),
                    answer["after"].strip(),
                )
                code_ok += right
                if show and not right:
                    print(f"  [pairing] {answer['id']}: {fix.before_code!r} -> {fix.after_code!r}")
        elif fixes:
            fp += 1
            if show:
                print(f"  [false positive] {answer['id']}: {answer['text'][:160]!r}")
        elif gold:
            fn += 1
            if show:
                print(f"  [missed] {answer['id']}: {answer['text'][:160]!r}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(
        f"{name}: {len(answers)} answers ({tp + fn} state a fix): precision {precision:.3f}, "
        f"recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn}); solution named {solution_ok}/{tp}; "
        f"before/after paired {code_ok}/{code_total}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", choices=["learned", "regex"], default="learned")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--train", action="store_true", help="also score the training split")
    args = parser.parse_args()
    if args.detector == "regex":
        detect = detect_fixes
    else:
        embedder = CachedEmbedder()

        def detect(text: str, request: str | None) -> Any:
            return find_fixes(embedder, text, request)

    corpus = load(ANSWERS)
    evaluate("held-out", [a for a in corpus if a["split"] == "heldout"], detect, args.show_errors)
    if HANDWRITTEN.exists():
        evaluate("hand-written", load(HANDWRITTEN), detect, args.show_errors)
    if args.train:
        evaluate("train", [a for a in corpus if a["split"] == "train"], detect, False)
    if args.detector == "learned":
        embedder.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
