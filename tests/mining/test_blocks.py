from __future__ import annotations

import textwrap

import pytest

from pattern_memory.mining import blocks
from pattern_memory.mining.blocks import enclosing_block


def _lines(source: str) -> list[str]:
    return textwrap.dedent(source).lstrip("\n").split("\n")


PYTHON = _lines(
    '''
    import os


    class Store:
        """A store."""

        limit = 10

        @property
        @cached
        def size(self) -> int:
            total = 0
            for item in self.items:
                if item:
                    total += 1
            return total

        def clear(
            self,
            force: bool = False,
        ) -> None:
            self.items = []


    def helper(x):
        return x + 1
    '''
)


def test_python_change_widens_to_the_method_with_its_decorators() -> None:
    # line 15: "total += 1", inside an if inside a for inside the method
    assert PYTHON[14].strip() == "total += 1"
    assert enclosing_block(PYTHON, "python", 15, 15, 80) == (9, 16)


def test_python_multiline_signature_belongs_to_its_function() -> None:
    assert PYTHON[21].strip() == "self.items = []"
    assert enclosing_block(PYTHON, "python", 22, 22, 80) == (18, 22)
    # a change inside the signature itself
    assert enclosing_block(PYTHON, "python", 20, 20, 80) == (18, 22)


def test_python_class_body_change_widens_to_the_class() -> None:
    assert PYTHON[6].strip() == "limit = 10"
    assert enclosing_block(PYTHON, "python", 7, 7, 80) == (4, 22)


def test_edited_signature_is_its_own_block() -> None:
    assert enclosing_block(PYTHON, "python", 25, 25, 80) == (25, 26)


def test_top_level_change_has_no_block() -> None:
    assert enclosing_block(PYTHON, "python", 1, 1, 80) is None


def test_too_long_blocks_fall_back_to_a_smaller_one_then_to_none() -> None:
    # the method is 8 lines; with a bound of 5 the innermost block (the if) is used
    assert enclosing_block(PYTHON, "python", 15, 15, 5) == (14, 15)
    assert enclosing_block(PYTHON, "python", 15, 15, 1) is None


def test_change_spanning_two_functions_covers_both() -> None:
    assert enclosing_block(PYTHON, "python", 16, 22, 80) == (9, 22)


JAVASCRIPT = _lines(
    """
    const x = 1;

    export async function load(url) {
      const response = await fetch(url);
      if (!response.ok) {
        throw new Error("bad");
      }
      return response.json();
    }

    function other() {
      return 2;
    }
    """
)


def test_brace_language_widens_to_the_function_and_its_closing_brace() -> None:
    assert JAVASCRIPT[5].strip() == 'throw new Error("bad");'
    assert enclosing_block(JAVASCRIPT, "javascript", 6, 6, 80) == (3, 9)
    assert enclosing_block(JAVASCRIPT, "javascript", 12, 12, 80) == (11, 13)


GO = _lines(
    """
    package main

    func (s *Server) Handle(
    \tw http.ResponseWriter,
    \tr *http.Request,
    ) error {
    \tif r == nil {
    \t\treturn nil
    \t}
    \treturn s.next(w, r)
    }
    """
)


def test_go_signature_over_several_lines() -> None:
    assert GO[9].strip() == "return s.next(w, r)"
    assert enclosing_block(GO, "go", 10, 10, 80) == (3, 11)


YAML = _lines(
    """
    jobs:
      test:
        steps:
          - run: pytest
    """
)


def test_other_languages_use_the_indentation_block() -> None:
    assert enclosing_block(YAML, "yaml", 4, 4, 80) == (3, 4)


def test_python_text_inside_triple_quoted_strings_is_not_code() -> None:
    from pattern_memory.mining.blocks import Layout

    source = textwrap.dedent(
        '''
        def report(db):
            """Totals.

        Example (dedented on purpose):
        def not_a_function():
            """
            query = """
        SELECT name
        FROM users
        """
            rows = db.run(query)
            return len(rows)
        '''
    ).lstrip("\n")
    lines = source.split("\n")
    assert lines[11].strip() == "return len(rows)"
    # Read as plain lines, the string's column-0 text would end the function early.
    assert enclosing_block(lines, "python", 12, 12, 80) != (1, 12)
    assert enclosing_block(Layout.of_text(source, "python"), "python", 12, 12, 80) == (1, 12)
    # a change inside the string widens to its function too
    assert enclosing_block(Layout.of_text(source, "python"), "python", 8, 8, 80) == (1, 12)


# Cases the indentation alone got wrong; the parse tree decides them.

ODD_JAVASCRIPT = _lines(
    """
    const handlers = {};

    function save(item) {
    if (!item) {
    return null;
    }
    return store.put(item);
    }

    function other() {
      return 2;
    }
    """
)


def test_javascript_function_with_odd_indentation_is_found_by_its_braces() -> None:
    # Nothing is indented, so by indentation alone the change is at top level.
    assert ODD_JAVASCRIPT[4].strip() == "return null;"
    assert enclosing_block(ODD_JAVASCRIPT, "javascript", 5, 5, 80) == (3, 8)


GO_RAW_STRING = _lines(
    """
    package main

    func usage() string {
    \tif verbose {
    \t\treturn long
    \t}
    \treturn `Usage:
    {{.Name}} [flags]
    `
    }
    """
)


def test_go_function_with_a_raw_string_at_column_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    # The raw string's column-0 lines end the function early by indentation (what mining Go
    # does by default: parsing Go costs too much, see blocks.PARSED); with Go parsed, the
    # tree gives the whole function.
    assert GO_RAW_STRING[4].strip() == "return long"
    assert "go" not in blocks.PARSED
    assert enclosing_block(GO_RAW_STRING, "go", 5, 5, 80) == (3, 7)
    monkeypatch.setattr(blocks, "PARSED", blocks.PARSED | {"go"})
    assert enclosing_block(GO_RAW_STRING, "go", 5, 5, 80) == (3, 10)


PYTHON_DECORATED = _lines(
    """
    import pytest


    @pytest.mark.parametrize(
        "value",
        [1, 2],
    )
    # a comment between the decorators and the function
    def test_value(value):
        assert value
    """
)


def test_python_decorator_over_several_lines_belongs_to_its_function() -> None:
    assert PYTHON_DECORATED[9].strip() == "assert value"
    assert enclosing_block(PYTHON_DECORATED, "python", 10, 10, 80) == (4, 10)


def test_hunk_in_a_function_longer_than_the_bound_widens_to_its_statement() -> None:
    body = [f"  step{i}();" for i in range(100)]
    lines = ["function long() {", *body[:50], "if (ready) {", "go();", "}", *body[50:], "}"]
    assert lines[52] == "go();"
    # The function (105 lines) is too long; the `if` around the change fits.
    assert enclosing_block(lines, "javascript", 53, 53, 80) == (52, 54)


def test_change_in_a_syntax_error_keeps_the_indentation_answer() -> None:
    lines = ["function broken( {", "  if (x) {", "    y();", "  }", "}"]
    # Its parentheses do not balance, so the file is parsed; the parse has the change in an
    # error node, so the indentation's function stands.
    assert enclosing_block(lines, "javascript", 3, 3, 80) == (1, 5)
