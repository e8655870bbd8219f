"""A pattern's stored template and code checks (prepared.py): read back equal to what is
built, and never trusted when the text is not exactly what this code would store."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from pattern_memory.matching.prepared import (
    CorruptTemplate,
    Prepared,
    _checksum,
    complete,
    decode,
    encode,
    prepare,
    prepare_edit,
    prepared_key,
    template_version,
)
from pattern_memory.matching.template import build_template
from pattern_memory.matching.withheld import Withheld, abstract_edit, withheld_reason

# (before, after, language, message): a located fix with holes and anchors, a renamed-local
# fix, a withheld change (typo), one with nothing to locate, JavaScript and Go.
CHANGES = [
    (
        'value = config["timeout"]\nsession.connect(host, value)\nlog(value)',
        'value = config.get("timeout", 30)\nsession.connect(host, value)\nlog(value)',
        "python",
        "fix KeyError without a timeout",
    ),
    (
        "row = db.get(uid)\nreturn row['name']",
        "row = db.get(uid)\nif row is None:\n    return None\nreturn row['name']",
        "python",
        "fix crash on a missing row",
    ),
    (
        "def first(rows):\n    return rows[0]\n",
        "def first(rows):\n    if not rows:\n        return None\n    return rows[0]\n",
        "python",
        "fix IndexError on empty result",
    ),
    (
        "total = a + b\nreturn totl\n",
        "total = a + b\nreturn total\n",
        "python",
        "Fix typo in variable name",
    ),
    ("x = 1\n", "x = 1  \n", "python", "fix whitespace"),
    (
        "const user = users.find(id);\nreturn user.name;\n",
        "const user = users.find(id);\nreturn user?.name;\n",
        "javascript",
        "fix crash",
    ),
    (
        'resp, err := http.Get(url)\nbody := resp.Body\nfmt.Println("héllo")\n',
        "resp, err := http.Get(url)\nif err != nil {\n\treturn err\n}\n"
        'body := resp.Body\nfmt.Println("héllo")\n',
        "go",
        "fix nil dereference",
    ),
]


@pytest.mark.parametrize(("before", "after", "language", "message"), CHANGES)
def test_a_stored_template_reads_back_equal_to_a_built_one(
    before: str, after: str, language: str, message: str
) -> None:
    built = prepare(before, after, language, message)
    # What the finder worked out itself before templates were stored.
    assert built.template == build_template(before, after, language)
    assert built.withheld == withheld_reason(before, after, language, message)
    assert built.edit == abstract_edit(before, after, language)
    key, version = prepared_key(before, after, language, message), template_version()
    assert decode(encode(built, key, version), key, version) == built
    edit_only = prepare_edit(before, after, language)
    assert decode(encode(edit_only, key, version), key, version) == edit_only
    assert complete(edit_only, before, after, language, message) == built


def test_the_samples_cover_a_template_a_withheld_change_and_nothing_to_locate() -> None:
    prepared = [prepare(*change) for change in CHANGES]
    assert prepared[0].flaggable is not None
    assert prepared[0].flaggable.holes and prepared[0].flaggable.anchors
    assert prepared[3].withheld is Withheld.TYPO and prepared[3].flaggable is None
    assert prepared[3].template is not None  # built all the same (the shapes use it)
    assert prepared[4].template is None


def test_the_key_covers_code_language_and_message() -> None:
    before, after, language, message = CHANGES[0]
    key = prepared_key(before, after, language, message)
    assert (
        len(
            {
                key,
                prepared_key(before + " ", after, language, message),
                prepared_key(before, after + " ", language, message),
                prepared_key(before, after, "javascript", message),
                prepared_key(before, after, language, "fix typo"),  # the typo rule reads it
                prepared_key(before + after, "", language, message),  # no ambiguous joins
            }
        )
        == 6
    )


def _stored() -> tuple[Prepared, str, str, str]:
    before, after, language, message = CHANGES[0]
    built = prepare(before, after, language, message)
    key, version = prepared_key(before, after, language, message), template_version()
    return built, key, version, encode(built, key, version)


def test_another_version_or_another_key_is_not_trusted() -> None:
    _, key, version, text = _stored()
    with pytest.raises(CorruptTemplate):
        decode(text, key, version + "x")
    with pytest.raises(CorruptTemplate):
        decode(text, prepared_key("a", "b", "python", "m"), version)


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "",
        lambda text: text[: len(text) // 2],
        lambda text: text.replace("timeout", "timeouT", 1),
        lambda text: text[:-1] + "]",
        lambda text: "0" * len(text),
    ],
)
def test_a_damaged_text_is_not_trusted(damage: object) -> None:
    _, key, version, text = _stored()
    damaged = damage(text)  # type: ignore[operator]
    assert damaged != text
    with pytest.raises(CorruptTemplate):
        decode(damaged, key, version)


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.pop("edit"),
        lambda data: data.update(checked="yes"),
        lambda data: data.update(withheld="NO_SUCH_REASON"),
        lambda data: data["template"].update(before_tokens=[0, 0, 9999]),
        lambda data: data["template"].update(before_tokens=[7, 0, 3]),
        lambda data: data["template"].update(before_tokens=[0, 0]),
        lambda data: data["template"].update(anchors=[9999]),
        lambda data: data["template"].update(holes=["1"]),
        lambda data: data["template"].update(before=None),
        lambda data: data.update(template=[]),
    ],
)
def test_a_well_sealed_text_of_the_wrong_shape_is_not_trusted(change: object) -> None:
    """A text with a valid checksum but a body this code would never write (a bug in the
    writer, another layout under the same version) fails too, rather than crash later."""
    _, key, version, text = _stored()
    data = json.loads(text[32:])
    change(data)  # type: ignore[operator]
    body = json.dumps(data)
    with pytest.raises(CorruptTemplate):
        decode(_checksum(key, version, body) + body, key, version)


def test_the_version_changes_with_the_rules_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pattern_memory.matching import prepared

    assert template_version() == template_version()
    rules = tmp_path / "rules.py"
    fake = types.ModuleType("rules")
    fake.__file__ = str(rules)
    monkeypatch.setattr(prepared, "_RULE_MODULES", (fake,))
    versions = []
    try:
        for source in ("MIN = 6\n", "MIN = 7\n", "MIN = 6\n"):
            rules.write_text(source)
            template_version.cache_clear()
            versions.append(template_version())
        rules.unlink()  # no source: a version of its own, never a stored one
        template_version.cache_clear()
        unreadable = template_version()
    finally:
        template_version.cache_clear()
    assert versions[0] != versions[1] and versions[0] == versions[2]
    assert "unversioned" in unreadable and unreadable not in versions


def test_the_version_covers_the_tokenizer_its_grammars_and_roles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tokens come from tree-sitter's leaves: a new grammar package makes other tokens, so
    # stored templates of the old one must not be trusted.
    from importlib import metadata

    from pattern_memory import syntax
    from pattern_memory.matching import prepared, roles, tokens

    assert {tokens, roles, syntax} <= set(prepared._RULE_MODULES)
    real = metadata.version
    try:
        template_version.cache_clear()
        before = template_version()
        monkeypatch.setattr(
            metadata,
            "version",
            lambda name: "9.9.9" if name == "tree-sitter-language-pack" else real(name),
        )
        template_version.cache_clear()
        assert template_version() != before
    finally:
        monkeypatch.undo()
        template_version.cache_clear()
