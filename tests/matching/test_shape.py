from __future__ import annotations

import textwrap

from pattern_memory.matching import DocumentTokens, build_template, find_matches, tokenize
from pattern_memory.matching.shape import (
    NAME_PLACEHOLDER,
    NUMBER_PLACEHOLDER,
    SHINGLE_TOKENS,
    STRING_PLACEHOLDER,
    code_shingles,
    pattern_shingles,
    shingles,
    skeleton,
)
from tests.matching.matching_samples import AFTER, BEFORE


def test_renamed_code_has_the_same_skeleton_and_shingles() -> None:
    original = "record = users[user_id]\nreturn len(record)"
    renamed = "v = m[k]\nreturn len(v)"
    assert skeleton(tokenize(original)) == skeleton(tokenize(renamed))
    assert code_shingles(original, "python") == code_shingles(renamed, "python")
    assert code_shingles(original, "python")


def test_keywords_builtins_and_operators_are_kept_and_literals_become_their_kind() -> None:
    shape = skeleton(tokenize('if row is None:\n    return len(row) + 1, "x"'))
    n, num, text = NAME_PLACEHOLDER, NUMBER_PLACEHOLDER, STRING_PLACEHOLDER
    assert shape == ["if", n, "is", "None", ":", "return", "len", "(", n, ")", "+", num, ",", text]


def test_different_structure_or_literals_give_different_shingles() -> None:
    base = code_shingles("value = data[key]\nreturn value", "python")
    for other in (
        "value = data.get(key)\nreturn value",
        "value = data[0]\nreturn value",
        "value = len[key]\nreturn value",
    ):
        # Not contained: a search by shingles does not take one for the other.
        assert not base <= code_shingles(other, "python")


def test_white_space_and_comments_do_not_change_the_shingles() -> None:
    assert code_shingles("a = b[c]  # x\nreturn a", "python") == code_shingles(
        "a=b[ c ]\n\n    return a", "python"
    )


def test_one_shingle_per_run_of_tokens_and_one_for_short_code() -> None:
    assert len(shingles(tokenize("a + 1"))) == 1
    # Literals are placeholders in the shape: distinct operators make every run distinct.
    operators = ["+", "-", "*", "/", "%", "&", "|", "^"][: SHINGLE_TOKENS - 1]
    tokens = tokenize("x" + "".join(f" {op} x" for op in operators))  # 2k - 1 tokens
    assert len(shingles(tokens)) == len(tokens) - SHINGLE_TOKENS + 1
    assert shingles([]) == frozenset()


def test_a_name_used_again_further_on_is_part_of_the_shape() -> None:
    reused = pattern_shingles(
        "def f(a, b):\n    a = b[c]\n    return a\n",
        "def f(a, b):\n    a = b.get(c)\n    return a\n",
        "python",
    )
    fresh = "def find(users, user_id):\n    record = users[user_id]\n    return record\n"
    assert not reused <= code_shingles(fresh, "python")
    same = "def find(record, users):\n    record = users[user_id]\n    return record\n"
    assert reused <= code_shingles(same, "python")


def test_shingles_keep_which_names_are_the_same() -> None:
    """A consistent renaming maps equal names to equal names and different to different."""
    assert code_shingles("a = b[a]", "python") == code_shingles("key = table[key]", "python")
    assert code_shingles("a = b[a]", "python") != code_shingles("a = b[c]", "python")
    assert not code_shingles("a = b[c]", "python") <= code_shingles("a = a[c]", "python")


def test_pattern_shingles_are_those_of_its_template_and_contained_in_a_renamed_match() -> None:
    document = textwrap.dedent(
        """\
        import os

        def fetch(user_id):
            record = store.get(user_id)
            return record["name"]

        def other(a, b):
            return a + b
        """
    )
    template = build_template(BEFORE, AFTER, "python")
    assert template is not None
    assert find_matches(DocumentTokens.from_text(document, "python"), template)
    wanted = pattern_shingles(BEFORE, AFTER, "python")
    assert wanted and wanted <= code_shingles(template.before, "python")
    assert wanted <= code_shingles(document, "python")
    # The unchanged first line is not part of what is looked for.
    assert not code_shingles("def load(uid):", "python") & wanted


def test_a_change_with_nothing_to_locate_has_no_shingles() -> None:
    assert pattern_shingles("x = 1\n", "x  =  1\n", "python") == frozenset()
    assert pattern_shingles("", "x = compute(a, b)\n", "python") == frozenset()
