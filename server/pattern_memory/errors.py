"""One exception class per kind of failure the user can act on.

The CLI prints `pattern-memory: error: <message>` and exits non-zero for any of these; their
messages are written for the user (what was wrong, where, what to do), never a traceback.
"""

from __future__ import annotations


class PatternMemoryError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code = 1


class InputError(PatternMemoryError):
    """Bad input: a file, a repository, an argument or a request that cannot be used."""

    exit_code = 2


class SettingsError(InputError):
    """An invalid setting; the message names the key."""

    def __init__(self, key: str, message: str, source: str = "") -> None:
        self.key = key
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"setting {key!r}{where}: {message}")


class RepositoryError(InputError):
    """Not a git repository, an empty one, or one git cannot read."""


class StoreError(PatternMemoryError):
    """The local pattern database cannot be opened, read or written."""


class ModelError(PatternMemoryError):
    """The embedding model is missing or corrupt."""


class AdapterError(InputError):
    """An adapter file or merge request that cannot be used."""


class Cancelled(Exception):
    """Work stopped because its cancel event was set: a request the client cancelled, an
    analysis a newer version of the document superseded. Never shown to the user."""
