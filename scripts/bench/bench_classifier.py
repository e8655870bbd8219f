#!/usr/bin/env python3
"""Precision and recall of the commit classifiers on real, hand-labelled commits: the seed's
keyword rules (`classify_message`, what `extract` uses) beside the extended rules of `index`
(`classify_for_index`), per repository and pooled.

The labels (`data/commit_labels.tsv`: repository, commit, draw, stratum, label, a short
reason) were set by reading each commit's diff: `fix` when the change corrects wrong
behaviour of the project's code, tests or build (a crash, a wrong result, a security hole, a
broken test, a wrong type hint), `not_fix` otherwise (features, refactors, docs and
comment wording, releases, dependency bumps, CI). The file holds no commit text: messages
are read at run time from local bare git dirs, `<mirror-root>/<owner>+<name>/repo`; a
repository that is not there is skipped with a line that says so. Commits were drawn with a
fixed seed (scripts/bench/sample_commits.py) in two strata per repository: `random`, drawn from all
non-merge commits (the unbiased estimate), and `missed`, drawn from the commits the seed's
keywords leave unknown (where the fixes the seed misses are, and where wider rules go wrong).
Two draws: `tuning` (the extended rules were chosen looking at it) and `holdout` (drawn and
labelled after the rules were frozen: the honest estimate of the extended rules).

A prediction is positive when the classifier says bug_fix; `ext-notypo` is the extended
rules with their "typo" family not counted. Precision = TP / (TP + FP),
recall = TP / (TP + FN).

`--mine owner/name ...` also mines those histories with each classifier (`mine_commits`,
MineOptions.extended_classifier off and on) and prints the bug-fix commits and patterns each
learns, by rule, and the time each run took.

Usage: python scripts/bench/bench_classifier.py [--mirror-root /work/.mirror] [--labels FILE]
       [--show-errors] [--mine pallets/jinja spf13/cobra ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pattern_memory.mining import MineOptions, mine_commits
from pattern_memory.mining.classify import (
    Classification,
    classify_for_index,
    classify_message,
    rule_family,
)
from pattern_memory.patterns import ProblemType

LABELS = Path(__file__).parent / "data" / "commit_labels.tsv"
Classifier = Callable[[str], Classification]


def _extended_without_typos(message: str) -> Classification:
    """The extended rules with the "typo" family not counted as a fix (index learns typo
    fixes, but the editor is to leave them out)."""
    decision = classify_for_index(message)
    if rule_family(decision) == "typo":
        return Classification(ProblemType.UNKNOWN, False, decision.reason)
    return decision


CLASSIFIERS: dict[str, Classifier] = {
    "seed": classify_message,
    "extended": classify_for_index,
    "ext-notypo": _extended_without_typos,
}


@dataclass(frozen=True)
class Labelled:
    repository: str
    commit: str
    draw: str  # "tuning" or "holdout"
    stratum: str  # "random" or "missed"
    is_fix: bool
    reason: str


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> str:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> str:
        return _ratio(self.tp, self.tp + self.fn)


@dataclass
class Scores:
    """One Tally per classifier, for one group of commits."""

    commits: int = 0
    fixes: int = 0
    tallies: dict[str, Tally] = field(default_factory=lambda: {n: Tally() for n in CLASSIFIERS})


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:6.1%}" if whole else "     -"


def read_labels(path: Path) -> list[Labelled]:
    rows: list[Labelled] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number == 1 or not line.strip():
            continue  # the header
        repository, commit, draw, stratum, label, reason = line.split("\t")
        if label not in ("fix", "not_fix"):
            raise SystemExit(f"{path}:{number}: label must be fix or not_fix, got {label!r}")
        rows.append(Labelled(repository, commit, draw, stratum, label == "fix", reason))
    return rows


def git_dir(mirror_root: Path, repository: str) -> Path:
    return mirror_root / repository.replace("/", "+") / "repo"


def read_messages(repo: Path, commits: Iterable[str]) -> dict[str, str]:
    """commit -> full message, in one `git log --no-walk` call."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-walk=unsorted", "--format=%H%x00%B%x1e", *commits],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8", "replace")
    messages: dict[str, str] = {}
    for record in out.split("\x1e"):
        commit, sep, message = record.strip("\n").partition("\x00")
        if sep:
            messages[commit] = message
    return messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument(
        "--show-errors", action="store_true", help="list the commits each classifier gets wrong"
    )
    parser.add_argument("--mine", nargs="*", default=[], metavar="OWNER/NAME")
    args = parser.parse_args()
    if args.mine:
        for repository in args.mine:
            mine_by_rule(git_dir(args.mirror_root, repository), repository)
        return 0
    labelled = read_labels(args.labels)
    by_repository: dict[str, list[Labelled]] = defaultdict(list)
    for row in labelled:
        by_repository[row.repository].append(row)

    # (repository or "pooled", draw or "all", stratum or "all")
    groups: dict[tuple[str, str, str], Scores] = defaultdict(Scores)
    families: dict[str, Counter[tuple[str, bool]]] = {n: Counter() for n in CLASSIFIERS}
    errors: list[str] = []
    skipped = 0
    for repository, rows in by_repository.items():
        repo = git_dir(args.mirror_root, repository)
        if not repo.is_dir():
            print(f"skipped {repository}: no git dir at {repo} ({len(rows)} labelled commits)")
            skipped += len(rows)
            continue
        messages = read_messages(repo, (row.commit for row in rows))
        for row in rows:
            message = messages.get(row.commit)
            if message is None:
                print(f"skipped {repository} {row.commit}: not in {repo}")
                skipped += 1
                continue
            keys = [
                (where, draw, stratum)
                for where in (repository, "pooled")
                for draw in (row.draw, "all")
                for stratum in (row.stratum, "all")
            ]
            for key in keys:
                groups[key].commits += 1
                groups[key].fixes += row.is_fix
            for name, classify in CLASSIFIERS.items():
                decision = classify(message)
                predicted = decision.problem_type is ProblemType.BUG_FIX
                for key in keys:
                    groups[key].tallies[name].add(predicted, row.is_fix)
                if predicted:
                    families[name][(rule_family(decision), row.is_fix)] += 1
                if predicted != row.is_fix:
                    kind = "FP" if predicted else "FN"
                    subject = message.strip().splitlines()[0][:70] if message.strip() else ""
                    errors.append(
                        f"  {name:8} {kind} {repository} {row.commit[:10]} [{decision.reason}]"
                        f" {subject!r} -- {row.reason}"
                    )

    _print_table(groups)
    print()
    for name, counter in families.items():
        print(f"{name}: positives by rule (correct / wrong)")
        for family in sorted({f for f, _ in counter}, key=lambda f: -counter[(f, True)]):
            print(f"  {family:20} {counter[(family, True)]:4} / {counter[(family, False)]}")
    if skipped:
        print(f"\n{skipped} labelled commit(s) skipped (repository or commit not present)")
    if args.show_errors:
        print("\nerrors:")
        print("\n".join(sorted(errors)))
    return 0


def mine_by_rule(repo: Path, repository: str) -> None:
    """Bug-fix commits / patterns that mining learns with each classifier, by rule."""
    if not repo.is_dir():
        print(f"skipped {repository}: no git dir at {repo}")
        return
    for extended in (False, True):
        started = time.perf_counter()
        commits: Counter[str] = Counter()
        patterns: Counter[str] = Counter()
        for mined in mine_commits(repo, MineOptions(extended_classifier=extended)):
            decision = mined.classification
            if decision is not None and decision.problem_type is ProblemType.BUG_FIX:
                commits[rule_family(decision)] += 1
                patterns[rule_family(decision)] += len(mined.patterns)
        rules = ", ".join(f"{r} {commits[r]} / {patterns[r]}" for r in sorted(commits))
        print(
            f"{repository:20} {'extended' if extended else 'seed':8} bug-fix commits / patterns"
            f" {sum(commits.values())} / {sum(patterns.values())}"
            f" ({time.perf_counter() - started:.1f} s): {rules}"
        )


def _print_table(groups: dict[tuple[str, str, str], Scores]) -> None:
    names = list(CLASSIFIERS)
    header = f"{'repository':20} {'draw':8} {'stratum':8} {'commits':>7} {'fixes':>5}"
    for name in names:
        header += f"  {name + ' P':>10} {name + ' R':>10}"
    print(header)
    repositories = sorted({r for r, _, _ in groups if r != "pooled"})
    rows = [(r, "all", s) for r in repositories for s in ("random", "missed", "all")]
    rows += [
        ("pooled", d, s) for d in ("tuning", "holdout", "all") for s in ("random", "missed", "all")
    ]
    for key in rows:
        scores = groups.get(key)
        if scores is None:
            continue
        line = f"{key[0]:20} {key[1]:8} {key[2]:8} {scores.commits:7} {scores.fixes:5}"
        for name in names:
            tally = scores.tallies[name]
            line += f"  {tally.precision:>10} {tally.recall:>10}"
        print(line)
    pooled = groups.get(("pooled", "all", "all"))
    if pooled is not None:
        print("\npooled, all strata, counts (TP / FP / FN / TN):")
        for name in names:
            t = pooled.tallies[name]
            print(f"  {name:8} {t.tp} / {t.fp} / {t.fn} / {t.tn}")


if __name__ == "__main__":
    sys.exit(main())
