"""Git history -> patterns (see docs/architecture.md for the contract)."""

from .miner import MinedCommit, MineOptions, head_commit, mine_commits
from .scrub import ScrubResult, pseudonym, scrub_text

__all__ = [
    "MineOptions",
    "MinedCommit",
    "ScrubResult",
    "head_commit",
    "mine_commits",
    "pseudonym",
    "scrub_text",
]
