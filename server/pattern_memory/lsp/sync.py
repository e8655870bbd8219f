"""Document sync: every open or changed document is analysed again once edits settle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from .diagnostics import clear_diagnostics

if TYPE_CHECKING:
    from .server import PatternMemoryServer


def register(server: PatternMemoryServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PatternMemoryServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.analysis.schedule(params.text_document.uri, delay=0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: PatternMemoryServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.analysis.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PatternMemoryServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.analysis.forget(params.text_document.uri)
        clear_diagnostics(ls, params.text_document.uri)
