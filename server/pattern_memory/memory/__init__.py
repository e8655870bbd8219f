"""Local pattern memory: SQLite store, embeddings, hybrid search and lifecycle, behind the
`PatternMemory` facade (memory/service.py).

Names are imported on first use, so that importing a submodule does not load NumPy,
SQLite and the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lifecycle import Outcome
    from .metrics import Metrics
    from .service import PatternMemory
    from .types import SearchHit, StoredPattern

_EXPORTS = {
    "Metrics": "metrics",
    "Outcome": "lifecycle",
    "PatternMemory": "service",
    "SearchHit": "types",
    "StoredPattern": "types",
}

__all__ = [
    "Metrics",
    "Outcome",
    "PatternMemory",
    "SearchHit",
    "StoredPattern",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
