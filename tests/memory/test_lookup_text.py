"""What gets embedded for a pattern: its message and the words of the lines it changed,
short (the model's cost grows with the length of what it reads)."""

from __future__ import annotations

from pattern_memory.memory.text import (
    LOOKUP_CHANGE_CHARS,
    LOOKUP_MESSAGE_CHARS,
    code_words,
    lookup_text,
)
from tests.memory.memory_samples import make_pattern


def test_code_becomes_the_words_of_its_identifiers_each_once() -> None:
    code = "if value is None:\n    raise KeyError(name)\nself._http_client.getURLFor(value)"
    assert code_words(code) == [
        "if", "value", "is", "none", "raise", "key", "error", "name",
        "self", "http", "client", "get", "url", "for",
    ]  # fmt: skip


def test_a_fix_is_its_message_and_the_words_of_the_changed_lines() -> None:
    pattern = make_pattern(
        "Fix crash   when the\nconfig is empty",
        "def load(path):\n    data = read(path)\n    return data['key']\n",
        "def load(path):\n    data = read(path)\n    return data.get('key', DEFAULT_VALUE)\n",
    )
    # Unchanged lines ("def load", "data = read") are left out; the message is one line.
    assert lookup_text(pattern) == (
        "Fix crash when the config is empty\nreturn data key get default value"
    )


def test_long_messages_and_changes_are_cut_at_whole_words() -> None:
    words = [f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]
    pattern = make_pattern("x" * 500, "a = 1\n", "\n".join(f"{w} = 1" for w in words))
    message, change = lookup_text(pattern).split("\n")
    assert message == "x" * LOOKUP_MESSAGE_CHARS
    assert len(change) <= LOOKUP_CHANGE_CHARS
    kept = change.split()
    assert (
        kept == words[: len(kept)] and len(change) + 1 + len(words[len(kept)]) > LOOKUP_CHANGE_CHARS
    )


def test_a_pure_addition_is_described_by_its_message_alone() -> None:
    pattern = make_pattern("Add a retry helper", "", "def retry(call):\n    return call()\n")
    assert lookup_text(pattern) == "Add a retry helper"
