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


# Roles from the tree (roles.tree_roles): where token context misjudged a name.


def test_javascript_a_ternary_inside_an_object_is_not_a_key() -> None:
    # By token context, `attempts` before `:` inside `{...}` was an object key (an API);
    # the tree says it is the ternary's branch, a local name, and `retries` the only key.
    before = (
        "const config = { retries: attempts > 0 ? attempts : fallback };\n"
        "client.request(url, config);\n"
    )
    after = before.replace("client.request(url, config)", "client.send(url, config)")
    document = before.replace("attempts", "tries").replace("config", "settings")
    [match] = matches(document, before, after, "javascript")
    assert match.kind is MatchKind.RENAMED and ("attempts", "tries") in match.renames
    other_key = document.replace("retries:", "timeout:")
    assert matches(other_key, before, after, "javascript") == []


def test_javascript_destructured_bindings_and_shorthand_keys() -> None:
    # `load` is bound by the destructuring (`fetch: load`): calling it calls a local, which
    # may have another name; `fetch` is the key read, an API. A shorthand key is a key.
    before = (
        "const { fetch: load } = deps;\n"
        "const response = load(url, { timeout });\n"
        "return response.json();\n"
    )
    after = before.replace("= load(url", "= await load(url")
    renamed = before.replace("load", "get").replace("response", "res")
    [match] = matches(renamed, before, after, "javascript")
    assert ("load", "get") in match.renames
    assert "const res = await get(url, { timeout });" in apply(renamed, before, after, "javascript")
    shorthand = before.replace("{ timeout }", "{ delay }")
    assert matches(shorthand, before, after, "javascript") == []


def test_go_a_case_value_is_not_a_struct_key() -> None:
    # By token context, `want` before `:` inside `{...}` was a composite literal's key; the
    # tree reads a switch case on a parameter: renameable.
    before = textwrap.dedent(
        """\
        func matches(kind string, want string) bool {
            switch kind { case want: return strings.HasPrefix(kind, "x") }
            return false
        }
        """
    )
    after = before.replace('strings.HasPrefix(kind, "x")', 'strings.HasPrefix(kind, "y")')
    document = before.replace("want", "expected").replace("kind", "k")
    [match] = matches(document, before, after, "go")
    assert ("want", "expected") in match.renames
    assert 'strings.HasPrefix(k, "y")' in apply(document, before, after, "go")


def test_go_keys_fields_and_imported_packages_from_the_tree() -> None:
    # A struct literal's key and a selector's field are APIs; `:=` and `range` bind names;
    # an imported package is an API even where its selector is all the fragment shows.
    before = textwrap.dedent(
        """\
        import "github.com/spf13/pflag"

        for _, name := range names {
            flag := Flag{Name: name, Usage: pflag.Lookup(name).Usage}
            register(flag)
        }
        """
    )
    after = before.replace("register(flag)", "register(&flag)")
    renamed = before.replace("name", "n").replace("flag :", "f :").replace("(flag)", "(f)")
    renamed = renamed.replace("Name: n", "Name: n")  # the key stays
    [match] = matches(renamed, before, after, "go")
    assert ("name", "n") in match.renames and ("flag", "f") in match.renames
    for change in ("Name:", "Usage:", ".Lookup", "pflag."):
        other = renamed.replace(change, change.replace(change.strip(".:"), "Other"))
        assert matches(other, before, after, "go") == [], change


def test_roles_of_a_fragment_that_does_not_parse_keep_the_token_rules() -> None:
    # An unclosed call cut by the hunk: the names right in the ERROR node keep the
    # token-context roles (`h` before `=` is bound, `data` a local), the attribute inside
    # it is the tree's (`md5` an anchor).
    from pattern_memory.matching.roles import pattern_roles, template_anchors
    from pattern_memory.matching.tokens import tokenize

    code = "h = hashlib.md5(\n    data,\n"
    roles = pattern_roles(code, "python")
    assert roles.tree is not None and roles.tree.has_error
    tokens = tokenize(code, "python")
    anchored = {tokens[i].text for i in template_anchors(tokens, "python", roles, 0)}
    assert "md5" in anchored and "data" not in anchored and "h" not in anchored
    assert code.index("md5") in roles.tree.parsed and 0 not in roles.tree.parsed
    assert "h" in roles.scope


def test_tree_roles_find_their_tokens_in_non_ascii_code() -> None:
    # tree-sitter counts bytes, tokens count characters: the roles must meet the tokens.
    from pattern_memory.matching.roles import pattern_roles, template_anchors
    from pattern_memory.matching.tokens import tokenize

    code = 'résumé = "ü€𝄞"\nh = hashlib.md5(résumé, usedforsecurity=naïve)\n'
    roles = pattern_roles(code, "python")
    tokens = tokenize(code, "python")
    assert roles.tree is not None
    names = [t for t in tokens if t.kind.value == "name"]
    assert {t.start for t in names} <= roles.tree.parsed
    anchored = {tokens[i].text for i in template_anchors(tokens, "python", roles, 0)}
    assert anchored == {"md5", "usedforsecurity"}


def test_a_string_hole_is_never_filled_by_a_regex_literal() -> None:
    # express's "Fix req.host for IPv6 literals" carries `':'` into its fix: a hole for any
    # string, which matched `proto.split(/\s*,\s*/)` once regex literals were one token.
    before = "req.host = function () {\n  return host.split(':')[0];\n};\n"
    after = (
        "req.host = function () {\n  var index = host.indexOf(':');\n"
        "  return ~index ? host.substring(0, index) : host;\n};\n"
    )
    assert (
        matches(
            "function f() {\n  return proto.split(/\\s*,\\s*/)[0];\n};\n",
            before,
            after,
            "javascript",
        )
        == []
    )
    [match] = matches(
        "function f() {\n  return proto.split(',')[0];\n};\n", before, after, "javascript"
    )
    assert ("':'", "','") in match.renames
