"""Code actions: apply a learned fix (recording a success), or say it did not help."""

from __future__ import annotations

from lsprotocol import types

from ..memory.types import Outcome
from .convert import SEVERITIES, subject
from .diagnostics import to_diagnostic
from .execute import FEEDBACK
from .fixes import FoundFix
from .server import PatternMemoryServer

APPLY_TITLE = "Apply learned fix: {}"
NOT_HELPFUL_TITLE = "Not helpful: {}"


def _feedback(fix: FoundFix, outcome: Outcome, title: str) -> types.Command:
    return types.Command(
        title=title,
        command=FEEDBACK,
        arguments=[{"patternId": fix.pattern_id, "outcome": outcome.value}],
    )


def _actions(ls: PatternMemoryServer, uri: str, fix: FoundFix) -> list[types.CodeAction]:
    message = subject(fix.stored.pattern.commit_msg)
    diagnostic = to_diagnostic(fix, SEVERITIES[ls.settings.diagnostic_severity])
    edit = types.WorkspaceEdit(
        changes={uri: [types.TextEdit(range=fix.edit_range, new_text=fix.match.replacement)]}
    )
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
            actions.extend(_actions(ls, document.uri, fix))
        # Every "apply" first, then every "not helpful".
        actions.sort(key=lambda action: action.edit is None)
        return actions or None
