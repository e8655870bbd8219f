"""The pure parts of the server: editor options -> Settings, command arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pytest

from pattern_memory.lsp import gate
from pattern_memory.lsp.arguments import (
    Between,
    Choice,
    CommandArgumentError,
    CommandArguments,
    Text,
    add_hooks,
    by_name,
)
from pattern_memory.lsp.options import apply_options
from pattern_memory.memory.types import Outcome
from pattern_memory.settings import DiagnosticSeverity, Settings


def test_options_flat_or_in_a_section() -> None:
    flat, problems = apply_options(Settings(), {"maxInjected": 3}, "initializationOptions")
    nested, _ = apply_options(
        Settings(), {"patternMemory": {"maxInjected": 3}}, "initializationOptions"
    )
    assert problems == []
    assert flat.max_injected == nested.max_injected == 3


def test_bad_values_keep_the_base_value_and_say_so() -> None:
    base = Settings(similarity=0.7)
    settings, problems = apply_options(
        base, {"similarity": 2, "diagnosticSeverity": "warning", "nope": 1}, "test"
    )
    assert settings.similarity == 0.7
    assert settings.diagnostic_severity is DiagnosticSeverity.WARNING
    assert len(problems) == 2
    assert "'similarity'" in problems[0] and "using 0.7 instead" in problems[0]
    assert "'nope'" in problems[1] and "ignored" in problems[1]


def test_options_that_are_not_an_object() -> None:
    settings, problems = apply_options(Settings(), ["maxInjected", 3], "test")
    assert settings == Settings()
    assert problems == ["Pattern Memory: options must be an object of settings, got list"]
    assert apply_options(Settings(), None, "test") == (Settings(), [])


@dataclass(frozen=True)
class Example(CommandArguments):
    text: Annotated[str, Text()]
    k: Annotated[int, Between(1, 10)] | None = None
    o: Annotated[Outcome, Choice()] | None = None


CONVERTER = add_hooks(gate.strict_converter())  # the server's converter


def structured(arguments: list[Any]) -> Example:
    """What the server hands the command's handler: the one named object that pygls
    structures with the server's converter (lsp/server.py, lsp_workspace__execute_command)."""
    (named,) = by_name(Example, arguments)
    return CONVERTER.structure(named, Example)


def test_named_and_positional_arguments() -> None:
    assert structured([{"text": "a", "k": 2}]) == Example("a", 2)
    assert structured(["a", 2, "helpful"]) == Example("a", 2, Outcome.HELPFUL)
    assert structured(["a"]) == Example("a")
    assert structured([{"text": "a", "k": None}]) == Example("a")  # null: absent


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "missing argument 'text'"),
        ([{"text": ""}], "argument 'text' must be a non-empty string"),
        ([{"text": 5}], "argument 'text' must be a non-empty string"),
        ([{"text": "a" * 1_000_001}], "argument 'text' is 1,000,001 characters, over the limit"),
        ([{"text": "a", "k": True}], "argument 'k' must be a whole number"),
        ([{"text": "a", "k": 11}], "argument 'k' must be between 1 and 10"),
        (["a", 1, "great"], "argument 'o' must be one of applied, helpful, not_helpful"),
        (["a", 1, "helpful", 4], "expected at most 3 argument(s)"),
        ([{"text": "a", "x": 1}], "unknown argument(s) 'x'; expected text, k (optional)"),
        ([{"k": 0, "x": 1}], "unknown argument(s) 'x'"),  # unknown names first
        ([{"k": 0}], "missing argument 'text'"),  # then the fields in their order
    ],
)
def test_bad_arguments_are_one_clear_line(arguments: list[object], message: str) -> None:
    with pytest.raises(CommandArgumentError) as caught:
        structured(arguments)
    assert str(caught.value).startswith(message)


def test_a_command_without_arguments() -> None:
    assert CONVERTER.structure(by_name(CommandArguments, None)[0], CommandArguments) == (
        CommandArguments()
    )
    with pytest.raises(CommandArgumentError, match=r"expected at most 0 argument\(s\)"):
        by_name(CommandArguments, [1])
    with pytest.raises(CommandArgumentError, match=r"unknown argument.*expected no arguments"):
        CONVERTER.structure(by_name(CommandArguments, [{"x": 1}])[0], CommandArguments)
