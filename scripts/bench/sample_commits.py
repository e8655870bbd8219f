#!/usr/bin/env python3
"""Draw the commit samples that `scripts/bench/data/commit_labels.tsv` labels (kept so that
each draw can be repeated and checked).

Per repository, with a fixed seed: --random commits drawn uniformly from all non-merge
commits (the stratum "random": an unbiased view of the history), then --missed more drawn
from the non-merge commits that the seed's keywords leave `unknown` (the stratum "missed":
where the fixes the seed does not learn are, and where a wider classifier can be wrong). The
missed stratum is drawn with the seed's rules only, so it does not depend on the extended
classifier that it measures.

The two draws in the labels file:
  tuning   python scripts/bench/sample_commits.py                       (seed 20261202, 20 + 16)
  holdout  python scripts/bench/sample_commits.py --seed 7 --random 8 --missed 6 \
               --exclude scripts/bench/data/commit_labels.tsv
The extended rules were chosen looking at the tuning draw (and at subjects across the whole
histories); the holdout draw was made and labelled after they were frozen.

Prints `repository<TAB>sha<TAB>stratum` lines; labels are added by reading each diff.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

from pattern_memory.mining.classify import classify_message
from pattern_memory.patterns import ProblemType

REPOSITORIES = (
    "pallets/jinja",
    "encode/httpx",
    "pypa/pip",
    "pydantic/pydantic",
    "expressjs/express",
    "spf13/cobra",
    "pallets/click",
    "psf/requests",
    "pallets/flask",
)
RANDOM_PER_REPO = 20
MISSED_PER_REPO = 16
SEED = 20261202


def git_dir(mirror_root: Path, repository: str) -> Path:
    return mirror_root / repository.replace("/", "+") / "repo"


def commit_messages(repo: Path) -> dict[str, str]:
    """sha -> full message of every non-merge commit reachable from HEAD."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", "--format=%H%x00%B%x1e", "HEAD"],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8", "replace")
    messages: dict[str, str] = {}
    for record in out.split("\x1e"):
        sha, sep, message = record.strip("\n").partition("\x00")
        if sep:
            messages[sha] = message
    return messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--seed", default=str(SEED))
    parser.add_argument("--random", type=int, default=RANDOM_PER_REPO)
    parser.add_argument("--missed", type=int, default=MISSED_PER_REPO)
    parser.add_argument(
        "--exclude", type=Path, help="a labels file whose commits are not drawn again"
    )
    args = parser.parse_args()
    excluded: set[str] = set()
    if args.exclude is not None:
        lines = args.exclude.read_text(encoding="utf-8").splitlines()[1:]
        excluded = {line.split("\t")[1] for line in lines if line.strip()}
    for repository in REPOSITORIES:
        repo = git_dir(args.mirror_root, repository)
        if not repo.is_dir():
            print(f"skipped {repository}: no git dir at {repo}", file=sys.stderr)
            continue
        messages = commit_messages(repo)
        # Sorted: the draw does not depend on git's log order.
        shas = sorted(sha for sha in messages if sha not in excluded)
        rng = random.Random(f"{args.seed}:{repository}")
        picked = rng.sample(shas, args.random)
        missed = [
            sha
            for sha in shas
            if sha not in picked
            and classify_message(messages[sha]).problem_type is ProblemType.UNKNOWN
        ]
        for sha in picked:
            print(f"{repository}\t{sha}\trandom")
        for sha in rng.sample(missed, args.missed):
            print(f"{repository}\t{sha}\tmissed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
