"""What may become a diagnostic (withheld.py) and what a quick fix may do (safety.py)."""

from __future__ import annotations

import textwrap

import pytest

from pattern_memory.matching import Withheld, edit_harm, is_test_path, withheld_reason
from pattern_memory.matching.safety import DocumentSafety
from pattern_memory.matching.withheld import MASS_EDIT_SITES, CommitEdits, abstract_edit

CODE = "def area(w, h):\n    return w * h\n"


@pytest.mark.parametrize(
    ("before", "after", "message", "reason"),
    [
        # "Fix some type errors." deleting the __future__ import.
        (
            "from __future__ import annotations\n\nimport os\n",
            "import os\n",
            "Fix some type errors.",
            Withheld.IMPORTS,
        ),
        ("import os\nimport sys\n", "import sys\n", "fix unused import", Withheld.IMPORTS),
        (
            "from pkg import (\n    alpha,\n    beta,\n)\n\n" + CODE,
            "from pkg import (\n    alpha,\n    beta,\n    gamma,\n)\n\n" + CODE,
            "fix missing export",
            Withheld.IMPORTS,
        ),
        (
            'def area(w, h):\n    """Area."""\n    return w * h\n',
            'def area(w, h):\n    """The area of a rectangle."""\n    return w * h\n',
            "fix docstring",
            Withheld.IMPORTS,  # docstrings fold into the same syntax-tree comparison
        ),
        (CODE, CODE.replace("w * h", "w*h"), "fix style", Withheld.FORMATTING),
        (CODE + "# old\n", CODE + "# new\n", "fix comment", Withheld.FORMATTING),
        (
            'raise ValueError("bad vlaue")\n',
            'raise ValueError("bad value")\n',
            "fix message",
            Withheld.STRINGS,
        ),
        ('__version__ = "1.2.0"\n', '__version__ = "1.2.1"\n', "bugfix release", Withheld.VERSION),
        (
            "total = a + b\nreturn totl\n",
            "total = a + b\nreturn total\n",
            "Fix typo in variable name",
            Withheld.TYPO,
        ),
    ],
)
def test_changes_that_are_learned_but_never_flagged(
    before: str, after: str, message: str, reason: Withheld
) -> None:
    assert withheld_reason(before, after, "python", message) is reason


def test_a_real_fix_may_be_flagged() -> None:
    before = "def first(rows):\n    return rows[0]\n"
    after = "def first(rows):\n    if not rows:\n        return None\n    return rows[0]\n"
    assert withheld_reason(before, after, "python", "fix IndexError on empty result") is None
    js_before = "const user = users.find(id);\nreturn user.name;\n"
    js_after = "const user = users.find(id);\nreturn user?.name;\n"
    assert withheld_reason(js_before, js_after, "javascript", "fix crash") is None


def test_javascript_import_changes_are_withheld() -> None:
    before = "import { a } from './a';\nconst fs = require('fs');\n"
    after = "import { a, b } from './a';\n"
    assert withheld_reason(before, after, "javascript", "fix build") is Withheld.IMPORTS


@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("tests/test_app.py", True),
        ("src/app/tests/helpers.py", True),
        ("pkg/test_utils.py", True),
        ("conftest.py", True),
        ("server/handler_test.go", True),
        ("web/app.spec.ts", True),
        ("lib/router.test.js", True),
        ("src/app/testing.py", False),
        ("src/contest.py", False),
        ("src/app/latest.py", False),
    ],
)
def test_test_paths(path: str, is_test: bool) -> None:
    assert is_test_path(path) is is_test


DOCUMENT = textwrap.dedent(
    """\
    import os
    import json


    def load(path):
        with open(path) as handle:
            return json.load(handle)


    def home():
        return os.path.expanduser("~")
    """
)


def test_a_safe_edit_passes() -> None:
    edited = DOCUMENT.replace("json.load(handle)", "json.load(handle) or {}")
    assert edit_harm(DOCUMENT, edited, "python") is None


def test_an_edit_that_breaks_the_syntax_is_harmful() -> None:
    edited = DOCUMENT.replace("return json.load(handle)", "return json.load(handle")
    assert "parse" in str(edit_harm(DOCUMENT, edited, "python"))


def test_an_edit_that_deletes_an_import_still_used_is_harmful() -> None:
    edited = DOCUMENT.replace("import os\n", "")
    assert "`os`" in str(edit_harm(DOCUMENT, edited, "python"))


def test_an_edit_that_uses_an_undefined_name_is_harmful() -> None:
    edited = DOCUMENT.replace("json.load(handle)", "ujson.load(handle)")
    assert "`ujson`" in str(edit_harm(DOCUMENT, edited, "python"))


def test_a_name_the_document_already_left_undefined_is_not_blamed_on_the_fix() -> None:
    document = "def run():\n    return helper(1)\n"
    edited = "def run():\n    return helper(1) or 0\n"
    assert edit_harm(document, edited, "python") is None


@pytest.mark.parametrize(
    ("language", "original", "broken", "fine"),
    [
        (
            "javascript",
            "function f(user) {\n  return user.name;\n}\n",
            "function f(user) {\n  return user?.name;\n",
            "function f(user) {\n  return user?.name;\n}\n",
        ),
        (
            "go",
            "package main\n\nfunc f(x int) int {\n\treturn x\n}\n",
            "package main\n\nfunc f(x int) int {\n\treturn x +\n}\n",
            "package main\n\nfunc f(x int) int {\n\treturn x + 1\n}\n",
        ),
    ],
)
def test_other_languages_are_parse_checked_with_tree_sitter(
    language: str, original: str, broken: str, fine: str
) -> None:
    assert "parse" in str(edit_harm(original, broken, language))
    assert edit_harm(original, fine, language) is None


def test_a_document_with_errors_of_its_own_may_still_be_fixed() -> None:
    typing = "function f(user) {\n  return user.name;\n}\nfunction g( {\n"
    fixed = typing.replace("user.name", "user?.name")
    assert edit_harm(typing, fixed, "javascript") is None


def test_an_import_rewrapped_over_several_lines_is_an_import_change() -> None:
    before = "from pkg.utils import HEADERS, chunks, check\n\nlogger = get(__name__)\n\ndef f(x"
    after = (
        "from pkg.utils import (\n    HEADERS,\n    chunks,\n    check,\n)\n\n"
        "logger = get(__name__)\n\ndef f(x"
    )
    assert withheld_reason(before, after, "python", "Resolve lint errors") is Withheld.IMPORTS


def test_a_consistent_rename_is_a_refactoring_but_another_name_is_a_fix() -> None:
    before = "for root, _dirs, files in os.walk(path):\n    use(root, files)\n"
    after = "for root, _, files in os.walk(path):\n    use(root, files)\n"
    assert withheld_reason(before, after, "python", "Fix bugbear") is Withheld.RENAME
    wrong_variable = "total = price * count\nreturn price\n"
    fixed = "total = price * count\nreturn total\n"
    assert withheld_reason(wrong_variable, fixed, "python", "fix total") is None


def test_inserting_a_new_method_is_new_code() -> None:
    before = "    @property\n    def name(self):\n        return self._name\n"
    after = "    @property\n    def slug(self):\n        return self._name.lower()\n\n" + before
    assert withheld_reason(before, after, "python", "Fix uninstall") is Withheld.NEW_DEFINITION
    guard = "def f(x):\n    return x.y\n"
    guarded = "def f(x):\n    if x is None:\n        return None\n    return x.y\n"
    assert withheld_reason(guard, guarded, "python", "fix crash") is None


def test_deleting_a_whole_definition_is_moved_code() -> None:
    before = (
        "func stringInSlice(a string, list []string) bool {\n\tfor _, b := range list {\n"
        "\t\tif b == a {\n\t\t\treturn true\n\t\t}\n\t}\n\treturn false\n}\n"
    )
    assert withheld_reason(before, "", "go", "Refactor args") is Withheld.REMOVED_DEFINITION
    var_before = "// Global map.\nvar handlers = map[string]int{}\n\ntype Kind int\n"
    var_after = "type Kind int\n"
    assert withheld_reason(var_before, var_after, "go", "fix race") is Withheld.REMOVED_DEFINITION


def test_removing_a_go_declaration_still_used_is_harmful() -> None:
    original = (
        "package main\n\nvar handlers = map[string]int{}\n\n"
        "func get(k string) int {\n\treturn handlers[k]\n}\n"
    )
    edited = "package main\n\nfunc get(k string) int {\n\treturn handlers[k]\n}\n"
    assert "`handlers`" in str(edit_harm(original, edited, "go"))


def test_a_type_annotation_change_is_not_a_bug_a_look_alike_repeats() -> None:
    before = (
        "def run(ctx: dict[str, Any] | None = None) -> Any:\n"
        "    value: int = ctx.get('n')\n    return value\n"
    )
    after = (
        "def run(ctx: Any | None = None) -> int:\n"
        "    value: float = ctx.get('n')\n    return value\n"
    )
    assert withheld_reason(before, after, "python", "Fixed type hint of context") is Withheld.TYPES
    default = after.replace("= None", "= {}")
    assert withheld_reason(after, default, "python", "fix default") is None


def _harm(document: str, old: str, new: str, language: str = "python") -> str | None:
    start = document.index(old)
    return DocumentSafety(document, language).harm(start, start + len(old), new)


SIGNATURES = textwrap.dedent(
    """\
    class Person:
        def __init__(self, name, age=0, *, nick=None):
            self.name = name


    def greet(person):
        return "hi " + person.name
    """
)


@pytest.mark.parametrize(
    ("old", "new", "harmful"),
    [
        # Callers pass `person` and nothing more: a new required parameter breaks them.
        ("def greet(person):", "def greet(person, model: Type['Person']):", True),
        ("def greet(person):", "def greet():", True),  # callers pass one argument
        ("def greet(person):", "def greet(person, loud=False):", False),  # optional: fine
        ("def greet(person):", "def greet(person, /):", False),  # still one positional
        ("age=0, *, nick=None", "age, *, nick=None", True),  # age became required
        ("*, nick=None", "*, nick", True),  # a keyword callers may leave out now required
        ("*, nick=None", "*, nick=None, title=''", False),
        ("*, nick=None", "", True),  # `nick=` passed by callers is gone
    ],
)
def test_a_fix_must_not_change_what_callers_of_a_function_pass(
    old: str, new: str, harmful: bool
) -> None:
    harm = _harm(SIGNATURES, old, new)
    if harmful:
        assert "parameters of" in str(harm), harm
    else:
        assert harm is None


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_a_fix_must_not_write_a_line_twice_in_a_row(language: str) -> None:
    # pydantic/v1/main.py's look-alike: a line the learned fix moved up is inserted above
    # itself here, where it already stands.
    document = (
        "def validate(cls, value):\n    value = cls.coerce(value)\n    return cls.check(value)\n"
        if language == "python"
        else "function validate(value) {\n  value = coerce(value);\n  return check(value);\n}\n"
    )
    line = document.splitlines()[1]
    assert "twice in a row" in str(_harm(document, line, f"{line}\n{line}", language))
    # A closing bracket (or another line of little code) twice in a row is normal.
    indent = line[: len(line) - len(line.lstrip())]
    assert _harm(document, line, f"{line}\n{indent}pass", language) is None


def test_removing_a_line_written_twice_is_fine() -> None:
    # express's duplicate route: the fix deletes the second copy.
    document = "app.get('/', index);\napp.get('/', index);\napp.listen(3000);\n"
    assert _harm(document, "app.get('/', index);\n", "", "javascript") is None


RESPONSES = textwrap.dedent(
    """\
    def test_ok(client):
        response = client.get("/")
        assert response.status_code == 200


    class TestErrors:
        def test_missing(self, client):
            response = client.get("/missing")
            assert response.status_code == 404

        def test_quiet(self, client):
            response = client.get("/quiet")
    """
)


@pytest.mark.parametrize(
    ("old", "harmful"),
    [
        # flask's "Various pyflakes fixes" dropped an unused `rv = ...`; where the binding
        # is read on the next line, dropping it breaks the function, even though other
        # functions of the file still bind the same name.
        ('response = client.get("/")', True),
        ('response = client.get("/missing")', True),  # in a method, the class has others
        ('response = client.get("/quiet")', False),  # unused there: the pyflakes fix itself
    ],
)
def test_a_fix_must_not_drop_a_binding_its_function_still_reads(old: str, harmful: bool) -> None:
    harm = _harm(RESPONSES, old, old.replace("response = ", ""))
    if harmful:
        assert harm == "the fix removes `response`, which the document still uses"
    else:
        assert harm is None


NESTED = textwrap.dedent(
    """\
    def test_open_session_with_endpoint():
        class MySessionInterface(SessionInterface):
            def save_session(self, app, session, response):
                pass

        app = flask.Flask(__name__)
        app.session_interface = MySessionInterface()
        response = app.test_client().get("/")
        assert response.status_code == 200
        assert [response for response in ()] == []
    """
)


def test_a_nested_functions_parameter_is_not_the_outer_functions_binding() -> None:
    # flask's tests/test_session_interface.py: the nested `save_session` has a `response`
    # parameter; the test's own `response = ...`, read on the next line, must stay.
    old = 'response = app.test_client().get("/")'
    harm = _harm(NESTED, old, old.replace("response = ", ""))
    assert harm == "the fix removes `response`, which the document still uses"
    # A name the nested function reads from outside itself is read by the outer one.
    closure = NESTED.replace("                pass", "                return app, response")
    closure = closure.replace("session, response", "session")
    assert _harm(closure, old, old.replace("response = ", "")) is not None


def test_the_sites_of_a_codemod_may_differ_in_a_separator() -> None:
    # axios' "Fixing http tests to avoid hanging" added `.catch(done)` to 27 tests of one
    # file, three times as `.catch(done);;`: those three are sites of the same codemod.
    def site(name: str, end: str) -> tuple[tuple[str, ...], str]:
        before = (
            f"it('{name}', function (done) {{\n"
            "  get().then(function () {\n    done();\n  });\n});\n"
        )
        after = before.replace("  });\n}", f"  }}).catch(done){end}\n}}")
        return abstract_edit(before, after, "javascript"), "test/unit/adapters/http.js"

    plain = [site(f"case {n}", ";") for n in range(MASS_EDIT_SITES - 1)]
    odd = site("odd", ";;")
    assert odd[0] != plain[0][0]
    edits = CommitEdits.of([*plain, odd])
    assert edits.is_mass(odd[0]) and edits.is_mass(plain[0][0])
    # One site fewer is no codemod.
    assert not CommitEdits.of(plain).is_mass(odd[0])


def test_an_empty_statement_removed_is_formatting_but_a_semicolon_added_may_be_a_fix() -> None:
    # axios' regression fix also turned `.catch(done);;` into `.catch(done);` in its tests.
    before = "  axios.get(url).then(function () {\n    done();\n  }).catch(done);;\n"
    after = before.replace(";;", ";")
    assert withheld_reason(before, after, "javascript", "Fix a regression") is Withheld.FORMATTING
    # ASI: without the `;` the next line's `(` calls the function's result.
    hazard = "const load = makeLoader()\n(function () { start(); })();\n"
    fixed = hazard.replace("makeLoader()\n", "makeLoader();\n")
    assert withheld_reason(hazard, fixed, "javascript", "Fix a crash on start") is None
