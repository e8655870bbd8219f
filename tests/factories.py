"""Patterns made by hand for tests that store them directly (no history mined)."""

from __future__ import annotations

from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id


def python_change(
    name: str,
    before: str,
    after: str,
    *,
    kind: ProblemType = ProblemType.BUG_FIX,
    message: str | None = None,
    commit: str = "",
    file_path: str = "",
) -> Pattern:
    """A Python change named `name` (its id, and its message unless given), by one author
    on one date, with the mined confidence of a clear fix."""
    return Pattern(
        pattern_id=make_pattern_id(name, kind.value),
        problem_type=kind,
        before_code=before,
        after_code=after,
        commit_msg=message if message is not None else f"{kind.value}: {name}",
        author="dev@example.com",
        date="2024-05-01 10:00:00",
        confidence=0.8,
        commit=commit,
        file_path=file_path,
        language="python",
    )
