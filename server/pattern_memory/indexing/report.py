"""What one indexing run did and learned (the CLI and the language server report it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class IndexReport:
    """What one `index_repository` run did and learned."""

    repository: str
    commits_read: int = 0
    commits_total: int = 0
    patterns_added: int = 0
    duplicates: int = 0
    forgotten: int = 0  # changes the user forgot earlier, not learned again
    reverts: int = 0  # commits read that revert others (their patterns are not offered)
    embedded: int = 0
    embedded_from_cache: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    # New patterns per rule that classified their commit: "keyword" (the seed's),
    # "conventional type", "fix intent", "failure", "security", "typo" (mining/classify.py).
    by_rule: Counter[str] = field(default_factory=Counter)
    by_file: Counter[str] = field(default_factory=Counter)
    head: str | None = None  # None: the repository has no commits yet (nothing to learn)
    up_to_date: bool = False
    cancelled: bool = False
    seconds: float = 0.0
