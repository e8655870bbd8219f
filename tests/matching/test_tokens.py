"""The tokenizer (tokens.py): tree-sitter's leaves for grammar languages, the regex
tokenizer elsewhere; no code is ever lost, fragments tokenize, and what the regex misread
(regex literals, template strings, lifetimes, runes, char literals, nested quotes and
comments) reads right."""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from pattern_memory import syntax
from pattern_memory.matching import Token, TokenKind, tokenize

ROOT = Path(__file__).resolve().parents[2]


def texts(code: str, language: str) -> list[str]:
    return [t.text for t in tokenize(code, language)]


def kinds(code: str, language: str) -> list[tuple[str, TokenKind]]:
    return [(t.text, t.kind) for t in tokenize(code, language)]


@pytest.mark.parametrize(
    ("language", "code", "want"),
    [
        # A regex literal is one literal, its escaped slash included; a division is not one.
        ("javascript", r"const re = /a\/b/g; x = a / b / c", ["const", "re", "=", r"/a\/b/g"]),
        # A template string with `${...}` inside (a nested one too) is one literal.
        ("javascript", "s = `a ${b + `c${d}`} e`;", ["s", "=", "`a ${b + `c${d}`} e`", ";"]),
        ("typescript", "const u = `${a}`", ["const", "u", "=", "`${a}`"]),
        # A lifetime is one name, a char literal one literal (the regex read `'a>(x: &'` as
        # a string).
        ("rust", "fn f<'a>(x: &'a str) -> char { 'x' }", ["fn", "f", "<", "'a", ">", "("]),
        (
            "go",
            "r := '\\''; s := `raw \"q\" \\n`",
            ["r", ":=", "'\\''", ";", "s", ":=", '`raw "q" \\n`'],
        ),
        ("c", "char c = '\\''; char *s = \"a'b\";", ["char", "c", "=", "'\\''", ";", "char"]),
        ("java", "char c = '\"'; String s = \"it's\";", ["char", "c", "=", "'\"'", ";", "String"]),
        # An f-string whose replacement fields hold the other quote is one literal.
        (
            "python",
            "f'{x[\"a\"]}' + f\"{y['b']!r:>{w}}\"",
            ["f'{x[\"a\"]}'", "+", "f\"{y['b']!r:>{w}}\""],
        ),
        # Rust block comments nest: the regex ended the comment at the first `*/`.
        ("rust", "a /* x /* y */ z */ + b", ["a", "+", "b"]),
        # Python has no `::` (a slice's two colons); TypeScript has `?.`.
        ("python", "a[::2]", ["a", "[", ":", ":", "2", "]"]),
        ("typescript", "a?.b ?? c", ["a", "?.", "b", "??", "c"]),
    ],
)
def test_what_the_regex_misread(language: str, code: str, want: list[str]) -> None:
    assert texts(code, language)[: len(want)] == want


def test_literal_kinds_from_the_grammar() -> None:
    found = dict(kinds("let n = 0x1f + 1u32; let c = 'x'; let s = r#\"a\"#;", "rust"))
    assert found["0x1f"] is TokenKind.NUMBER and found["1u32"] is TokenKind.NUMBER
    assert found["'x'"] is TokenKind.STRING and found['r#"a"#'] is TokenKind.STRING
    found = dict(kinds("x := 1.5i + 'a' + `b`", "go"))
    assert found["1.5i"] is TokenKind.NUMBER
    assert found["'a'"] is TokenKind.STRING and found["`b`"] is TokenKind.STRING


def test_a_words_kind_depends_on_its_text_only() -> None:
    # Reserved words and builtins are fixed; a contextual keyword of the grammar (`get`,
    # `of`, `target`) is a name, wherever it stands.
    go = dict(kinds("for _, e := range items { errs = append(errs, error(e)) }", "go"))
    assert go["range"] is TokenKind.FIXED and go["append"] is TokenKind.FIXED
    assert go["error"] is TokenKind.FIXED and go["items"] is TokenKind.NAME
    js = dict(kinds("for (const target of get(items)) debugger;", "javascript"))
    assert js["target"] is TokenKind.NAME and js["get"] is TokenKind.NAME
    assert js["of"] is TokenKind.NAME and js["debugger"] is TokenKind.FIXED
    # Python keeps its builtins rule; `_` is a name.
    py = dict(kinds("_ = print(len(x))", "python"))
    assert py["print"] is TokenKind.FIXED and py["_"] is TokenKind.NAME


def test_fragments_tokenize_as_the_regex_did() -> None:
    # Git hunks: `else:` alone, an unclosed call, a dedent with no block, a closing brace.
    assert texts("else:\n    return x", "python") == ["else", ":", "return", "x"]
    assert texts("    foo(a,\n", "python") == ["foo", "(", "a", ","]
    assert texts("        x = 1\n    y = 2\n", "python") == ["x", "=", "1", "y", "=", "2"]
    assert texts("  }\n} else {\n  err = nil", "go") == ["}", "}", "else", "{", "err", "=", "nil"]
    assert texts("  .then(r => r.json())", "javascript") == [
        ".", "then", "(", "r", "=>", "r", ".", "json", "(", ")", ")",
    ]  # fmt: skip


def test_offsets_are_string_offsets_in_non_ascii_text() -> None:
    code = "é = 'ü€𝄞'  # ç\nnaïve(é)"
    for token in tokenize(code, "python"):
        assert code[token.start : token.end] == token.text
    assert texts(code, "python") == ["é", "=", "'ü€𝄞'", "naïve", "(", "é", ")"]


def test_other_languages_keep_the_regex_tokenizer() -> None:
    assert texts("x = foo(1) # c\n", "ruby") == ["x", "=", "foo", "(", "1", ")"]
    assert texts("a = /b/ // c", "kotlin") == ["a", "=", "/", "b", "/"]


# Samples of the languages the repository has no files of.
SAMPLES = {
    "go": """\
        package main

        import "fmt"

        // Run runs.
        func (c *Command) Run(args []string) (err error) {
            for i, a := range args {
                if r := 'x'; a == `raw` || i > 0x1F {
                    return fmt.Errorf("bad %q", a) /* why */
                }
            }
            ch := make(chan int, 2)
            defer close(ch)
            return nil
        }
        """,
    "rust": """\
        /// Docs.
        pub fn longest<'a>(x: &'a str, y: &'a str) -> &'a str {
            let c: char = 'y'; /* outer /* inner */ still */
            let s = r#"raw "quoted""#;
            if x.len() > y.len() { x } else { y }
        }
        impl<T: Clone> Foo<T> for Bar { fn f(&self) -> Option<u8> { Some(1u8) } }
        """,
    "java": """\
        package a;
        import java.util.List;
        /** Doc. */
        class A<T> extends B implements C {
            @Override
            public synchronized int f(final List<String> xs, char c) throws E {
                String s = "it's \\"q\\"" + 'x' + 1_000L;
                for (String x : xs) { if (x != null && c == '\\'') return 0; }
                return xs.size() >>> 2;
            }
        }
        """,
    "c": """\
        #include <stdio.h>
        #define MAX(a, b) ((a) > (b) ? (a) : (b))
        static int f(const char *s, unsigned n) {
            char c = '\\''; /* c */
            for (int i = 0; i < n; i++) { if (s[i] == c) return MAX(i, 0); }
            return sizeof(struct x) + 0x10u;
        }
        """,
    "cpp": """\
        namespace n {
        template <typename T> std::vector<std::vector<T>> g(T&& t) noexcept {
            auto f = [&](int x) -> int { return x >> 1; };
            return {{std::forward<T>(t)}};
        }
        }  // namespace n
        """,
    "javascript": """\
        const re = /a\\/b[/]/gi, n = 1 / 2 / 3;
        function f({ a, b = 2 }, ...rest) {
          return `x ${a + `y${b}`} z` + (a?.b ?? 'c') + <div>Hello {a}</div>;
        }
        """,
}


def _comment_spans(code: str, language: str) -> list[tuple[int, int]]:
    """Where the grammar's comments stand, in str offsets (the test's own walk)."""
    tree = syntax.parse(code, language)
    assert tree is not None
    spans: list[tuple[int, int]] = []
    stack = [tree.tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("comment", "line_comment", "block_comment", "html_comment"):
            start = len(tree.source[: node.start_byte].decode("utf-8", "surrogatepass"))
            end = len(tree.source[: node.end_byte].decode("utf-8", "surrogatepass"))
            spans.append((start, end))
        else:
            stack.extend(node.children)
    return spans


def _check_nothing_lost(code: str, language: str) -> None:
    """The tokens are slices of the code in order, without overlap, and every character
    they leave out is white space or inside a comment."""
    tokens: list[Token] = tokenize(code, language)
    comments = _comment_spans(code, language)
    cursor = 0
    for token in tokens:
        assert code[token.start : token.end] == token.text
        assert token.start >= cursor
        gap = code[cursor : token.start]
        for offset, char in enumerate(gap, cursor):
            assert char.isspace() or any(s <= offset < e for s, e in comments), (
                f"{language}: {char!r} lost in {code[offset - 40 : offset + 40]!r}"
            )
        cursor = token.end
    for offset in range(cursor, len(code)):
        assert code[offset].isspace() or any(s <= offset < e for s, e in comments)


def _real_files() -> list[tuple[str, str]]:
    files = [
        ("python", ROOT / "server/pattern_memory/matching/match.py"),
        ("python", ROOT / "server/pattern_memory/mining/scrub.py"),
        ("python", ROOT / "tests/matching/test_finder.py"),
        ("typescript", ROOT / "client-vscode/src/extension.ts"),
        ("typescript", ROOT / "client-vscode/src/commands.ts"),
    ]
    found = [(language, path.read_text(encoding="utf-8")) for language, path in files]
    return found + [(language, textwrap.dedent(code)) for language, code in SAMPLES.items()]


@pytest.mark.parametrize(("language", "code"), _real_files(), ids=lambda v: str(v)[:12])
def test_no_code_is_lost_in_files_and_their_fragments(language: str, code: str) -> None:
    _check_nothing_lost(code, language)
    # Fragments as git hunks cut them: any run of lines, unclosed brackets and strings
    # included (a comment cut open is code to the fragment's grammar: checked the same way).
    lines = code.split("\n")
    rng = random.Random(language + str(len(code)))
    for _ in range(60):
        first = rng.randrange(len(lines))
        fragment = "\n".join(lines[first : first + rng.randint(1, 8)])
        _check_nothing_lost(fragment, language)


def test_the_same_code_alone_and_inside_a_document_gets_the_same_tokens() -> None:
    # The matcher compares a pattern's before-code (tokenized alone) with a document
    # window's tokens: where the fragment is a statement, it must read the same.
    code = textwrap.dedent(SAMPLES["go"])
    lines = code.split("\n")
    window = "\n".join(lines[6:11])  # inside the for loop
    inner = [(t.kind, t.text) for t in tokenize(window, "go")]
    whole = tokenize(code, "go")
    offset = code.index(window)
    inside = [(t.kind, t.text) for t in whole if offset <= t.start < offset + len(window)]
    assert inner == inside
