"""Code actions: apply a learned fix (recording a success), or say it did not help."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ..memory.types import Outcome
from ..patterns import commit_subject
from .convert import SEVERITIES, LocatedFix
from .diagnostics import to_diagnostic
from .execute import FEEDBACK

if TYPE_CHECKING:
    from .server import PatternMemoryServer

APPLY_TITLE = "Apply learned fix: {}"
NOT_HELPFUL_TITLE = "Not helpful: {}"
# A Conventional Commits type ("fix: ", "fix(parser)!: ") says nothing in "Apply learned fix".
_COMMIT_TYPE = re.compile(
    r"^(?:fix|bugfix|hotfix|feat|perf|refactor|security|revert|chore|build|ci|docs|style|test)"
    r"(?:\([^)]*\))?!?:\s+",
    re.IGNORECASE,
)


def action_subject(commit_msg: str) -> str:
    """The commit's subject without its Conventional Commits type prefix."""
    line = commit_subject(commit_msg)
    return _COMMIT_TYPE.sub("", line, count=1) or line


def _edit(
    ls: PatternMemoryServer, uri: str, version: int | None, fix: LocatedFix
) -> types.WorkspaceEdit:
    """The fix as a workspace edit; versioned (documentChanges) when the client supports
    it, so that a client rejects the action once the document has changed since."""
    text_edit = types.TextEdit(range=fix.edit_range, new_text=fix.match.replacement)
    workspace = ls.client_capabilities.workspace
    versioned = bool(
        workspace and workspace.workspace_edit and workspace.workspace_edit.document_changes
    )
    if not versioned:
        return types.WorkspaceEdit(changes={uri: [text_edit]})
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=document, edits=[text_edit])]
    )


def _feedback(fix: LocatedFix, outcome: Outcome, title: str) -> types.Command:
    return types.Command(
        title=title,
        command=FEEDBACK,
        arguments=[{"patternId": fix.pattern_id, "outcome": outcome.value}],
    )


def _actions(
    ls: PatternMemoryServer, uri: str, version: int | None, fix: LocatedFix
) -> list[types.CodeAction]:
    message = action_subject(fix.stored.pattern.commit_msg)
    diagnostic = to_diagnostic(
        fix, SEVERITIES[ls.settings.diagnostic_severity], ls.team_sync.origin(fix.pattern_id)
    )
    edit = _edit(ls, uri, version, fix)
    return [
        types.CodeAction(
            title=APPLY_TITLE.format(message),
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=fix.preferred,
            edit=edit,
            # Run by the client after it applied the edit: the success is recorded then.
            command=_feedback(fix, Outcome.APPLIED, "Record the applied fix"),
        ),
        types.CodeAction(
            title=NOT_HELPFUL_TITLE.format(message),
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            command=_feedback(fix, Outcome.NOT_HELPFUL, "Not helpful"),
        ),
    ]


def register(server: PatternMemoryServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(
        ls: PatternMemoryServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        document = ls.workspace.text_documents.get(params.text_document.uri)
        if document is None:
            return None
        result = ls.analysis.result(document.uri, document.version)
        if result is None:
            return None
        fixes = result.within(params.range)
        wanted = params.context.only
        if wanted and not any(types.CodeActionKind.QuickFix.startswith(k) for k in wanted):
            return None
        actions: list[types.CodeAction] = []
        for fix in fixes:
            actions.extend(_actions(ls, document.uri, document.version, fix))
        # Every "apply" first, then every "not helpful".
        actions.sort(key=lambda action: action.edit is None)
        return actions or None
