"""`workspace/executeCommand` arguments: one frozen dataclass per command, its fields typed.

pygls 2 converts a command's arguments itself: it structures each value with the server's
cattrs converter into the type its handler's parameter is annotated with (pygls'
examples/servers/commands.py). Each handler here takes one parameter, its command's
arguments class, and three thin pieces close what pygls leaves open:

- `by_name`: clients send the arguments either as one object (`[{"text": "...", "k": 5}]`)
  or by position (`["...", 5]`), optional ones left out; pygls matches values to parameters
  by position only and has no optional parameters, so either form becomes the one object
  the class is structured from (null values count as absent);
- the constraints (`Text`, `Between`, `Choice`), carried by the fields' `Annotated` types and
  checked while structuring, so an empty text or a `k` of 0 never reaches a handler;
- the message: cattrs reports "While structuring SearchArguments (1 sub-exception)", so the
  structure hook turns its errors into one line naming the argument
  (`CommandArgumentError`); the protocol prefixes the command's name (lsp/server.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

from ..errors import InputError
from ..memory.types import Outcome

MAX_TEXT_CHARS = 1_000_000


class CommandArgumentError(InputError):
    """Arguments a command cannot use."""


# --- constraints: the metadata of a field's Annotated type -----------------------------------


@dataclass(frozen=True)
class Text:
    """A non-empty string of at most `limit` characters."""

    limit: int = MAX_TEXT_CHARS

    def check(self, value: Any, _kind: type) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        if len(value) > self.limit:
            raise ValueError(f"is {len(value):,} characters, over the limit of {self.limit:,}")
        return value


@dataclass(frozen=True)
class Between:
    """A whole number from `low` to `high` (a JSON true is not 1)."""

    low: int
    high: int

    def check(self, value: Any, _kind: type) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if not self.low <= value <= self.high:
            raise ValueError(f"must be between {self.low} and {self.high}")
        return value


@dataclass(frozen=True)
class Choice:
    """One of a StrEnum's values."""

    def check(self, value: Any, kind: type) -> StrEnum:
        assert issubclass(kind, StrEnum)
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(str(member.value) for member in kind)
            raise ValueError(f"must be one of {choices}") from None


Constraint = Text | Between | Choice


# --- the commands' arguments ------------------------------------------------------------------


@dataclass(frozen=True)
class CommandArguments:
    """The base of every command's arguments (a command with none uses it as it is)."""


@dataclass(frozen=True)
class IndexArguments(CommandArguments):
    path: Annotated[str, Text()] | None = None  # relative: to the workspace folder


@dataclass(frozen=True)
class SearchArguments(CommandArguments):
    text: Annotated[str, Text()]
    k: Annotated[int, Between(1, 100)] | None = None


@dataclass(frozen=True)
class PatternArguments(CommandArguments):
    patternId: Annotated[str, Text()]


@dataclass(frozen=True)
class ForgeArguments(CommandArguments):
    response: Annotated[str, Text()]
    request: Annotated[str, Text()] | None = None


@dataclass(frozen=True)
class InjectArguments(CommandArguments):
    query: Annotated[str, Text()]


@dataclass(frozen=True)
class FeedbackArguments(CommandArguments):
    patternId: Annotated[str, Text()]
    outcome: Annotated[Outcome, Choice()]


# --- from what a client sent to what pygls structures ------------------------------------------


def by_name(kind: type[CommandArguments], raw: Sequence[Any] | None) -> list[dict[str, Any]]:
    """The one object, named, that pygls structures into `kind` (see the module's text)."""
    values = list(raw or [])
    names = [f.name for f in dataclasses.fields(kind)]
    if len(values) == 1 and isinstance(values[0], dict):
        given = dict(values[0])
    elif len(values) > len(names):
        raise CommandArgumentError(
            f"expected at most {len(names)} argument(s) ({_expected(kind)}), got {len(values)}"
        )
    else:
        given = dict(zip(names, values, strict=False))
    return [{name: value for name, value in given.items() if value is not None}]


def _expected(kind: type[CommandArguments]) -> str:
    described = [
        f.name if f.default is dataclasses.MISSING else f"{f.name} (optional)"
        for f in dataclasses.fields(kind)
    ]
    return ", ".join(described) or "no arguments"


def _constrained(kind: Any) -> tuple[Constraint, type] | None:
    """The constraint in `kind` (`Annotated[str, Text()]`, optionally `| None`) and the type
    it constrains."""
    if get_origin(kind) in (Union, UnionType):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    if get_origin(kind) is not Annotated:
        return None
    base, *metadata = get_args(kind)
    constraint = next((m for m in metadata if isinstance(m, Text | Between | Choice)), None)
    return None if constraint is None else (constraint, base)


def _checked_by(constraint: Constraint, base: type) -> Callable[[Any, Any], Any]:
    return lambda value, _kind: constraint.check(value, base)


def _is_arguments(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, CommandArguments)


def _arguments_hook(converter: cattrs.Converter) -> Callable[[type], Any]:
    def factory(kind: type[CommandArguments]) -> Callable[[Any, Any], CommandArguments]:
        # cattrs reads the fields' types without their Annotated metadata: each constrained
        # field gets its constraint as its hook (absent and null ones never reach it).
        overrides: dict[str, Any] = {  # AttributeOverrides, by field name
            name: override(struct_hook=_checked_by(*found))
            for name, hint in get_type_hints(kind, include_extras=True).items()
            if (found := _constrained(hint)) is not None
        }
        structure = make_dict_structure_fn(
            kind,
            converter,
            _cattrs_forbid_extra_keys=True,
            _cattrs_detailed_validation=True,
            **overrides,
        )

        def hook(value: Any, _kind: Any) -> CommandArguments:
            try:
                return structure(value, kind)
            except ClassValidationError as exc:
                raise CommandArgumentError(_first_problem(kind, exc)) from None

        return hook

    return factory


def _first_problem(kind: type[CommandArguments], error: ClassValidationError) -> str:
    """The one line for what cattrs found: unknown names first, then fields in order."""
    for exc in error.exceptions:
        if isinstance(exc, ForbiddenExtraKeysError):
            unknown = ", ".join(map(repr, sorted(exc.extra_fields)))
            return f"unknown argument(s) {unknown}; expected {_expected(kind)}"
    problems: dict[str, str] = {}
    for exc, note in error.group_exceptions()[0]:
        name = note.name
        if isinstance(exc, KeyError):
            problems[name] = f"missing argument {name!r}"
        else:
            problems[name] = f"argument {name!r} {exc}"
    for field in dataclasses.fields(kind):
        if field.name in problems:
            return problems[field.name]
    return str(error)


def arguments_class(handler: Callable[..., Any]) -> type[CommandArguments] | None:
    """The arguments class a registered command's handler is annotated with (lsp/execute.py
    gives each one), as pygls reads it: the wrapped function, if pygls wrapped it."""
    function = getattr(handler, "func", handler)
    kind = getattr(function, "__annotations__", {}).get("arguments")
    return kind if _is_arguments(kind) else None


def add_hooks(converter: cattrs.Converter) -> cattrs.Converter:
    """`converter` able to structure every command's arguments (the server's converter)."""
    converter.register_structure_hook_factory(_is_arguments, _arguments_hook(converter))
    return converter
