"""Which incoming JSON-RPC messages the server may handle, and the error that answers the
others (JSON-RPC 2.0 and LSP): every request gets a response, whatever its shape.

pygls itself drops a message whose `jsonrpc` is not "2.0", whose params do not fit the
method's schema (the decoding error is only logged) or that comes after `shutdown`, so a
client waits forever; and before `initialize` it fails inside the handler (-32603)."""

from __future__ import annotations

from collections import abc
from collections.abc import Callable
from typing import Any, get_origin

import cattrs
from lsprotocol import types
from pygls.protocol import default_converter

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
SERVER_NOT_INITIALIZED = -32002
INTERNAL_ERROR = -32603


class Answered:
    """Stands in for a message that was already answered with an error: not handled."""


ANSWERED = Answered()


def valid_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def shape_error(data: dict[str, Any]) -> str | None:
    """Why a decoded top-level message is not a JSON-RPC 2.0 message, or None."""
    if data.get("jsonrpc") != "2.0":
        return 'the "jsonrpc" member must be exactly "2.0"'
    if "method" in data and not isinstance(data["method"], str):
        return 'the "method" member must be a string'
    if "id" in data and data["id"] is not None and not valid_id(data["id"]):
        return 'the "id" member must be a number or a string'
    if "params" in data and not isinstance(data["params"], (dict, list, type(None))):
        return 'the "params" member must be an object or an array'
    return None


def is_request(data: dict[str, Any]) -> bool:
    return "method" in data and "id" in data


def error_response(msg_id: Any, code: int, message: str) -> dict[str, Any]:
    """An error response as plain JSON: lsprotocol's converter would drop a null id, which
    JSON-RPC requires when the request's id could not be read."""
    return {
        "jsonrpc": "2.0",
        "id": msg_id if valid_id(msg_id) else None,
        "error": {"code": code, "message": message},
    }


def without_traceback(error: types.ResponseError) -> types.ResponseError:
    """pygls puts the server's traceback (its file paths) in `data`: logged, never sent."""
    if isinstance(error.data, dict) and "traceback" in error.data:
        return types.ResponseError(code=error.code, message=error.message)
    return error


def _exactly(kind: type) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _type: Any) -> Any:
        # bool is an int to Python, not to JSON; an int is a fine float (JSON has numbers).
        if type(value) is kind or (kind is float and type(value) is int):
            return value
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")

    return structure


def _is_sequence_type(kind: Any) -> bool:
    return get_origin(kind) in (list, tuple, abc.Sequence, abc.MutableSequence)


def _with_exact_primitives() -> cattrs.Converter:
    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    for kind in (int, float, str, bool):
        converter.register_structure_hook(kind, _exactly(kind))
    return converter


def strict_converter() -> cattrs.Converter:
    """pygls' converter, but a JSON value of the wrong type is refused (InvalidParams)
    instead of coerced: cattrs turns "3" and true into 3, 1.5 into 1, 7 into "7", and an
    object or a string where a list belongs into the list of its keys or characters."""
    elements = _with_exact_primitives()  # structures a list's elements once it is a list
    converter = _with_exact_primitives()

    def json_array(value: Any, kind: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        return elements.structure(value, kind)

    converter.register_structure_hook_func(_is_sequence_type, json_array)
    return converter
