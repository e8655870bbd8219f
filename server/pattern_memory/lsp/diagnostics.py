"""Diagnostics on code that resembles the before-code of a learned bug fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..matching.generalize import support_line
from ..patterns import commit_subject
from .convert import SEVERITIES, team_line

if TYPE_CHECKING:
    from ..memory.team_store import TeamOrigin
    from .analysis import DocumentResult
    from .convert import LocatedFix
    from .server import PatternMemoryServer

SOURCE = "pattern-memory"
CODE = "learned-fix"
MAX_MESSAGE_CHARS = 1000


def to_diagnostic(
    fix: LocatedFix, severity: types.DiagnosticSeverity, origin: TeamOrigin | None = None
) -> types.Diagnostic:
    # The commit's subject; the whole message is in the hover. A team pattern (`origin`)
    # says whose it is, and its data carries the contributors.
    message = commit_subject(fix.stored.pattern.commit_msg)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "…"
    data: dict[str, object] = {"patternId": fix.pattern_id}
    if fix.members:
        message += f" ({support_line(fix.members)})"
        data["members"] = list(fix.members)
    if origin is not None:
        message += f" ({team_line(origin)})"
        data["team"] = {"createdBy": origin.created_by, "contributors": list(origin.contributors)}
    return types.Diagnostic(
        range=fix.range,
        message=message,
        severity=severity,
        source=SOURCE,
        code=CODE,
        data=data,
    )


def publish_diagnostics(server: PatternMemoryServer, result: DocumentResult) -> None:
    settings = server.settings
    diagnostics = []
    if settings.diagnostics:
        severity = SEVERITIES[settings.diagnostic_severity]
        team = server.team_sync
        diagnostics = [
            to_diagnostic(fix, severity, team.origin(fix.pattern_id))
            for fix in result.fixes
            if fix.shown
        ]
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=result.uri, version=result.version, diagnostics=diagnostics
        )
    )


def clear_diagnostics(server: PatternMemoryServer, uri: str) -> None:
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
    )
