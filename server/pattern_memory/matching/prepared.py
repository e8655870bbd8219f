"""What the finder needs of one pattern that only its code decides, worked out once: whether
the change is withheld from the editor (withheld.py), its match template (template.py) and
its abstract edit (for the mass-edit check). All three parse the pattern's code, which cost
about half of a cold analysis when they were worked out again after every start; the memory
stores them with the pattern (memory/template_store.py) and the finder reads them back.

Stored text is trusted only when it is exactly what this code would build: it carries a
checksum over its content key (the pattern's code, language and message), the version of
the rules that made it (`template_version`: a digest of the source of every module the
result depends on, so that no edit to those rules can leave stale templates in use) and its
body. Anything else (another version, another key, a damaged or foreign text) fails
`decode`, and the caller builds the pattern's Prepared instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import languages, patterns, syntax
from . import match, roles, template, tokens, withheld
from .match import DocumentTokens, find_matches
from .template import FixTemplate, build_template, unchanged_after
from .tokens import Token, TokenKind
from .withheld import Withheld, abstract_edit, withheld_reason

# Bumped when the stored text's layout changes (the rules' own changes are in the digest).
FORMAT = "1"
_KINDS = tuple(TokenKind)
_KIND_INDEX = {kind: index for index, kind in enumerate(_KINDS)}
_CHECKSUM_CHARS = 32


class CorruptTemplate(ValueError):
    """Stored text that is not a Prepared this code would build for that pattern."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """One pattern's editor facts. `checked` False: only `edit` was worked out (a commit's
    other patterns, read for the mass-edit check); withheld and template are then unknown."""

    edit: tuple[str, ...]  # withheld.abstract_edit
    checked: bool = True
    withheld: Withheld | None = None  # why the editor never flags it (None: it may)
    template: FixTemplate | None = None  # build_template (None: nothing to locate)

    @property
    def flaggable(self) -> FixTemplate | None:
        """The template to locate, when the change may become a diagnostic at all."""
        return self.template if self.withheld is None else None


def prepare(before_code: str, after_code: str, language: str, commit_msg: str) -> Prepared:
    """Every fact, as the finder used to work them out (language: a normalized name)."""
    return Prepared(
        edit=tuple(abstract_edit(before_code, after_code, language)),
        checked=True,
        withheld=withheld_reason(before_code, after_code, language, commit_msg),
        template=_standing_template(before_code, after_code, language),
    )


def _standing_template(before_code: str, after_code: str, language: str) -> FixTemplate | None:
    """build_template, left standing (FixTemplate.left_standing) also when a look-alike of
    its before-code up to renaming stands in the change's unchanged lines: one the finder
    would flag in a document. Whether the fix's new names are there does not matter here."""
    built = build_template(before_code, after_code, language)
    if built is None or built.left_standing or not built.written:
        return built
    probe = replace(built, free_names=frozenset())
    for text in unchanged_after(before_code, after_code):
        if text.strip() and find_matches(DocumentTokens.from_text(text, language), probe):
            return replace(built, left_standing=True)
    return built


def prepare_edit(before_code: str, after_code: str, language: str) -> Prepared:
    """The abstract edit only (cheap: two tokenizations and a diff)."""
    return Prepared(edit=tuple(abstract_edit(before_code, after_code, language)), checked=False)


def complete(
    known: Prepared, before_code: str, after_code: str, language: str, commit_msg: str
) -> Prepared:
    """`known` with the checks worked out too, when it has only the edit."""
    if known.checked:
        return known
    return Prepared(
        edit=known.edit,
        checked=True,
        withheld=withheld_reason(before_code, after_code, language, commit_msg),
        template=_standing_template(before_code, after_code, language),
    )


def prepared_key(before_code: str, after_code: str, language: str, commit_msg: str) -> str:
    """The content key: every input the facts depend on (the message: the typo rule)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (language, before_code, after_code, commit_msg):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


# The modules whose code decides a Prepared (and this one, which lays it out).
_RULE_MODULES: tuple[ModuleType, ...] = (
    sys.modules[__name__],
    template,
    match,
    roles,
    tokens,
    withheld,
    patterns,
    languages,
    syntax,
)
# Their tokens and trees come from these (the grammars are in the language pack's wheel).
_RULE_PACKAGES = ("tree-sitter", "tree-sitter-language-pack")


@functools.cache
def template_version() -> str:
    """The version stored Prepared texts are made under: FORMAT, the Python version (ast's
    trees decide the withheld check), the tree-sitter packages' versions (their leaves are
    the tokens) and a digest of the rule modules' source. Computed
    once per process. Without readable source no stored text is ever trusted."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{FORMAT}:{sys.version_info[0]}.{sys.version_info[1]}".encode())
    for package in _RULE_PACKAGES:
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            return f"{FORMAT}-unversioned-{uuid.uuid4().hex}"
    for module in _RULE_MODULES:
        try:
            digest.update(Path(str(module.__file__)).read_bytes())
        except (OSError, TypeError):
            return f"{FORMAT}-unversioned-{uuid.uuid4().hex}"
    return f"{FORMAT}-{digest.hexdigest()}"


def _tokens(items: Sequence[Token]) -> list[int]:
    flat: list[int] = []
    for token in items:
        flat += (_KIND_INDEX[token.kind], token.start, token.end)
    return flat


def _template_json(found: FixTemplate) -> dict[str, Any]:
    # Token texts are slices of before / after (tokenize's offsets): stored as offsets only.
    return {
        "language": found.language,
        "before": found.before,
        "after": found.after,
        "indent": found.indent,
        "before_tokens": _tokens(found.before_tokens),
        "after_tokens": _tokens(found.after_tokens),
        "free_names": sorted(found.free_names),
        "new_names": sorted(found.new_names),
        "anchors": sorted(found.anchors),
        "holes": sorted(found.holes),
        "written": list(found.written),
        "left_standing": found.left_standing,
        "removed": sorted(found.removed),
    }


def _checksum(key: str, version: str, body: str) -> str:
    digest = hashlib.blake2b(digest_size=_CHECKSUM_CHARS // 2)
    for part in (key, version, body):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def encode(prepared: Prepared, key: str, version: str) -> str:
    """The stored text of `prepared` for the pattern of content key `key`."""
    body = json.dumps(
        {
            "edit": list(prepared.edit),
            "checked": prepared.checked,
            "withheld": prepared.withheld.name if prepared.withheld is not None else None,
            "template": _template_json(prepared.template) if prepared.template else None,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return _checksum(key, version, body) + body


def decode(text: str, key: str, version: str) -> Prepared:
    """The Prepared `encode` stored for `key` under `version`; CorruptTemplate for anything
    else (never a wrong template: the caller builds it instead)."""
    if not isinstance(text, str) or len(text) < _CHECKSUM_CHARS:
        raise CorruptTemplate("too short")
    body = text[_CHECKSUM_CHARS:]
    if text[:_CHECKSUM_CHARS] != _checksum(key, version, body):
        raise CorruptTemplate("checksum, key or version differs")
    try:
        data = json.loads(body)
        found = data["template"]
        reason = data["withheld"]
        return Prepared(
            edit=tuple(_strings(data["edit"])),
            checked=_boolean(data["checked"]),
            withheld=Withheld[reason] if reason is not None else None,
            template=_template(found) if found is not None else None,
        )
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as exc:
        raise CorruptTemplate(f"{type(exc).__name__}: {exc}") from None


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("expected a list of strings")
    return value


def _integers(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(type(item) is int for item in value):
        raise TypeError("expected a list of integers")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a boolean")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _token_tuple(flat: list[int], text: str) -> tuple[Token, ...]:
    if len(flat) % 3:
        raise ValueError("token offsets come in threes")
    out: list[Token] = []
    for index in range(0, len(flat), 3):
        kind, start, end = flat[index : index + 3]
        if not 0 <= start < end <= len(text) or not 0 <= kind < len(_KINDS):
            raise IndexError("token outside its code, or of no kind")
        out.append(Token(_KINDS[kind], text[start:end], start, end))
    return tuple(out)


def _indices(value: Any, count: int) -> frozenset[int]:
    found = frozenset(_integers(value))
    if any(not 0 <= index < count for index in found):
        raise IndexError("token index out of range")
    return found


def _template(data: dict[str, Any]) -> FixTemplate:
    before, after = _string(data["before"]), _string(data["after"])
    before_tokens = _token_tuple(_integers(data["before_tokens"]), before)
    return FixTemplate(
        language=_string(data["language"]),
        before=before,
        after=after,
        indent=_string(data["indent"]),
        before_tokens=before_tokens,
        after_tokens=_token_tuple(_integers(data["after_tokens"]), after),
        free_names=frozenset(_strings(data["free_names"])),
        new_names=frozenset(_strings(data["new_names"])),
        anchors=_indices(data["anchors"], len(before_tokens)),
        holes=_indices(data["holes"], len(before_tokens)),
        written=tuple(_strings(data["written"])),
        left_standing=_boolean(data["left_standing"]),
        removed=_indices(data["removed"], len(before_tokens)),
    )
