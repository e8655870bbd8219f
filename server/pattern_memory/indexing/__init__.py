"""Indexing: mine a repository's history (mining), store the patterns and embed them
(memory). A layer above both, so that neither depends on the other.

Names are imported on first use, so that importing a submodule (the report, say) does not
load git, NumPy and SQLite.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .indexer import index_repository, repository_root
    from .report import IndexReport

_EXPORTS = {
    "IndexReport": "report",
    "index_repository": "indexer",
    "repository_root": "indexer",
}

__all__ = ["IndexReport", "index_repository", "repository_root"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
