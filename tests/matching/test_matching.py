from __future__ import annotations

import textwrap

from pattern_memory.matching import (
    DocumentTokens,
    MatchKind,
    TokenKind,
    build_template,
    find_matches,
    tokenize,
)
from tests.matching.matching_samples import AFTER, BEFORE


def apply(text: str, before: str, after: str, language: str = "python") -> tuple[str, list]:
    template = build_template(before, after, language)
    assert template is not None
    matches = find_matches(DocumentTokens.from_text(text, language), template)
    for match in reversed(matches):
        text = text[: match.replace_start] + match.replacement + text[match.replace_end :]
    return text, matches


def test_tokens_skip_whitespace_and_comments_and_classify_names() -> None:
    tokens = tokenize("if user_id is None:  # check\n    return len(x)", "python")
    assert [t.text for t in tokens] == [
        "if",
        "user_id",
        "is",
        "None",
        ":",
        "return",
        "len",
        "(",
        "x",
        ")",
    ]
    kinds = {t.text: t.kind for t in tokens}
    assert kinds["user_id"] is TokenKind.NAME
    assert kinds["None"] is TokenKind.FIXED
    assert kinds["len"] is TokenKind.FIXED


def test_c_like_comments_and_strings() -> None:
    tokens = tokenize('const a = "x // y"; // trailing\n/* block */ b === c', "typescript")
    assert [t.text for t in tokens] == ["const", "a", "=", '"x // y"', ";", "b", "===", "c"]


def test_template_keeps_the_changed_lines_and_enough_context() -> None:
    template = build_template(BEFORE, AFTER, "python")
    assert template is not None
    # The inserted lines alone are empty on the before side: context is taken around them.
    assert "row = db.get(uid)" in template.before
    assert "if row is None:" in template.after
    assert "def load" not in template.before


def test_whitespace_only_change_has_no_template() -> None:
    assert build_template("x = f(a)\n", "x  =  f(a)   \n", "python") is None


def test_exact_match_is_replaced_by_the_after_code() -> None:
    document = "import db\n\n\n" + BEFORE + "\nprint('done')\n"
    fixed, matches = apply(document, BEFORE, AFTER)
    assert [m.kind for m in matches] == [MatchKind.EXACT]
    assert matches[0].score == 1.0
    assert fixed == "import db\n\n\n" + AFTER + "\nprint('done')\n"


def test_whitespace_different_match_keeps_document_indentation() -> None:
    document = textwrap.dedent(
        """\
        class Repo:
            def load(self, uid):
                row = db.get( uid )
                return row[ "name" ]
        """
    )
    fixed, matches = apply(document, BEFORE, AFTER)
    assert [m.kind for m in matches] == [MatchKind.WHITESPACE]
    assert fixed == textwrap.dedent(
        """\
        class Repo:
            def load(self, uid):
                row = db.get(uid)
                if row is None:
                    return None
                return row["name"]
        """
    )


def test_renamed_identifiers_are_carried_over_consistently() -> None:
    document = textwrap.dedent(
        """\
        def fetch(user_id):
            record = db.get(user_id)
            return record["name"]
        """
    )
    fixed, matches = apply(document, BEFORE, AFTER)
    assert [m.kind for m in matches] == [MatchKind.RENAMED]
    assert dict(matches[0].renames) == {"uid": "user_id", "row": "record"}
    assert 0.0 < matches[0].score < 1.0
    assert fixed == textwrap.dedent(
        """\
        def fetch(user_id):
            record = db.get(user_id)
            if record is None:
                return None
            return record["name"]
        """
    )


def test_inconsistent_renaming_does_not_match() -> None:
    # `uid` would have to become both `a` and `b`.
    document = "record = db.get(a)\nreturn record[b]\n"
    template = build_template(
        "row = db.get(uid)\nreturn row[uid]\n",
        "row = db.get(uid) or {}\nreturn row.get(uid)\n",
        "python",
    )
    assert template is not None
    assert find_matches(DocumentTokens.from_text(document, "python"), template) == []


def test_two_pattern_names_cannot_map_to_one_document_name() -> None:
    template = build_template(
        "total = add(left, right)\n", "total = add(left, right) or 0\n", "python"
    )
    assert template is not None
    document = DocumentTokens.from_text("total = add(x, x)\n", "python")
    assert find_matches(document, template) == []


def test_partial_before_code_is_not_a_match() -> None:
    document = textwrap.dedent(
        """\
        def load(uid):
            row = db.get(uid)
            print(row)
        """
    )
    _, matches = apply(document, BEFORE, AFTER)
    assert matches == []


def test_keywords_and_builtins_are_never_renamed() -> None:
    before = "if value is None:\n    return len(items)\n"
    after = "if value is None:\n    return len(items or [])\n"
    template = build_template(before, after, "python")
    assert template is not None
    for document in (
        "if value is not None:\n    return len(items)\n",  # keyword sequence differs
        "if value is True:\n    return len(items)\n",  # keyword replaced
        "if value is None:\n    return max(items)\n",  # builtin replaced
    ):
        assert find_matches(DocumentTokens.from_text(document, "python"), template) == []
    renamed = DocumentTokens.from_text("if item is None:\n    return len(rows)\n", "python")
    [match] = find_matches(renamed, template)
    assert match.replacement == "if item is None:\n    return len(rows or [])\n"


def test_literals_must_match_exactly() -> None:
    template = build_template(
        "timeout = connect(host, 30)\n", "timeout = connect(host, 60)\n", "python"
    )
    assert template is not None
    document = DocumentTokens.from_text("timeout = connect(host, 10)\n", "python")
    assert find_matches(document, template) == []


def test_every_occurrence_is_found_with_offsets() -> None:
    line = "value = int(raw.strip())\n"
    template = build_template(line, "value = int(raw.strip() or 0)\n", "python")
    assert template is not None
    document = "a = 1\n" + line + "b = 2\n" + line
    matches = find_matches(DocumentTokens.from_text(document, "python"), template)
    assert [document[m.start : m.end] for m in matches] == [line.strip(), line.strip()]
    assert matches[0].start == len("a = 1\n")


def test_match_inside_a_line_replaces_only_the_tokens() -> None:
    template = build_template(
        "data = json.loads(body)\n", "data = json.loads(body or '{}')\n", "python"
    )
    assert template is not None
    document = "if ok: data = json.loads(body)  # parse\n"
    fixed, _ = apply(document, "data = json.loads(body)\n", "data = json.loads(body or '{}')\n")
    assert fixed == "if ok: data = json.loads(body or '{}')  # parse\n"


def test_deleted_lines_leave_no_blank_line() -> None:
    before = "setup()\nprint('debug', state)\nrun(state)\n"
    after = "setup()\nrun(state)\n"
    fixed, matches = apply(
        "    setup()\n    print('debug', state)\n    run(state)\n", before, after
    )
    assert len(matches) == 1
    assert fixed == "    setup()\n    run(state)\n"


def test_other_languages_use_the_generic_tokenizer() -> None:
    before = "const user = users.find(id);\nreturn user.name;\n"
    after = "const user = users.find(id);\nreturn user?.name;\n"
    document = (
        "function f(key) {\n  const account = accounts.find(key);\n  return account.name;\n}\n"
    )
    fixed, matches = apply(document, before, after, "javascript")
    assert [m.kind for m in matches] == [MatchKind.RENAMED]
    assert "return account?.name;" in fixed


def test_crlf_documents_get_crlf_replacements() -> None:
    document = "import db\r\n\r\n" + BEFORE.replace("\n", "\r\n")
    fixed, matches = apply(document, BEFORE, AFTER)
    assert len(matches) == 1
    assert fixed == "import db\r\n\r\n" + AFTER.replace("\n", "\r\n")


def test_a_fix_that_wraps_code_in_a_block_re_indents_it() -> None:
    before = "def load(path):\n    handle = open(path)\n    text = handle.read()\n    return text\n"
    after = (
        "def load(path):\n    with open(path) as handle:\n        text = handle.read()\n"
        "    return text\n"
    )
    document = textwrap.dedent(
        """\
        def load_all(paths):
            for path in paths:
                fh = open(path)
                body = fh.read()
                yield body
        """
    )
    fixed, [match] = apply(document, before, after)
    assert match.kind is MatchKind.RENAMED
    assert fixed == textwrap.dedent(
        """\
        def load_all(paths):
            for path in paths:
                with open(path) as fh:
                    body = fh.read()
                yield body
        """
    )
    compile(fixed, "fixed.py", "exec")


def test_an_indentation_only_change_is_part_of_the_edit() -> None:
    before = "if ready:\n    start()\nfinish(job)\n"
    after = "if ready:\n    start()\n    finish(job)\n"
    fixed, [_match] = apply("if ready:\n    start()\nfinish(task)\n", before, after)
    assert fixed == "if ready:\n    start()\n    finish(task)\n"


def test_a_name_from_outside_the_change_is_bound_by_widening_the_template() -> None:
    before = "def lookup(data, key, default):\n    value = data[key]\n    return value\n"
    after = (
        "def lookup(data, key, default):\n    value = data.get(key, default)\n    return value\n"
    )
    template = build_template(before, after, "python")
    assert template is not None and template.before.startswith("def lookup(")
    document = "def find(users, uid, fallback):\n    row = users[uid]\n    return row\n"
    fixed, [match] = apply(document, before, after)
    assert (
        fixed
        == "def find(users, uid, fallback):\n    row = users.get(uid, fallback)\n    return row\n"
    )
    assert ("default", "fallback") in match.renames


def test_a_fix_referring_to_a_name_the_document_lacks_is_not_offered() -> None:
    before = "def run(items):\n    first = items[0]\n    return first.name\n"
    after = "def run(items):\n    first = first_or_none(items)\n    return first.name\n"
    document = "def show(rows):\n    first = rows[0]\n    return first.name\n"
    _fixed, matches = apply(document, before, after)
    assert matches == []
    # With the helper in the document (imported), the fix is offered.
    imported = "from helpers import first_or_none\n\n\n" + document
    fixed, [_match] = apply(imported, before, after)
    assert "first = first_or_none(rows)" in fixed


def test_a_name_the_fix_introduces_is_fine_unless_the_document_uses_it_otherwise() -> None:
    before = "def total(values):\n    return sum(values) / len(values)\n"
    after = (
        "def total(values):\n    count = len(values)\n    if not count:\n        return 0\n"
        "    return sum(values) / count\n"
    )
    fixed, [_match] = apply("def mean(xs):\n    return sum(xs) / len(xs)\n", before, after)
    assert "    count = len(xs)\n" in fixed
    compile(fixed, "fixed.py", "exec")
    # `count` is what this document calls `values`: introducing it would break the code.
    _fixed, clash = apply("def mean(count):\n    return sum(count) / len(count)\n", before, after)
    assert clash == []


def test_an_added_guard_is_not_offered_again_once_it_is_there() -> None:
    before = "first = rows[0]\nname = first.title\n"
    after = "if not rows:\n    return None\nfirst = rows[0]\nname = first.title\n"
    document = "def top(items):\n    first = items[0]\n    name = first.title\n"
    fixed, [_match] = apply(document, before, after)
    assert fixed == (
        "def top(items):\n    if not items:\n        return None\n"
        "    first = items[0]\n    name = first.title\n"
    )
    again, matches = apply(fixed, before, after)
    assert matches == [] and again == fixed


def test_an_appended_line_is_not_offered_again_once_it_is_there() -> None:
    before = "def close(self):\n    self.pool.close()\n"
    after = "def close(self):\n    self.pool.close()\n    self.pool = None\n"
    document = "class Db:\n    def close(self):\n        self.pool.close()\n"
    fixed, [_match] = apply(document, before, after)
    assert fixed.endswith("        self.pool.close()\n        self.pool = None\n")
    _again, matches = apply(fixed, before, after)
    assert matches == []


def test_a_re_indentation_is_not_offered_again_once_applied() -> None:
    before, after = (
        "if ready:\n    start()\nfinish(job)\n",
        "if ready:\n    start()\n    finish(job)\n",
    )
    fixed, [_match] = apply("if ready:\n    start()\nfinish(job)\n", before, after)
    _again, matches = apply(fixed, before, after)
    assert matches == []


def test_a_small_template_is_found_verbatim_but_never_renamed() -> None:
    before, after = "value = data[key]\n", "value = data.get(key)\n"
    _fixed, renamed = apply("def f(b, c):\n    a = b[c]\n    return a\n", before, after)
    assert renamed == []
    fixed, [match] = apply("def f(data, key):\n    value = data[key]\n", before, after)
    assert match.kind is MatchKind.EXACT and "value = data.get(key)" in fixed


def test_the_renamed_score_threshold_is_respected() -> None:
    template = build_template(BEFORE, AFTER, "python")
    assert template is not None
    document = DocumentTokens.from_text(
        'def load(user_id):\n    record = db.get(user_id)\n    return record["name"]\n', "python"
    )
    [match] = find_matches(document, template, min_renamed_score=0.6)
    assert match.kind is MatchKind.RENAMED and 0.6 <= match.score < 0.9
    assert find_matches(document, template, min_renamed_score=0.9) == []


def test_a_line_less_indented_than_the_first_keeps_its_depth() -> None:
    # axios' mergeConfig guard, learned two columns deeper than its closing `});`, matched
    # in fetch.js eight columns deep: the `});` goes to six, not eight.
    before = "    config[prop] = config2[prop];\n  });\n"
    after = (
        "    if (typeof config2[prop] !== 'undefined') {\n"
        "      config[prop] = config2[prop];\n"
        "    }\n"
        "  });\n"
    )
    document = "      names.forEach(prop => {\n        options[prop] = response[prop];\n      });\n"
    template = build_template(before, after, "javascript")
    assert template is not None
    fixed, [_match] = apply(document, template.before, template.after, "javascript")
    assert fixed.endswith("        }\n      });\n")
    # In Python the depth is the block a line belongs to: the `return` must stay out of
    # the loop.
    before = "        for user in users:\n            send(user)\n    return count\n"
    after = "        for user in users:\n            send(user, retry=True)\n    return count\n"
    document = textwrap.dedent(
        """\
        class Mailer:
            def notify(self, users, count):
                if users:
                    for user in users:
                        send(user)
                return count
        """
    )
    fixed, [_match] = apply(document, before, after)
    assert fixed.endswith("                send(user, retry=True)\n        return count\n")
    # Matching ignores whitespace: where the document nests its lines otherwise than the
    # pattern, its own depths stand (the `return` stays in the function).
    learned = textwrap.indent(before, "    ")
    document = (
        "def notify(users, count):\n    for user in users:\n        send(user)\n    return count\n"
    )
    fixed, [_match] = apply(document, learned, textwrap.indent(after, "    "))
    assert fixed.endswith("        send(user, retry=True)\n    return count\n")
    compile(fixed, "fixed.py", "exec")
