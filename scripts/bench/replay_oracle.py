#!/usr/bin/env python3
"""Oracle retrieval for the replay bench: could any learned fix match where the human fixed?

bench_replay.py measures the editor end to end: a fix can be missed because the store's code
search did not bring the pattern up (retrieval), because the matcher did not locate it
(templates, anchors, holes, scores), or because the editor withholds it. This tool takes the
retrieval out: every pattern the editor may offer (a bug fix, not from test code, not
withheld; with --with-withheld the withheld ones too, each hit labelled with its reason) is
built into its template and located in every test-fix file at the fix's parent, directly.
It prints the matches that stand on lines the human changed, and the count of all matches
(a document where a template matches in more than MAX_SITES_PER_PATTERN places is left out,
as the editor does), so that a matching rule can be judged by what it gains on changed lines
against what it adds elsewhere, before the bench is run again.

It reads what `bench_replay.py --work DIR --json FILE` left: the clone and database of each
repository under DIR, and the test fixes in FILE. The knobs loosen the matcher: --score (the
least verbatim share of a renamed match; the editor's renamedMatchScore), --min-renamed
(tokens a template needs to be matched renamed), --context (tokens a template is widened to).

Usage: python scripts/bench/replay_oracle.py --work DIR --json FILE [--repo NAME]
       [--score 0.6] [--min-renamed 10] [--context 12] [--with-withheld]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_replay as replay

from pattern_memory.matching import (
    DocumentTokens,
    FixTemplate,
    build_template,
    find_matches,
    is_test_path,
    normalize_language,
    withheld_reason,
)
from pattern_memory.matching import match as match_module
from pattern_memory.matching import template as template_module
from pattern_memory.matching.finder import MAX_SITES_PER_PATTERN


@dataclass(frozen=True)
class Candidate:
    commit: str
    path: str
    subject: str
    withheld: str  # why the editor withholds it ("" when it may be offered)
    template: FixTemplate


def candidates(db: Path, with_withheld: bool) -> dict[str, list[Candidate]]:
    """Per language, the templates of the stored bug fixes the editor could offer."""
    connection = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    found: dict[str, list[Candidate]] = {}
    rows = connection.execute(
        "SELECT before_code, after_code, language, commit_msg, file_path, commit_sha "
        "FROM patterns WHERE problem_type = 'bug_fix' AND retired = 0"
    )
    for before, after, stored_language, message, path, commit in rows:
        language = normalize_language(str(stored_language)) or str(stored_language)
        if is_test_path(str(path)):
            continue
        reason = withheld_reason(str(before), str(after), language, str(message))
        if reason is not None and not with_withheld:
            continue
        template = build_template(str(before), str(after), language)
        if template is None:
            continue
        subject = str(message).strip().split("\n", 1)[0][:60]
        found.setdefault(language, []).append(
            Candidate(str(commit), str(path), subject, reason.name if reason else "", template)
        )
    connection.close()
    return found


def examine(work: Path, repository: dict[str, Any], args: argparse.Namespace) -> tuple[int, int]:
    """Print the matches on changed lines of one repository's fixes; (all matches, those)."""
    folder = work / re.sub(r"[^\w.-]", "-", repository["name"])
    clone = folder / "clone"
    started = time.perf_counter()
    by_language = candidates(folder / "patterns.db", args.with_withheld)
    print(
        f"{repository['name']}: {sum(map(len, by_language.values()))} templates "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    total = on_changed = 0
    for fix in repository["fixes"]:
        paths = {document["path"] for document in fix["documents"]}
        for _, diffs in replay.log_diffs(clone, "-1", fix["commit"]):
            for diff in diffs:
                path = diff.old_path or ""
                language = replay.language_of(path)
                if path not in paths or language is None:
                    continue
                language = normalize_language(language) or language
                text = replay.show(clone, f"{fix['commit']}^", path) or ""
                document = DocumentTokens.from_text(text, language)
                changed = set().union(*(hunk.changed_lines() for hunk in diff.hunks))
                for candidate in by_language.get(language, []):
                    matches = find_matches(
                        document, candidate.template, min_renamed_score=args.score
                    )
                    if len(matches) > MAX_SITES_PER_PATTERN:
                        continue
                    total += len(matches)
                    for found in matches:
                        first = text.count("\n", 0, found.start)
                        last = text.count("\n", 0, found.end)
                        if not changed & set(range(first, last + 1)):
                            continue
                        on_changed += 1
                        label = f" [{candidate.withheld}]" if candidate.withheld else ""
                        print(
                            f"  {fix['commit'][:8]} {path}:{first + 1} <- {candidate.commit[:8]} "
                            f"{candidate.path} {candidate.subject!r}{label}: {found.kind} "
                            f"{found.score:.2f}, {len(matches)} site(s)"
                        )
    print(f"  matches in the fix files {total}, on changed lines {on_changed}", flush=True)
    return total, on_changed


def main() -> None:
    parser = replay.outputs_parser(__doc__ or "")
    parser.add_argument("--repo", action="append", default=[], help="only these (names)")
    parser.add_argument("--score", type=float, default=0.6)
    parser.add_argument("--min-renamed", type=int, default=match_module.MIN_RENAMED_TOKENS)
    parser.add_argument("--context", type=int, default=template_module.PREFERRED_TEMPLATE_TOKENS)
    parser.add_argument("--with-withheld", action="store_true")
    args = parser.parse_args()
    # The knobs are module constants the matcher reads at call time.
    match_module.MIN_RENAMED_TOKENS = args.min_renamed
    template_module.PREFERRED_TEMPLATE_TOKENS = args.context
    try:
        results = json.loads(args.json.read_text(encoding="utf-8"))["repositories"]
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"replay_oracle: cannot read {args.json}: {error}") from None
    pooled = [0, 0]
    for repository in results:
        if args.repo and repository["name"] not in args.repo:
            continue
        if not (args.work / re.sub(r"[^\w.-]", "-", repository["name"])).is_dir():
            print(f"{repository['name']}: no working folder under {args.work}: skipped")
            continue
        total, on_changed = examine(args.work, repository, args)
        pooled[0] += total
        pooled[1] += on_changed
    print(f"pooled: matches {pooled[0]}, on changed lines {pooled[1]}")


if __name__ == "__main__":
    main()
