"""Validation of `workspace/executeCommand` arguments.

A command takes either one object with named arguments (`[{"text": "...", "k": 5}]`) or the
same arguments by position (`["...", 5]`). Anything else is refused with one clear line
naming the command and the argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import InputError


class CommandArgumentError(InputError):
    """Arguments a command cannot use."""


@dataclass(frozen=True)
class Arg:
    name: str
    kind: type  # str, int or a StrEnum
    required: bool = True
    low: int = 1
    high: int = 1000


def parse_arguments(command: str, raw: Sequence[Any] | None, spec: Sequence[Arg]) -> dict[str, Any]:
    """The arguments by name (absent optional ones omitted), or CommandArgumentError."""
    values = list(raw or [])
    names = [arg.name for arg in spec]
    if len(values) == 1 and isinstance(values[0], dict):
        given = dict(values[0])
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise CommandArgumentError(
                f"{command}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                f"expected {_expected(spec)}"
            )
    else:
        if len(values) > len(spec):
            raise CommandArgumentError(
                f"{command}: expected at most {len(spec)} argument(s) ({_expected(spec)}), "
                f"got {len(values)}"
            )
        given = dict(zip(names, values, strict=False))
    parsed: dict[str, Any] = {}
    for arg in spec:
        if given.get(arg.name) is None:
            if arg.required:
                raise CommandArgumentError(f"{command}: missing argument {arg.name!r}")
            continue
        parsed[arg.name] = _check(command, arg, given[arg.name])
    return parsed


def _expected(spec: Sequence[Arg]) -> str:
    if not spec:
        return "no arguments"
    return ", ".join(a.name if a.required else f"{a.name} (optional)" for a in spec)


def _check(command: str, arg: Arg, value: Any) -> Any:
    where = f"{command}: argument {arg.name!r}"
    if arg.kind is str:
        if not isinstance(value, str) or not value.strip():
            raise CommandArgumentError(f"{where} must be a non-empty string")
        return value
    if arg.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CommandArgumentError(f"{where} must be a whole number")
        if not arg.low <= value <= arg.high:
            raise CommandArgumentError(f"{where} must be between {arg.low} and {arg.high}")
        return value
    if issubclass(arg.kind, StrEnum):
        try:
            return arg.kind(value)
        except ValueError:
            choices = ", ".join(str(member.value) for member in arg.kind)
            raise CommandArgumentError(f"{where} must be one of {choices}") from None
    raise TypeError(f"unsupported argument kind {arg.kind!r}")
