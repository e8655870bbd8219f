"""`index` learns the fixes the seed's keywords miss (MineOptions.extended_classifier) and
says by which rule; `extract` keeps the seed's rules, byte for byte."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pattern_memory.cli import main
from pattern_memory.cli.indexing import describe_index
from pattern_memory.indexing import index_repository
from pattern_memory.memory.service import PatternMemory
from pattern_memory.mining import MineOptions, mine_commits
from pattern_memory.mining.classify import classify_for_index, rule_family
from pattern_memory.settings import Settings
from tests.fakes import HashEmbedder
from tests.gitrepo import RepoBuilder

PATHS_V1 = """import os


def safe_join(directory, *pathnames):
    parts = [directory]
    for filename in pathnames:
        if filename != "":
            filename = os.path.normpath(filename)
        if os.path.isabs(filename) or filename.startswith(".."):
            return None
        parts.append(filename)
    return os.path.join(*parts)
"""
PATHS_V2 = PATHS_V1.replace(
    '        if os.path.isabs(filename) or filename.startswith(".."):\n',
    "        if (\n"
    "            os.path.isabs(filename)\n"
    '            or filename.startswith("..")\n'
    '            or filename.upper() in ("CON", "NUL", "AUX", "PRN")\n'
    "        ):\n",
)
COMMENT = "# Join a path safley below a directory.\n"
PATHS_V3 = PATHS_V2.replace("def safe_join(", COMMENT + "def safe_join(")
PATHS_V4 = PATHS_V3.replace("safley", "safely")
KEYWORDLESS_FIX = "safe_join prevents windows special device names"


def _history(repo_builder: RepoBuilder) -> dict[str, str]:
    return {
        "feature": repo_builder.commit("Add safe_join", {"app/paths.py": PATHS_V1}),
        "keywordless": repo_builder.commit(KEYWORDLESS_FIX, {"app/paths.py": PATHS_V2}),
        "comment": repo_builder.commit("Add a comment to safe_join", {"app/paths.py": PATHS_V3}),
        "typo_in_comment": repo_builder.commit("Fix typo in comments", {"app/paths.py": PATHS_V4}),
    }


def test_the_extended_classifier_mines_the_keywordless_fix(repo_builder: RepoBuilder) -> None:
    commits = _history(repo_builder)
    seed = {m.hexsha: m for m in mine_commits(repo_builder.path, MineOptions())}
    extended = {
        m.hexsha: m for m in mine_commits(repo_builder.path, MineOptions(extended_classifier=True))
    }

    assert seed[commits["keywordless"]].patterns == []  # the seed's keywords miss it
    assert seed[commits["keywordless"]].classification is None
    fix = extended[commits["keywordless"]]
    assert [p.problem_type.value for p in fix.patterns] == ["bug_fix"]
    assert "CON" in fix.patterns[0].after_code
    assert fix.classification is not None
    assert fix.classification.reason == "fix intent 'prevents' in subject"

    # A typo fix in comments is a docs change for index, a bug fix for the seed.
    assert [p.problem_type.value for p in seed[commits["typo_in_comment"]].patterns] == ["bug_fix"]
    assert extended[commits["typo_in_comment"]].patterns == []


def test_extract_keeps_the_seeds_rules(
    repo_builder: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    commits = _history(repo_builder)
    assert main(["extract", "--repo-path", str(repo_builder.path), "--output", "-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert commits["keywordless"] not in {line["commit"] for line in lines}
    assert [(line["commit"], line["problem_type"]) for line in lines] == [
        (commits["feature"], "feature_addition"),
        (commits["comment"], "feature_addition"),
        (commits["typo_in_comment"], "bug_fix"),
    ]


def test_index_learns_the_keywordless_fix_and_reports_its_rule(
    repo_builder: RepoBuilder, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    commits = _history(repo_builder)
    settings = Settings(db_path=tmp_path / "data" / "patterns.db")
    memory = PatternMemory.open(settings, hash_embedder)
    try:
        report = index_repository(memory, repo_builder.path)
        learned = {p.commit: p for p in memory.iter_patterns()}
    finally:
        memory.close()

    assert learned[commits["keywordless"]].problem_type.value == "bug_fix"
    # The rule is not stored, but the stored message gives it back.
    stored_message = learned[commits["keywordless"]].commit_msg
    assert rule_family(classify_for_index(stored_message)) == "fix intent"
    assert commits["typo_in_comment"] not in learned
    assert report.by_type == Counter({"feature_addition": 2, "bug_fix": 1})
    assert report.by_rule == Counter({"keyword": 2, "fix intent": 1})
    summary = describe_index(report, [], str(settings.db_path))
    assert "  by rule: keyword: 2, fix intent: 1" in summary.splitlines()
