"""The pure parts of the server: editor options -> Settings, command arguments."""

from __future__ import annotations

import pytest

from pattern_memory.lsp.arguments import Arg, CommandArgumentError, parse_arguments
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


SPEC = [Arg("text", str), Arg("k", int, required=False, low=1, high=10), Arg("o", Outcome, False)]


def test_named_and_positional_arguments() -> None:
    assert parse_arguments("c", [{"text": "a", "k": 2}], SPEC) == {"text": "a", "k": 2}
    assert parse_arguments("c", ["a", 2, "helpful"], SPEC) == {
        "text": "a",
        "k": 2,
        "o": Outcome.HELPFUL,
    }
    assert parse_arguments("c", ["a"], SPEC) == {"text": "a"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "c: missing argument 'text'"),
        ([{"text": ""}], "c: argument 'text' must be a non-empty string"),
        ([{"text": "a", "k": True}], "c: argument 'k' must be a whole number"),
        ([{"text": "a", "k": 11}], "c: argument 'k' must be between 1 and 10"),
        (["a", 1, "great"], "c: argument 'o' must be one of applied, helpful, not_helpful"),
        (["a", 1, "helpful", 4], "c: expected at most 3 argument(s)"),
        ([{"text": "a", "x": 1}], "c: unknown argument(s) 'x'; expected text, k (optional)"),
    ],
)
def test_bad_arguments_are_one_clear_line(arguments: list[object], message: str) -> None:
    with pytest.raises(CommandArgumentError) as caught:
        parse_arguments("c", arguments, SPEC)
    assert str(caught.value).startswith(message)
