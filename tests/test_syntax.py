from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from pattern_memory import syntax
from pattern_memory.syntax import BlockKind, Edit


def test_every_project_language_parses_with_a_bundled_grammar() -> None:
    samples = {
        "python": "def f(x):\n    return x\n",
        "javascript": "function f(x) { return <b>{x}</b>; }\n",
        "typescript": "function f<T>(x: T): T { return x; }\n",
        "tsx": "const a = <div>{x as number}</div>;\n",
        "go": "package p\n\nfunc F() int { return 1 }\n",
        "java": "class A { int f() { return 1; } }\n",
        "rust": "fn f() -> i32 { 1 }\n",
        "c": "int f(void) { return 1; }\n",
        "cpp": "template <class T> T f(T x) { return x; }\n",
    }
    for language, code in samples.items():
        assert syntax.parses(code, language) is True, language
        assert syntax.parser_for(language) is not None


def test_parses_reports_errors_and_unknown_languages() -> None:
    assert syntax.parses("def f(:\n    pass\n", "python") is False
    assert syntax.parses("function f( {", "js") is False
    assert syntax.parses("key: value", "yaml") is None
    assert syntax.parser_for("yaml") is None
    assert syntax.error_lines("x = 1\ndef f(:\n    pass\n", "python") == [2]


def test_typescript_falls_back_to_tsx_and_c_to_cpp() -> None:
    assert syntax.parses("const a = <div>{x}</div>;\n", "typescript") is True
    assert syntax.parses("namespace n { class A {}; }\n", "c") is True


def test_grammars_load_without_a_network() -> None:
    # Later releases of the language pack download grammars on first use: the pinned one
    # must not. A fresh interpreter whose sockets all fail parses every language.
    code = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("no network in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from pattern_memory import syntax
        for name in ("python", "javascript", "typescript", "tsx", "go", "java", "rust", "c", "cpp"):
            assert syntax.parse("x", name) is not None, name
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert socket.socket.connect is not None


def test_enclosing_blocks_innermost_first_with_decorators_and_export() -> None:
    python = "class A:\n    @property\n    def f(self):\n        if x:\n            return 1\n"
    blocks = syntax.enclosing_blocks(python, "python", 5, 5)
    assert blocks is not None
    assert [(b.start, b.end, b.kind) for b in blocks] == [
        (5, 5, BlockKind.STATEMENT),
        (4, 5, BlockKind.STATEMENT),
        (2, 5, BlockKind.FUNCTION),
        (1, 5, BlockKind.CLASS),
    ]
    js = "export function f() {\n  g(items.map(x => x + 1));\n}\n"
    blocks = syntax.enclosing_blocks(js, "javascript", 2, 2)
    assert blocks is not None
    # the one-line arrow function is not a block of its own; `export` carries the function
    assert [(b.start, b.end, b.kind) for b in blocks] == [
        (2, 2, BlockKind.STATEMENT),
        (1, 3, BlockKind.FUNCTION),
    ]
    top = syntax.enclosing_blocks("x = 1\n", "python", 1, 1)
    assert top is not None
    assert [(b.start, b.end, b.kind) for b in top] == [(1, 1, BlockKind.STATEMENT)]


def test_rust_attributes_belong_to_their_function() -> None:
    rust = "#[test]\n#[ignore]\nfn works() {\n    assert!(true);\n}\n"
    blocks = syntax.enclosing_blocks(rust, "rust", 4, 4)
    assert blocks is not None
    assert (blocks[-1].start, blocks[-1].end, blocks[-1].kind) == (1, 5, BlockKind.FUNCTION)


def test_syntax_error_around_the_lines_is_none() -> None:
    assert syntax.enclosing_blocks("function f( {\n  y();\n", "javascript", 2, 2) is None
    assert syntax.enclosing_blocks("a: 1", "yaml", 1, 1) is None


def test_reparse_after_an_edit_gives_the_fresh_tree() -> None:
    old = "function f() {\n  return 1;\n}\n"
    new = "function f() {\n  if (x) {\n    return 2;\n  }\n  return 1;\n}\n"
    tree = syntax.parse(old, "javascript")
    assert tree is not None
    # lines 2..2 (0-based row 1) gain three lines before them
    start = old.index("  return 1;")
    inserted = len("  if (x) {\n    return 2;\n  }\n")
    edit = Edit(start, start, start + inserted, (1, 0), (1, 0), (4, 0))
    again = tree.reparse(new, [edit])
    fresh = syntax.parse(new, "javascript")
    assert fresh is not None
    assert str(again.tree.root_node) == str(fresh.tree.root_node)
    assert tree.enclosing(2, 2) == [
        syntax.Block(2, 2, BlockKind.STATEMENT, "return_statement", False),
        syntax.Block(1, 3, BlockKind.FUNCTION, "function_declaration", False),
    ]


def test_parsers_are_per_thread() -> None:
    seen: list[object] = []

    def grab() -> None:
        seen.append(syntax.parser_for("go"))

    worker = threading.Thread(target=grab)
    worker.start()
    worker.join()
    assert seen[0] is not None
    assert seen[0] is not syntax.parser_for("go")
    assert syntax.parser_for("go") is syntax.parser_for("golang")


@pytest.mark.parametrize("language", ["python", "javascript", "go"])
def test_lines_out_of_range_are_clamped(language: str) -> None:
    assert syntax.enclosing_blocks("x\n", language, 5, 9) == []
