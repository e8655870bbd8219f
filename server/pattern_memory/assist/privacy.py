"""What leaves the user's machine, or the user's scope: paths made relative and authors
dropped for patterns marked `collective` (the seed's v1.1 opt-in sharing)."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath, PureWindowsPath

from ..patterns import Pattern

COLLECTIVE_AUTHOR = "collective"


def relative_path(path: str) -> str:
    """A path without its machine-specific prefix: absolute paths keep only their last two
    parts (the home directory, user name and checkout location say who and where)."""
    if not path:
        return ""
    windows = PureWindowsPath(path)
    if windows.drive or path.startswith("\\"):
        return "/".join(windows.parts[-2:])
    posix = PurePosixPath(path)
    if posix.is_absolute() or path.startswith("~"):
        return "/".join(posix.parts[-2:])
    return path


def anonymize(pattern: Pattern) -> Pattern:
    """The pattern as it may be shared collectively: no author, no absolute path, no commit
    of a private repository."""
    return dataclasses.replace(
        pattern,
        author=COLLECTIVE_AUTHOR,
        file_path=relative_path(pattern.file_path),
        commit="",
        repository="",
    )
