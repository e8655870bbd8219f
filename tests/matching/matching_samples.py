"""The fix both matching test modules learn from: a lookup that crashed on a missing row."""

from __future__ import annotations

import textwrap

BEFORE = textwrap.dedent(
    """\
    def load(uid):
        row = db.get(uid)
        return row["name"]
    """
)
AFTER = textwrap.dedent(
    """\
    def load(uid):
        row = db.get(uid)
        if row is None:
            return None
        return row["name"]
    """
)
