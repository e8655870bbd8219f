"""Parsing with tree-sitter: whether code parses, and the definitions and statements around a
range of lines.

A pure utility of the core (no I/O, no capability imported). The grammars come compiled
inside the tree-sitter-language-pack wheel (0.13.0, pinned: later releases download them on
first use, which cannot work offline). Parsers are kept one per thread (a tree-sitter Parser
is not thread-safe); a SyntaxTree is read by the thread that made it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import accumulate

from tree_sitter import Language, Node, Parser, Point, Tree
from tree_sitter_language_pack import get_language

# Project language names (mining/files.py) -> grammars to try, in order: a `.ts` file may be
# TSX, a `.h` file C++.
_GRAMMARS: dict[str, tuple[str, ...]] = {
    "python": ("python",),
    "javascript": ("javascript",),
    "typescript": ("typescript", "tsx"),
    "tsx": ("tsx", "typescript"),
    "go": ("go",),
    "java": ("java",),
    "rust": ("rust",),
    "c": ("c", "cpp"),
    "cpp": ("cpp",),
}
# Editor language ids and file suffixes that are not the project's names (kept here so that
# languages.normalize_language reads "typescriptreact" as typescript, a parser needs tsx).
_ALIASES = {
    "py": "python", "pyi": "python", "python3": "python",
    "js": "javascript", "jsx": "javascript", "mjs": "javascript", "cjs": "javascript",
    "javascriptreact": "javascript",
    "ts": "typescript", "mts": "typescript", "cts": "typescript",
    "typescriptreact": "tsx",
    "golang": "go", "rs": "rust", "h": "c",
    "c++": "cpp", "cc": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp", "hxx": "cpp",
}  # fmt: skip

LANGUAGES = frozenset(_GRAMMARS)


class BlockKind(StrEnum):
    FUNCTION = "function"  # function, method, closure spanning lines
    CLASS = "class"  # class, struct, interface, enum, impl, type, namespace
    STATEMENT = "statement"  # a statement or clause (else, case, except...)


@dataclass(frozen=True, slots=True)
class Block:
    start: int  # 1-based first line (with decorators / attributes)
    end: int  # 1-based last line, inclusive
    kind: BlockKind
    node_type: str  # the grammar's name, e.g. "function_definition"
    has_error: bool  # an error or missing node inside

    @property
    def lines(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Edit:
    """One change of the text, in the coordinates tree-sitter wants (bytes; rows and byte
    columns, 0-based) for an incremental reparse."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


_FUNCTIONS = frozenset({
    "function_definition", "function_declaration", "generator_function_declaration",
    "function_expression", "function", "generator_function", "arrow_function",
    "method_definition", "method_declaration", "constructor_declaration", "func_literal",
    "function_item", "closure_expression", "lambda_expression", "macro_definition",
})  # fmt: skip
_CLASSES = frozenset({
    "class_definition", "class_declaration", "class", "abstract_class_declaration",
    "interface_declaration", "enum_declaration", "type_alias_declaration", "internal_module",
    "record_declaration", "annotation_type_declaration", "type_declaration", "impl_item",
    "struct_item", "enum_item", "trait_item", "mod_item", "union_item", "struct_specifier",
    "class_specifier", "union_specifier", "enum_specifier", "namespace_definition",
})  # fmt: skip
# A C/C++ `struct x` is a type reference; only one with a body defines something.
_NEEDS_BODY = frozenset(
    {"struct_specifier", "class_specifier", "union_specifier", "enum_specifier"}
)
# Nodes that carry a definition and what goes before it (decorators, `export`, `template<>`).
_WRAPPERS = frozenset({"decorated_definition", "export_statement", "template_declaration"})
# Bodies: lists of statements or members, never a unit themselves (the unit is their owner).
_BODIES = frozenset({
    "block", "statement_block", "compound_statement", "statement_list", "declaration_list",
    "class_body", "field_declaration_list", "switch_body", "switch_block", "enum_body",
    "interface_body", "constructor_body", "object_type", "match_block", "enum_variant_list",
    "enumerator_list", "annotation_type_body",
})  # fmt: skip
# Clauses are units wherever they stand (an `else` owns its body).
_CLAUSES = frozenset({
    "else_clause", "elif_clause", "except_clause", "except_group_clause", "finally_clause",
    "case_clause", "switch_case", "switch_default", "catch_clause", "match_arm",
    "switch_block_statement_group", "expression_case", "default_case", "type_case",
    "communication_case", "case_statement", "preproc_else", "preproc_elif",
})  # fmt: skip
# Whose children are statements, besides bodies and the root.
_STATEMENT_PARENTS = _BODIES | _CLAUSES | _WRAPPERS | {"preproc_if", "preproc_ifdef"}
_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})


def grammars(language: str) -> tuple[str, ...]:
    """The grammars for a language name, editor id or file suffix; () when none."""
    name = language.strip().lower().lstrip(".")
    return _GRAMMARS.get(_ALIASES.get(name, name), ())


@cache
def _language(grammar: str) -> Language:
    return get_language(grammar)  # type: ignore[arg-type]  # a SupportedLanguage literal


_local = threading.local()


def _parser(grammar: str) -> Parser:
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(grammar)
    if parser is None:
        parser = parsers[grammar] = Parser(_language(grammar))
    return parser


def parser_for(language: str) -> Parser | None:
    """This thread's parser for the language's first grammar; None when there is none."""
    names = grammars(language)
    return _parser(names[0]) if names else None


def encode(text: str | bytes) -> bytes:
    """The bytes tree-sitter reads (UTF-8; a lone surrogate kept, as the text has it)."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def parse_bytes(data: bytes, grammar: str) -> Tree:
    """This thread's parse of `data` with one grammar (a name of `grammars`)."""
    return _parser(grammar).parse(data)


class SyntaxTree:
    """A parsed document: its source bytes and tree."""

    __slots__ = ("_line_lengths", "_lines", "grammar", "source", "tree")

    def __init__(self, grammar: str, source: bytes, tree: Tree) -> None:
        self.grammar = grammar
        self.source = source
        self.tree = tree
        self._line_lengths: list[int] | None = None  # cumulative, built on first use
        self._lines = source.count(b"\n") + 1

    @property
    def has_error(self) -> bool:
        return self.tree.root_node.has_error

    def _line_start(self, row: int) -> int:
        """Byte offset where 0-based line `row` starts."""
        if self._line_lengths is None:
            lengths = map(len, self.source.split(b"\n"))
            self._line_lengths = list(accumulate(lengths, initial=0))
        if row >= len(self._line_lengths) - 1:
            return len(self.source)  # past the last line
        return self._line_lengths[row] + row  # the lines before it end in one byte each

    def _line(self, row: int) -> bytes:
        start = self._line_start(row)
        end = self.source.find(b"\n", start)
        return self.source[start : end if end >= 0 else len(self.source)]

    def line_start(self, row: int) -> int:
        """Byte offset where 0-based line `row` starts (the source's length past the last)."""
        return self._line_start(row)

    def line_count(self) -> int:
        return self._lines

    def reparse(self, source: str | bytes, edits: Sequence[Edit]) -> SyntaxTree:
        """The tree of `source`, which is this tree's source with `edits` applied (each in
        the coordinates left by the ones before it): tree-sitter reuses what did not change."""
        old = self.tree.copy()
        for edit in edits:
            old.edit(
                edit.start_byte,
                edit.old_end_byte,
                edit.new_end_byte,
                Point(*edit.start_point),
                Point(*edit.old_end_point),
                Point(*edit.new_end_point),
            )
        data = encode(source)
        return SyntaxTree(self.grammar, data, _parser(self.grammar).parse(data, old))

    def enclosing(self, first: int, last: int) -> list[Block] | None:
        """Definitions and statements around 1-based lines first..last, innermost first: the
        nodes that begin their line (or, for a function, span several lines), with their
        decorators, `export` or Rust attributes; bodies (`{ ... }`, an indented block) are
        left to their owner. [] at top level; None when the lines sit in a syntax error, or
        at top level of a tree with errors (the tree cannot tell)."""
        count = self.line_count()
        first, last = max(1, first), min(max(first, last), count)
        if first > count:
            return []
        head, tail = self._line(first - 1), self._line(last - 1)
        start = Point(first - 1, len(head) - len(head.lstrip()))
        end = Point(last - 1, len(tail.rstrip()))
        node: Node | None = self.tree.root_node.named_descendant_for_point_range(start, end)
        blocks: list[Block] = []
        while node is not None and node.parent is not None:
            if node.type == "ERROR" or node.is_missing:
                return None
            block = self._unit(node)
            if block is not None:
                if not blocks or (blocks[-1].start, blocks[-1].end) != (block.start, block.end):
                    blocks.append(block)
                elif (
                    block.kind is not BlockKind.STATEMENT or blocks[-1].kind is BlockKind.STATEMENT
                ):
                    blocks[-1] = block  # the outer node of the same lines, unless it hides a
                    # definition (`export function f`, a statement around the same lines)
            node = node.parent
        if not blocks and self.has_error:
            return None  # top level, or cut off from its block by an error elsewhere
        return blocks

    def _unit(self, node: Node) -> Block | None:
        kind = _kind(node)
        parent = node.parent
        if kind is not None and parent is not None and parent.type in _WRAPPERS:
            return None  # the wrapper stands for it, decorators included
        if node.type in _WRAPPERS:
            inner = next((c for c in node.named_children if _kind(c) is not None), None)
            kind = _kind(inner) if inner is not None else None
        start_row = node.start_point.row
        end_point = node.end_point
        end_row = (
            end_point.row - 1
            if end_point.column == 0 and end_point.row > start_row
            else end_point.row
        )
        begins = not self.source[self._line_start(start_row) : node.start_byte].strip()
        if kind is None:
            if node.type in _BODIES or node.type in _COMMENTS or not begins:
                return None
            if not (parent is None or parent.parent is None or parent.type in _STATEMENT_PARENTS):
                return None  # part of an expression, not a statement
        elif end_row == start_row and not begins:
            return None  # a one-line lambda inside a statement
        if kind is not None and self.grammar == "rust":
            sibling = node.prev_named_sibling
            while sibling is not None and sibling.type == "attribute_item":
                start_row = sibling.start_point.row
                sibling = sibling.prev_named_sibling
        return Block(
            start_row + 1, end_row + 1, kind or BlockKind.STATEMENT, node.type, node.has_error
        )

    def error_lines(self) -> list[int]:
        """1-based lines where an error or missing node starts, in order."""
        found: list[int] = []
        stack = [self.tree.root_node]
        while stack:
            node = stack.pop()
            if node.type == "ERROR" or node.is_missing:
                found.append(node.start_point.row + 1)
                continue
            stack.extend(c for c in node.children if c.has_error)
        return sorted(set(found))


def _kind(node: Node) -> BlockKind | None:
    kind = node.type
    if kind in _FUNCTIONS:
        return BlockKind.FUNCTION
    if kind in _CLASSES:
        if kind in _NEEDS_BODY and node.child_by_field_name("body") is None:
            return None
        return BlockKind.CLASS
    return None


def parse(text: str | bytes, language: str) -> SyntaxTree | None:
    """The document's tree with the first of the language's grammars that parses it without
    error (else the first grammar's); None when the language has no parser."""
    names = grammars(language)
    if not names:
        return None
    data = encode(text)
    first: SyntaxTree | None = None
    for name in names:
        tree = SyntaxTree(name, data, _parser(name).parse(data))
        if not tree.has_error:
            return tree
        first = first or tree
    return first


def parses(code: str, language: str) -> bool | None:
    """True if the whole of `code` parses without an error or missing node; None when the
    language has no parser."""
    tree = parse(code, language)
    return None if tree is None else not tree.has_error


def error_lines(code: str, language: str) -> list[int] | None:
    """1-based lines where syntax errors start (compare before and after an edit: code being
    typed has errors of its own); None when the language has no parser."""
    tree = parse(code, language)
    return None if tree is None else tree.error_lines()


def enclosing_blocks(text: str, language: str, first: int, last: int) -> list[Block] | None:
    """Blocks around lines first..last of `text`, innermost first (see SyntaxTree.enclosing);
    None when the language has no parser or the lines sit in a syntax error."""
    tree = parse(text, language)
    return None if tree is None else tree.enclosing(first, last)
