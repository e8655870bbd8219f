#!/usr/bin/env python3
"""Material for generalized templates in a replay's learning stores: fixes of one shape.

For each repository's learning store that `bench_replay.py --work DIR --json FILE` left, this
counts the groups of flaggable bug-fix patterns (as the editor's finder judges them: a bug
fix, not from test code, not withheld, not a fix that left its before-code standing, not a
site of a mass edit) from at least MIN_SUPPORT distinct commits that share a non-empty
abstract edit (matching/prepared.py's; an empty one changes names or literals only), and of
those: the groups whose members also share a template skeleton (matching/generalize.py: the
only ones it anti-unifies) and the generalized templates anti_unify makes of them, with
why the others give none (generalize.Refusal). Then the
replay's test fixes: how many have a hunk (-U3, as mined) whose abstract edit is a group's,
or a generalized template's group's.

Usage: python scripts/bench/replay_groups.py --work DIR --json FILE [--show 3]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_replay as replay

from pattern_memory.languages import normalize_language
from pattern_memory.matching.generalize import (
    MIN_SUPPORT,
    Generalized,
    Member,
    Refusal,
    anti_unify,
    refusal,
)
from pattern_memory.matching.generalize import skeleton as template_skeleton
from pattern_memory.matching.prepared import prepare, prepare_edit
from pattern_memory.matching.template import FixTemplate
from pattern_memory.matching.withheld import CommitEdits, abstract_edit, is_test_path

Edit = tuple[str, tuple[str, ...]]  # (language, abstract edit)


@dataclass(frozen=True)
class Fix:
    pattern_id: str
    commit: str
    date: str
    path: str
    subject: str
    template: FixTemplate


def flaggable_fixes(db: Path) -> tuple[int, dict[Edit, list[Fix]]]:
    """(patterns in the store, the flaggable bug fixes by abstract edit)."""
    connection = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    rows = list(
        connection.execute(
            "SELECT pattern_id, before_code, after_code, language, commit_msg, file_path, "
            "commit_sha, date, problem_type, retired, reverted_by FROM patterns"
        )
    )
    connection.close()
    by_commit: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
    for row in rows:
        before, after, language, path, commit = row[1], row[2], row[3], row[5], row[6]
        edit = prepare_edit(before, after, normalize_language(language)).edit
        by_commit[commit].append((edit, path))
    mass = {commit: CommitEdits.of(edits) for commit, edits in by_commit.items()}
    groups: dict[Edit, list[Fix]] = defaultdict(list)
    for pid, before, after, raw, message, path, commit, date, kind, retired, reverted in rows:
        if kind != "bug_fix" or retired or reverted or is_test_path(path):
            continue
        language = normalize_language(raw)
        ready = prepare(before, after, language, message)
        template = ready.flaggable
        if template is None or template.left_standing or mass[commit].is_mass(ready.edit):
            continue
        subject = message.strip().split("\n", 1)[0][:70]
        groups[(language, ready.edit)].append(Fix(pid, commit, date, path, subject, template))
    return len(rows), groups


def commits(fixes: list[Fix]) -> int:
    return len({fix.commit for fix in fixes})


def shown(edit: tuple[str, ...]) -> str:
    return " ".join(edit).replace("\x00", "")


def test_fix_edits(clone: Path, fix: dict[str, Any]) -> set[Edit]:
    paths = {document["path"] for document in fix["documents"]}
    found: set[Edit] = set()
    for _, diffs in replay.log_diffs(clone, "-1", fix["commit"], context=3):
        for diff in diffs:
            if diff.old_path not in paths:
                continue
            language = normalize_language(replay.language_of(diff.old_path or "") or "")
            for hunk in diff.hunks:
                before, after = "\n".join(hunk.old_side), "\n".join(hunk.new_side)
                found.add((language, abstract_edit(before, after, language)))
    return found


def examine(folder: Path, repository: dict[str, Any], show: int) -> None:
    total, by_edit = flaggable_fixes(folder / "patterns.db")
    groups = {
        key: fixes for key, fixes in by_edit.items() if key[1] and commits(fixes) >= MIN_SUPPORT
    }
    sizes = Counter(commits(fixes) for fixes in groups.values())
    shaped: dict[tuple[Edit, object], list[Fix]] = defaultdict(list)
    for key, fixes in groups.items():
        for fix in fixes:
            shaped[(key, template_skeleton(fix.template))].append(fix)
    shaped = {key: fixes for key, fixes in shaped.items() if commits(fixes) >= MIN_SUPPORT}
    general: dict[Edit, Generalized] = {}
    # Why each group gives no generalized template: no two commits of one skeleton, or the
    # refusal of its subgroups of one skeleton.
    why: Counter[str] = Counter()
    for (key, _), fixes in shaped.items():
        members = [Member(f.pattern_id, f.commit, f.date, f.template) for f in fixes]
        made = anti_unify(members)
        if made is not None:
            general[key] = made
        else:
            why[(refusal(members) or Refusal.SAME).name] += 1
    why[Refusal.SKELETON.name] += len(groups.keys() - {key for key, _ in shaped})
    flaggable = sum(len(fixes) for fixes in by_edit.values())
    print(
        f"{repository['name']}: {total} patterns, {flaggable} flaggable bug fixes; "
        f"{len(groups)} groups of >= {MIN_SUPPORT} commits with one abstract edit "
        f"(commits per group: {dict(sorted(sizes.items()))}); {len(shaped)} of one skeleton; "
        f"{len(general)} generalized templates; refused: {dict(why.most_common())}"
    )
    biggest = sorted(groups.items(), key=lambda item: -commits(item[1]))[:show]
    for (_, edit), fixes in biggest:
        print(f"  edit {shown(edit)!r}: {commits(fixes)} commits")
        for fix in fixes[:3]:
            before = " ".join(t.text for t in fix.template.before_tokens)[:90]
            print(f"    {fix.commit[:8]} {fix.date[:10]} {fix.path} {fix.subject!r}: {before}")
    for key, made in general.items():
        holes = [made.template.before_tokens[i].text for i in sorted(made.generalized)]
        print(f"  generalized {shown(key[1])!r}: support {made.support}, holes at {holes}")
    group_hits, general_hits = [], []
    for fix in repository["fixes"]:
        edits = test_fix_edits(folder / "clone", fix)
        if edits & groups.keys():
            group_hits.append(fix["commit"][:8])
        if edits & general.keys():
            general_hits.append(fix["commit"][:8])
    print(
        f"  test fixes {len(repository['fixes'])}: a group's edit {len(group_hits)} "
        f"{group_hits}, a generalized template's {len(general_hits)} {general_hits}",
        flush=True,
    )


def main() -> None:
    parser = replay.outputs_parser(__doc__ or "")
    parser.add_argument("--show", type=int, default=3, help="the largest groups to print")
    args = parser.parse_args()
    try:
        results = json.loads(args.json.read_text(encoding="utf-8"))["repositories"]
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(f"replay_groups: cannot read {args.json}: {error}") from None
    for repository in results:
        folder = args.work / re.sub(r"[^\w.-]", "-", repository["name"])
        if not (folder / "patterns.db").exists():
            print(f"{repository['name']}: no store under {args.work}: skipped")
            continue
        examine(folder, repository, args.show)


if __name__ == "__main__":
    main()
