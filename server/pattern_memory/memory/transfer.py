"""Export and import with each pattern's lifecycle: the seed's JSONL line plus a "lifecycle"
object (counts, uses, last use, when it was learned, retired), so that a round trip through
a file loses nothing. Lines without "lifecycle" (the seed's plain format) import as new
patterns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO, Any

from ..fileio import atomic_text_writer
from ..patterns import Pattern, read_jsonl_lines
from .lifecycle import Lifecycle
from .types import StoredPattern

LIFECYCLE_KEY = "lifecycle"


_LIFECYCLE_FIELDS = frozenset(field.name for field in fields(Lifecycle))


def lifecycle_from_json(value: Any) -> Lifecycle:
    """An export line's lifecycle object; raises ValueError naming what is wrong."""
    if not isinstance(value, dict) or set(value) != _LIFECYCLE_FIELDS:
        raise ValueError(f"{LIFECYCLE_KEY!r} must be an object with the export's keys")
    counts = [value[k] for k in ("success_count", "failure_count", "uses")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise ValueError(f"{LIFECYCLE_KEY}: counts must be whole numbers >= 0")
    if counts[2] < counts[0] + counts[1]:
        raise ValueError(f"{LIFECYCLE_KEY}: uses below the outcomes recorded")
    if not isinstance(value["created_at"], str) or not (
        value["last_used"] is None or isinstance(value["last_used"], str)
    ):
        raise ValueError(f"{LIFECYCLE_KEY}: created_at and last_used must be times")
    if not isinstance(value["retired"], bool):
        raise ValueError(f"{LIFECYCLE_KEY}: retired must be true or false")
    return Lifecycle(
        success_count=counts[0],
        failure_count=counts[1],
        uses=counts[2],
        last_used=value["last_used"],
        created_at=value["created_at"],
        retired=value["retired"],
    )


def write_export(patterns: Iterable[StoredPattern], stream: IO[str]) -> int:
    count = 0
    for stored in patterns:
        line = {**stored.pattern.to_json_dict(), LIFECYCLE_KEY: asdict(stored.lifecycle)}
        stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_export_file(patterns: Iterable[StoredPattern], path: Path) -> int:
    """Atomically: the file appears whole or not at all."""
    with atomic_text_writer(path) as stream:
        return write_export(patterns, stream)


def read_export(path: Path) -> Iterator[tuple[Pattern, Lifecycle | None]]:
    """The seed's JSONL, each line optionally with a lifecycle; a bad line is one
    InputError naming file and line."""
    return read_jsonl_lines(path, _pattern_with_lifecycle)


def _pattern_with_lifecycle(data: Any) -> tuple[Pattern, Lifecycle | None]:
    lifecycle = None
    if isinstance(data, dict) and LIFECYCLE_KEY in data:
        data = dict(data)
        lifecycle = lifecycle_from_json(data.pop(LIFECYCLE_KEY))
    return Pattern.from_json_dict(data), lifecycle
