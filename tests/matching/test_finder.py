"""The document analysis against a real store: which patterns become fixes, and where."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from pygls.workspace.position_codec import PositionCodec

from pattern_memory.assist.forge import forge_patterns
from pattern_memory.lsp.convert import document_language, locate
from pattern_memory.matching.finder import FixFinder
from pattern_memory.memory.service import PatternMemory
from pattern_memory.memory.types import Outcome
from pattern_memory.patterns import Pattern, ProblemType
from pattern_memory.settings import Settings
from tests.memory.memory_samples import make_pattern

BEFORE = "row = db.get(uid)\nreturn row['name']"
AFTER = "row = db.get(uid)\nif row is None:\n    return None\nreturn row['name']"
DOCUMENT = "def load(user_id):\n    record = db.get(user_id)\n    return record['name']\n"


def _pattern(name: str, kind: ProblemType, after: str = AFTER) -> Pattern:
    return make_pattern(f"{kind.value}: {name}", BEFORE, after, kind=kind, path="", commit="")


def _find(memory: PatternMemory, settings: Settings, finder: FixFinder) -> list[str]:
    fixes = finder.find(
        memory,
        settings,
        DOCUMENT,
        language="python",
        cancel=threading.Event(),
    )
    return [fix.stored.pattern.commit_msg for fix in fixes]


def test_only_trusted_bug_fixes_become_fixes(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    feature = _pattern("log rows", ProblemType.FEATURE_ADDITION, AFTER + "\nlog(row)")
    with PatternMemory.open(settings) as memory:
        memory.store.upsert(
            [(bug, bug.commit_msg), (feature, feature.commit_msg)], "local", "2099-01-01 00:00:00"
        )
        finder = FixFinder.create()
        assert _find(memory, settings, finder) == ["bug_fix: guard missing rows"]

        # Two failures bring its success rate under minSuccessRate: no longer offered.
        for _ in range(2):
            memory.record_outcome(bug.pattern_id, Outcome.NOT_HELPFUL)
        finder.store_changed()
        assert _find(memory, settings, finder) == []
    lenient = dataclasses.replace(settings, min_success_rate=0.0)
    with PatternMemory.open(lenient) as memory:
        finder.store_changed()
        assert _find(memory, lenient, finder) == ["bug_fix: guard missing rows"]


def test_fix_places_are_offsets_that_the_server_turns_into_client_ranges(
    tmp_path: Path,
) -> None:
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    with PatternMemory.open(settings) as memory:
        memory.store.upsert([(bug, bug.commit_msg)], "local", "2099-01-01 00:00:00")
        [found] = FixFinder.create().find(
            memory,
            settings,
            DOCUMENT,
            language="python",
            cancel=threading.Event(),
        )
    match = found.match
    assert DOCUMENT[match.start : match.end].startswith("record = ")
    assert DOCUMENT[match.replace_start : match.replace_end].strip()
    [fix] = locate([found], DOCUMENT, PositionCodec())
    assert (fix.range.start.line, fix.range.start.character) == (1, 4)
    assert (fix.range.end.line, fix.range.end.character) == (2, 25)
    assert (fix.edit_range.start.line, fix.edit_range.end.line) == (1, 3)
    assert fix.preferred
    assert "if record is None:" in fix.match.replacement


def test_a_pattern_only_fixes_documents_of_its_language(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    with PatternMemory.open(settings) as memory:
        memory.store.upsert([(bug, bug.commit_msg)], "local", "2099-01-01 00:00:00")
        finder = FixFinder.create()
        found = {
            language: [
                fix.pattern_id
                for fix in finder.find(
                    memory,
                    settings,
                    DOCUMENT,
                    language=language,
                    cancel=threading.Event(),
                )
            ]
            for language in ("python", "javascript", "")
        }
    # The same tokens in a JavaScript (or unknown) document: the Python fix is not offered.
    assert found == {"python": [bug.pattern_id], "javascript": [], "": []}


def test_document_languages_use_the_miners_names() -> None:
    assert document_language("file:///w/a.py", "python") == "python"
    assert document_language("file:///w/a.jsx", "javascriptreact") == "javascript"
    assert document_language("file:///w/a.tsx", "typescriptreact") == "typescript"
    assert document_language("file:///w/run", "sh") == "shell"
    assert document_language("file:///w/a.cs", "cs") == "csharp"
    # An id we do not know (or none): the file name decides.
    assert document_language("file:///w/a.pyi", "plaintext") == "python"
    assert document_language("file:///w/notes.txt", "") == ""


FORGE_CODE_BEFORE = "```python\naverage = sum(o.total for o in orders) / len(orders)\n```\n\n"
FORGE_FIX = (
    "The fix is to return zero when there are no orders:\n\n"
    "```python\naverage = sum(o.total for o in orders) / len(orders) if orders else 0.0\n```\n"
)
FORGE_DOCUMENT = (
    "def mean(invoices):\n    average = sum(o.total for o in invoices) / len(invoices)\n"
)


def test_forged_fixes_are_offered_only_when_both_sides_are_code(tmp_path: Path) -> None:
    code = "The problem was that the average divides by zero orders:\n\n" + FORGE_CODE_BEFORE
    prose = (
        "The problem was that the average divides by zero orders: average = sum(o.total "
        "for o in orders) / len(orders) fails for a new customer.\n\n"
    )
    found = {}
    for name, problem in (("code", code), ("prose", prose)):
        settings = Settings(db_path=tmp_path / f"{name}.db", similarity=0.0)
        with PatternMemory.open(settings) as memory:
            (pattern_id,) = forge_patterns(memory, problem + FORGE_FIX, "average crashes")
            stored = memory.get(pattern_id)
            assert stored is not None
            found[name] = (
                stored.pattern.language,
                [
                    fix.pattern_id
                    for fix in FixFinder.create().find(
                        memory,
                        settings,
                        FORGE_DOCUMENT,
                        language="python",
                        cancel=threading.Event(),
                    )
                ],
            )
    assert found["code"][0] == "python" and len(found["code"][1]) == 1
    assert found["prose"] == ("text", [])


def test_renamed_matches_answer_to_renamed_match_score_not_to_similarity(
    tmp_path: Path,
) -> None:
    """`similarity` is for text search and injection; how much of a renamed match must be
    verbatim is `renamedMatchScore`: neither tunes the other."""
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    base = Settings(db_path=tmp_path / "p.db", renamed_match_score=0.0)
    with PatternMemory.open(base) as memory:
        memory.store.upsert([(bug, bug.commit_msg)], "local", "2099-01-01 00:00:00")

        def scores(**changes: float) -> list[float]:
            settings = dataclasses.replace(base, **changes)
            found = FixFinder.create().find(memory, settings, DOCUMENT, language="python")
            return [fix.match.score for fix in found]

        [renamed] = scores()
        assert renamed < 1.0  # `row` -> `record`, `uid` -> `user_id`
        assert scores(similarity=1.0) == [renamed]
        assert scores(similarity=0.0, renamed_match_score=renamed) == [renamed]
        assert scores(similarity=0.0, renamed_match_score=min(1.0, renamed + 0.01)) == []


def test_while_its_own_indexer_writes_the_caller_decides_when_lookups_are_dropped(
    tmp_path: Path,
) -> None:
    """follow_store=False (the server while its indexer runs): a changed store keeps the
    cached lookups until store_changed(); by default a change is seen at the next find."""
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    with PatternMemory.open(settings) as memory:
        finder = FixFinder.create()

        def found(follow_store: bool) -> int:
            fixes = finder.find(
                memory, settings, DOCUMENT, language="python", follow_store=follow_store
            )
            return len(fixes)

        assert found(follow_store=True) == 0  # the empty store's lookups are now cached
        memory.store.upsert([(bug, bug.commit_msg)], "local", "2099-01-01 00:00:00")
        assert found(follow_store=False) == 0  # cached: the indexer refreshes on its schedule
        finder.store_changed()
        assert found(follow_store=False) == 1
        memory.forget(bug.pattern_id)
        assert found(follow_store=True) == 0  # by default a change is seen at once


def test_features_sharing_the_before_code_do_not_crowd_out_the_bug_fix(
    tmp_path: Path,
) -> None:
    """The finder asks the store for bug fixes only, in the candidate queries: 300 feature
    additions with the very same before-code (more than the store's candidate budget) do
    not push the one bug fix out."""
    settings = Settings(db_path=tmp_path / "p.db")
    bug = _pattern("guard missing rows", ProblemType.BUG_FIX)
    features = [
        dataclasses.replace(
            _pattern(f"log rows {n}", ProblemType.FEATURE_ADDITION, f"{AFTER}\nlog({n})"),
            date=f"2025-01-01 10:{n // 60:02d}:{n % 60:02d}",  # newer than the fix
        )
        for n in range(300)
    ]
    with PatternMemory.open(settings) as memory:
        memory.store.upsert(
            [(p, p.commit_msg) for p in [*features, bug]], "local", "2099-01-01 00:00:00"
        )
        found = FixFinder.create().find(memory, settings, DOCUMENT, language="python")
    assert [fix.pattern_id for fix in found] == [bug.pattern_id]
