"""Hover on code that resembles a learned fix: the pattern, as Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .convert import pattern_markdown

if TYPE_CHECKING:
    from .server import PatternMemoryServer


def register(server: PatternMemoryServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: PatternMemoryServer, params: types.HoverParams) -> types.Hover | None:
        # Answered from the document's finished analysis only: no lookup on this path.
        document = ls.workspace.text_documents.get(params.text_document.uri)
        if document is None:
            return None
        result = ls.analysis.result(document.uri, document.version)
        fixes = result.at(params.position) if result else []
        if not fixes:
            return None
        best = fixes[0]
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown,
                value="\n\n---\n\n".join(
                    pattern_markdown(fix.stored, ls.team_sync.origin(fix.pattern_id), fix.members)
                    for fix in fixes
                ),
            ),
            range=best.range,
        )
