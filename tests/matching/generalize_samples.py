"""Histories for the generalized-template tests (tests/matching/test_generalize.py and the
language server's tests/lsp/test_generalized_fixes.py): modules whose `finish` function
calls a method on its parameter, fixed by a None guard."""

from __future__ import annotations

from tests.gitrepo import RepoBuilder


def closer(param: str, method: str, note: str, *, guarded: bool) -> str:
    call = f"{param}.{method}()"
    body = f"    if {param} is not None:\n        {call}\n" if guarded else f"    {call}\n"
    return f'def finish({param}):\n    log("{note}")\n{body}    return True\n'


def module(function: str) -> str:
    return f"from app.logs import log\n\n\n{function}\n\ndef unrelated(a, b):\n    return a + b\n"


# The third site: the same shape on an API neither fix touched, with another log text.
SITE = module(closer("stream", "shutdown", "stopping", guarded=False))


def build_history(builder: RepoBuilder, fixes: list[tuple[str, str, str, str]]) -> None:
    """One module per (path, parameter, method, note), added by a feature commit and fixed
    (a None guard) by a commit of its own."""
    builder.commit("feat: add logging", {"app/logs.py": "def log(text):\n    print(text)\n"})
    for path, param, method, note in fixes:
        builder.commit(
            f"feat: add {path}", {path: module(closer(param, method, note, guarded=False))}
        )
    for path, param, method, note in fixes:
        builder.commit(
            f"fix: crash in {path} when nothing was opened",
            {path: module(closer(param, method, note, guarded=True))},
        )
