"""Editor options (`initializationOptions`, `workspace/didChangeConfiguration`) -> Settings.

Every client sends the same camelCase keys, either flat or under a `patternMemory` section
(VS Code's settings layout). An invalid value is reported once to the user and the value it
would have replaced (the file/environment setting, else the default) is used instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ..settings import Settings

SECTION = "patternMemory"
# Beside the settings, never one of them: editors keep it in their secret store (VS Code's
# SecretStorage) and hand it over in initializationOptions only.
TEAM_API_KEY = "teamApiKey"


def editor_options(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The option mapping inside what a client sent, and problems with its shape."""
    if raw is None:
        return {}, []
    if not isinstance(raw, Mapping):
        return {}, [f"options must be an object of settings, got {type(raw).__name__}"]
    if SECTION in raw:
        section = raw[SECTION]
        if section is None:
            return {}, []
        if not isinstance(section, Mapping):
            return {}, [f"{SECTION!r} must be an object of settings"]
        return dict(section), []
    return {k: v for k, v in raw.items() if k != TEAM_API_KEY}, []


def team_api_key(raw: Any) -> str | None:
    """The team API key a client sent in initializationOptions (either layout), if any."""
    key = raw.get(TEAM_API_KEY) if isinstance(raw, Mapping) else None
    return key.strip() if isinstance(key, str) and key.strip() else None


def apply_options(base: Settings, raw: Any, source: str) -> tuple[Settings, list[str]]:
    """`base` with the client's options applied, and one user-facing line per problem."""
    options, problems = editor_options(raw)
    settings, errors = base.merge(options, source, strict=False)
    by_key = {f.metadata["key"]: f.name for f in fields(Settings)}
    messages = [f"Pattern Memory: {problem}" for problem in problems]
    for error in errors:
        if error.key in by_key:
            kept = getattr(settings, by_key[error.key])
            messages.append(f"Pattern Memory: {error}; using {_show(kept)} instead")
        else:
            messages.append(f"Pattern Memory: {error}; ignored")
    return settings, messages


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return str(value)
