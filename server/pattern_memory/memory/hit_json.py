"""The JSON shape of a stored pattern and of a search hit: camelCase keys, the same for the
language server's `patternMemory.search` / `get` answers and the CLI's `search --json`."""

from __future__ import annotations

from typing import Any

from .types import SearchHit, StoredPattern


def pattern_summary(stored: StoredPattern) -> dict[str, Any]:
    """A pattern with what its use has shown (success rate, uses)."""
    pattern = stored.pattern
    return {
        "patternId": pattern.pattern_id,
        "problemType": pattern.problem_type.value,
        "source": pattern.source.value,
        "commit": pattern.commit,
        "commitMsg": pattern.commit_msg,
        "author": pattern.author,
        "date": pattern.date,
        "confidence": pattern.confidence,
        "successRate": round(stored.success_rate, 4),
        "uses": stored.lifecycle.uses,
        "filePath": pattern.file_path,
        "beforeCode": pattern.before_code,
        "afterCode": pattern.after_code,
    }


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """A search hit: its score, the pattern, and the evidence that ranks it in time
    (stale / revertedBy say why the editor and injection would skip it)."""
    stored = hit.stored
    return {
        "score": round(hit.score, 4),
        **pattern_summary(stored),
        "evidenceCount": stored.evidence_count,
        "lastEvidence": stored.last_evidence,
        "stale": stored.stale,
        "revertedBy": stored.reverted_by,
    }
