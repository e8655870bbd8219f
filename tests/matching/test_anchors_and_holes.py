"""Anchored matching and literal holes (roles.py): a fix generalizes over the names a
programmer chose and over the literals it carries, never over the API it calls."""

from __future__ import annotations

import textwrap

from pattern_memory.matching import DocumentTokens, MatchKind, build_template, find_matches


def matches(document: str, before: str, after: str, language: str = "python") -> list:
    template = build_template(before, after, language)
    assert template is not None
    return find_matches(DocumentTokens.from_text(document, language), template)


def apply(document: str, before: str, after: str, language: str = "python") -> str:
    found = matches(document, before, after, language)
    for match in reversed(found):
        document = (
            document[: match.replace_start] + match.replacement + document[match.replace_end :]
        )
    return document


SHA_BEFORE = textwrap.dedent(
    """\
    def digest(payload):
        h = hashlib.md5()
        h.update(payload)
        return h.hexdigest()
    """
)
SHA_AFTER = SHA_BEFORE.replace("hashlib.md5()", "hashlib.sha1()")


def test_an_attribute_is_an_api_name_and_never_renamed() -> None:
    # "use SHA-1 instead of MD5" says nothing about code that already uses SHA3-256.
    document = SHA_BEFORE.replace("md5", "sha3_256").replace("digest(payload)", "sign(data)")
    document = document.replace("(payload)", "(data)")
    assert matches(document, SHA_BEFORE, SHA_AFTER) == []
    # The same code with md5, under other local names, is found and fixed.
    renamed = SHA_BEFORE.replace("payload", "data").replace("h.", "m.").replace("h =", "m =")
    fixed = apply(renamed, SHA_BEFORE, SHA_AFTER)
    assert "m = hashlib.sha1()" in fixed and "md5" not in fixed


CONFIG_BEFORE = textwrap.dedent(
    """\
    def read_timeout(config):
        value = config["timeout"]
        return value * 2
    """
)
CONFIG_AFTER = textwrap.dedent(
    """\
    def read_timeout(config):
        value = config.get("timeout")
        if value is None:
            return None
        return value * 2
    """
)


def test_a_literal_the_fix_carries_is_a_hole() -> None:
    document = textwrap.dedent(
        """\
        def read_retries(options):
            value = options["retries"]
            return value * 2
        """
    )
    [match] = matches(document, CONFIG_BEFORE, CONFIG_AFTER)
    assert match.kind is MatchKind.RENAMED
    assert ('"timeout"', '"retries"') in match.renames
    fixed = apply(document, CONFIG_BEFORE, CONFIG_AFTER)
    assert 'value = options.get("retries")' in fixed
    assert "if value is None:" in fixed
    compile(fixed, "fixed.py", "exec")


def test_the_same_literal_is_matched_exactly() -> None:
    document = CONFIG_BEFORE.replace("read_timeout", "timeout_of")
    fixed = apply(document, CONFIG_BEFORE, CONFIG_AFTER)
    assert 'value = config.get("timeout")' in fixed


def test_a_literal_hole_maps_one_to_one() -> None:
    before = 'def pick(d):\n    a = d["k"]\n    b = d["k"]\n    return a + b\n'
    after = 'def pick(d):\n    a = d.get("k")\n    b = d.get("k")\n    return a + b\n'
    document = 'def pick(d):\n    a = d["x"]\n    b = d["y"]\n    return a + b\n'
    assert matches(document, before, after) == []


def test_a_hole_stands_for_its_own_kind_only() -> None:
    document = textwrap.dedent(
        """\
        def read_first(items):
            value = items[0]
            return value * 2
        """
    )
    assert matches(document, CONFIG_BEFORE, CONFIG_AFTER) == []


def test_a_literal_the_fix_changes_is_an_anchor() -> None:
    before = "def connect_db(host):\n    conn = connect(host, timeout=30)\n    return conn\n"
    after = "def connect_db(host):\n    conn = connect(host, timeout=60)\n    return conn\n"
    document = "def open_db(addr):\n    conn = connect(addr, timeout=10)\n    return conn\n"
    assert matches(document, before, after) == []
    same = "def open_db(addr):\n    conn = connect(addr, timeout=30)\n    return conn\n"
    assert "timeout=60" in apply(same, before, after)


def test_called_functions_and_keyword_arguments_are_anchors() -> None:
    before = "def fetch(url):\n    reply = get(url, verify=False)\n    return reply.json()\n"
    after = "def fetch(url):\n    reply = get(url, verify=True)\n    return reply.json()\n"
    other_function = (
        "def load(link):\n    reply = post(link, verify=False)\n    return reply.json()\n"
    )
    assert matches(other_function, before, after) == []
    other_keyword = (
        "def load(link):\n    reply = get(link, stream=False)\n    return reply.json()\n"
    )
    assert matches(other_keyword, before, after) == []
    renamed = "def load(link):\n    res = get(link, verify=False)\n    return res.json()\n"
    assert "res = get(link, verify=True)" in apply(renamed, before, after)


def test_a_called_parameter_is_a_callback_and_may_be_renamed() -> None:
    before = "def run(task, done):\n    result = task()\n    done(result)\n    return result\n"
    after = (
        "def run(task, done):\n    result = task()\n    if result is not None:\n"
        "        done(result)\n    return result\n"
    )
    document = "def go(job, finish):\n    result = job()\n    finish(result)\n    return result\n"
    assert "if result is not None:\n        finish(result)" in apply(document, before, after)


def test_imported_modules_and_constants_are_anchors() -> None:
    before = "import json\n\ndef parse(body):\n    data = json.loads(body)\n    return data[KEY]\n"
    after = (
        "import json\n\ndef parse(body):\n    data = json.loads(body or '{}')\n"
        "    return data[KEY]\n"
    )
    other_module = (
        "import yaml\n\ndef parse(text):\n    data = yaml.loads(text)\n    return data[KEY]\n"
    )
    assert matches(other_module, before, after) == []
    other_constant = (
        "import json\n\ndef parse(text):\n    data = json.loads(text)\n    return data[NAME]\n"
    )
    assert matches(other_constant, before, after) == []


def test_javascript_object_keys_are_anchors() -> None:
    before = (
        "function make(size) {\n  const opts = { limit: size, strict: false };\n  return opts;\n}\n"
    )
    after = (
        "function make(size) {\n  const opts = { limit: size, strict: true };\n  return opts;\n}\n"
    )
    other_key = "function make(n) {\n  const opts = { max: n, strict: false };\n  return opts;\n}\n"
    assert matches(other_key, before, after, "javascript") == []
    renamed = "function build(n) {\n  const o = { limit: n, strict: false };\n  return o;\n}\n"
    assert "strict: true" in apply(renamed, before, after, "javascript")


def test_a_parameter_with_a_default_is_a_local_name() -> None:
    before = "def add(item, bucket=[]):\n    bucket.append(item)\n    return bucket\n"
    after = (
        "def add(item, bucket=None):\n    bucket = bucket or []\n    bucket.append(item)\n"
        "    return bucket\n"
    )
    document = "def push(x, acc=[]):\n    acc.append(x)\n    return acc\n"
    assert "acc = acc or []" in apply(document, before, after)


def test_an_insertion_after_one_ubiquitous_line_has_nothing_to_locate() -> None:
    # The line stands in every module: it says nothing about where a try block belongs.
    before = "logger = logging.getLogger(__name__)\n\n\n# Variables set by CI systems.\n"
    after = before.replace(
        "\n\n\n", "\n\n\ntry:\n    import keyring\nexcept ImportError:\n    keyring = None\n\n"
    )
    assert build_template(before, after, "python") is None


def test_an_insertion_located_by_imports_only_has_nothing_to_locate() -> None:
    before = "var accepts = require('accepts');\nvar debug = require('debug')('x');\n"
    after = before + "\nvar hasOwnProperty = Object.prototype.hasOwnProperty;\n"
    assert build_template(before, after, "javascript") is None


def test_comment_lines_are_no_context_for_an_insertion() -> None:
    # Inserted between two lines of a doc comment, after the imports: nothing to locate.
    before = "var debug = require('debug')('x');\n\n/**\n * Expose `Layer`.\n */\n"
    after = before.replace("/**\n", "/**\n * Module variables.\n */\n\nvar own = 1;\n\n/**\n")
    assert build_template(before, after, "javascript") is None


def test_a_literal_of_the_unchanged_context_is_an_anchor() -> None:
    # The guard's context `return f"..."` says where the fix applies: not any string.
    before = "def __str__(self):\n    return f'{self.name} <{self.email}>'\n"
    after = (
        "def __str__(self):\n    if '@' in self.name:\n        return f'\"{self.name}\"'\n"
        "    return f'{self.name} <{self.email}>'\n"
    )
    other = "def __repr__(self):\n    return f'{self.kind}({self.args})'\n"
    assert matches(other, before, after) == []
    assert (
        len(matches("class Email:\n    " + before.replace("\n    ", "\n        "), before, after))
        == 1
    )


def test_a_string_quoted_otherwise_is_the_same_string_and_keeps_its_quotes() -> None:
    document = "def read_timeout(config):\n    value = config['timeout']\n    return value * 2\n"
    fixed = apply(document, CONFIG_BEFORE, CONFIG_AFTER)
    assert "value = config.get('timeout')" in fixed
    [match] = matches(document, CONFIG_BEFORE, CONFIG_AFTER)
    assert match.score == 1.0
