"""What each name and literal of a fix's before-code may stand for in another document.

A learned fix generalizes over the names a programmer chose, never over the API it calls:
`h = hashlib.md5()` -> `hashlib.sha1()` says nothing about `hashlib.sha3_256()`. So a name
is an *anchor*, to be found verbatim, when it is part of an API: an attribute or method
(`.md5`), a function or class that is called and not bound in the pattern (`connect(...)`),
a name an import binds, a keyword argument (`timeout=`), an object key of C-like languages
(`{retries: 3}`), or a CONSTANT. Every other name (parameters, locals, loop variables, and
names whose binding the fragment does not show) may be renamed consistently.

Where the language has a grammar (syntax.py), these roles are read from the tree of the whole
pattern's before-code, by the node a name stands in and the field it fills there (an
`attribute`'s attribute, a `keyword_argument`'s name, a `pair`'s key, the names under an
assignment's left side or a parameter list); names the tree cannot place (right in an ERROR
node: the parts of a fragment cut off by its hunk) and other languages keep the rules from
token context (what comes before and after a name, the bracket around it).

A literal may be a *hole*, standing for any literal of its kind, only where the fix carries
it unchanged from before to after (the key in `config["timeout"]` ->
`config.get("timeout")`): the fix is about the access, not the key. A literal the fix
changes (`connect(host, 30)` -> `connect(host, 60)`) is the point of the fix: an anchor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tree_sitter import Node

from .. import syntax
from .tokens import Token, TokenKind, char_offsets, tokenize

_WORD = re.compile(r"(?:[^\W\d]|\$)[\w$]*")

_MEMBER_ACCESS = frozenset({".", "?.", "->", "::"})
_DEFINITION_KEYWORDS = frozenset({"def", "class", "function", "func", "fn", "lambda"})
_BINDING_KEYWORDS = frozenset({"as", "for", "let", "const", "var", "global", "nonlocal"})
_ASSIGNMENTS = frozenset({"=", ":=", "+=", "-=", "*=", "/=", "|=", "&=", "//=", "%="})
_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = frozenset(_OPENING.values())
_IMPORT_STARTS = frozenset({"import", "from"})
_HASH_COMMENT_LANGUAGES = frozenset({"python", "ruby", "shell", "perl", "r", "yaml"})


def _is_constant(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return len(name) > 1 and bool(letters) and all(c.isupper() for c in letters)


def _import_names(tokens: Sequence[Token], code: str) -> set[str]:
    """Names on import statements (`import a.b as c`, `from m import (x,\n y)`,
    `import { x } from "m"`): the modules and names they bring in are APIs."""
    names: set[str] = set()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        line_start = code.rfind("\n", 0, token.start) + 1
        if token.text not in _IMPORT_STARTS or code[line_start : token.start].strip():
            continue
        line_end = code.find("\n", token.start)
        line_end = len(code) if line_end < 0 else line_end
        depth = 0
        while index < len(tokens):
            current = tokens[index]
            if depth == 0 and current.start > line_end:
                break
            if current.text in ("(", "{"):
                depth += 1
            elif current.text in (")", "}"):
                depth -= 1
            elif current.kind is TokenKind.NAME:
                names.add(current.text)
            index += 1
    return names


def _parameters(tokens: Sequence[Token]) -> set[str]:
    """Names declared in the parameter lists of definitions (`def f(a, b=1, *c)`,
    `function f(a, b)`, `func (r *T) f(a int)`, `lambda a, b:`, `(a, b) =>`)."""
    params: set[str] = set()
    for index, token in enumerate(tokens):
        if token.text == "lambda":
            cursor = index + 1
            while cursor < len(tokens) and tokens[cursor].text != ":":
                if tokens[cursor].kind is TokenKind.NAME:
                    params.add(tokens[cursor].text)
                cursor += 1
            continue
        if token.text == "=>":
            # `x =>` or `(a, b) =>`: walk back over the parenthesised list.
            before = index - 1
            if before >= 0 and tokens[before].kind is TokenKind.NAME:
                params.add(tokens[before].text)
            elif before >= 0 and tokens[before].text == ")":
                depth = 0
                for back in range(before, -1, -1):
                    text = tokens[back].text
                    depth += text == ")"
                    depth -= text == "("
                    if depth == 0:
                        break
                    if tokens[back].kind is TokenKind.NAME and tokens[back - 1].text in "(,":
                        params.add(tokens[back].text)
            continue
        if token.text not in _DEFINITION_KEYWORDS or token.text == "class":
            continue
        # Every parenthesised list before the body opens (Go has a receiver list first).
        cursor = index + 1
        while cursor < len(tokens) and tokens[cursor].text not in (":", "{", "=>"):
            if tokens[cursor].text != "(":
                cursor += 1
                continue
            depth = 0
            while cursor < len(tokens):
                current = tokens[cursor]
                if current.text in _OPENING:
                    depth += 1
                elif current.text in _CLOSING:
                    depth -= 1
                    if depth == 0:
                        break
                elif (
                    depth == 1
                    and current.kind is TokenKind.NAME
                    and tokens[cursor - 1].text in ("(", ",", "*", "**", "...", "&")
                ):
                    params.add(current.text)
                cursor += 1
            cursor += 1
    return params


def bound_names(tokens: Sequence[Token]) -> set[str]:
    """Names the code binds: parameters, assignment targets (`a, b = ...` too), loop and
    `as` variables, definitions, `let`/`const`/`var` declarations."""
    bound = _parameters(tokens)
    enclosing = _enclosing_brackets(tokens)
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.NAME:
            continue
        before = tokens[index - 1].text if index else ""
        after = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if before in _MEMBER_ACCESS:
            continue
        opener = enclosing[index]
        # `f(timeout=1)` passes an argument; only `:=` assigns inside parentheses.
        in_parentheses = opener is not None and tokens[opener].text == "("
        declared = before in _BINDING_KEYWORDS or before in _DEFINITION_KEYWORDS
        assigned = (after in _ASSIGNMENTS and (after == ":=" or not in_parentheses)) or (
            after == "," and _starts_tuple_target(tokens, index)
        )
        if declared or assigned:
            bound.add(token.text)
    return bound


def _starts_tuple_target(tokens: Sequence[Token], index: int) -> bool:
    """Whether `a, b, c = ...` (or `for a, b in`) follows from this name on."""
    cursor = index
    while cursor + 1 < len(tokens) and tokens[cursor + 1].text == ",":
        cursor += 2
        if cursor >= len(tokens) or tokens[cursor].kind is not TokenKind.NAME:
            return False
    after = tokens[cursor + 1].text if cursor + 1 < len(tokens) else ""
    return after in _ASSIGNMENTS or after == "in"


def _enclosing_brackets(tokens: Sequence[Token]) -> list[int | None]:
    """For each token, the index of the innermost open bracket around it (None: none)."""
    stack: list[int] = []
    enclosing: list[int | None] = []
    for index, token in enumerate(tokens):
        if token.text in _CLOSING and stack:
            stack.pop()
        enclosing.append(stack[-1] if stack else None)
        if token.text in _OPENING:
            stack.append(index)
    return enclosing


def pattern_scope(tokens: Sequence[Token], code: str) -> tuple[set[str], set[str]]:
    """The names a whole pattern's before-code binds, and those its imports bring in."""
    return bound_names(tokens), _import_names(tokens, code)


def anchored_names(
    tokens: Sequence[Token], language: str, scope: set[str], imported: set[str]
) -> set[int]:
    """Indices of the NAME tokens of `tokens` (the template's) that must match verbatim;
    `scope` and `imported` are the whole pattern's (pattern_scope): a called parameter is
    a callback, renameable; an imported module is an API even where its import is not in
    the template."""
    enclosing = _enclosing_brackets(tokens)
    hash_language = language in _HASH_COMMENT_LANGUAGES
    anchors: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.NAME:
            continue
        before = tokens[index - 1].text if index else ""
        after = tokens[index + 1].text if index + 1 < len(tokens) else ""
        opener = enclosing[index]
        bracket = tokens[opener].text if opener is not None else ""
        called_from = tokens[opener - 1] if opener is not None and opener > 0 else None
        in_call = (
            bracket == "("
            and called_from is not None
            and called_from.text
            not in (
                _DEFINITION_KEYWORDS | {"if", "while", "for", "return", "in", "and", "or", "not"}
            )
        )
        in_call = (
            in_call
            and called_from is not None
            and (
                called_from.kind is TokenKind.NAME
                or called_from.kind is TokenKind.FIXED
                or called_from.text in (")", "]")
            )
        )
        if (
            before in _MEMBER_ACCESS
            or token.text in imported
            or (after == "(" and token.text not in scope and before not in _DEFINITION_KEYWORDS)
            or (after == "=" and in_call and hash_language and token.text not in scope)
            or (after == ":" and bracket == "{" and not hash_language)
            or (_is_constant(token.text) and token.text not in scope)
        ):
            anchors.add(index)
    return anchors


def literal_holes(
    before: Sequence[Token], after_core: Sequence[Token], core: tuple[int, int]
) -> set[int]:
    """Indices of the literal tokens of `before` that stand on the changed lines (offsets
    `core` of the template's before-code) and that the fix carries unchanged into its
    changed lines (`after_core`): the key of `config["timeout"]` -> `config.get("timeout")`.
    A literal of the unchanged context is part of where the fix applies, not a hole."""
    carried = {t.text for t in after_core if t.kind in (TokenKind.STRING, TokenKind.NUMBER)}
    start, end = core
    return {
        index
        for index, token in enumerate(before)
        if token.kind in (TokenKind.STRING, TokenKind.NUMBER)
        and token.text in carried
        and start <= token.start < end
    }


# Reading roles from the tree. A name leaf's role is decided by the node it stands in and
# the field it fills there (tree-sitter's grammars name them); a name inside an ERROR node
# keeps the token-context rules above.

# Where the names of a subtree are bound: (node type, field) of the subtree, for any
# grammar. Names in a parameter list, a `global` statement... are bound wherever they stand.
_BINDING_FIELDS = frozenset({
    ("assignment", "left"), ("augmented_assignment", "left"), ("for_statement", "left"),
    ("for_in_clause", "left"), ("as_pattern", "alias"), ("named_expression", "name"),
    ("function_definition", "name"), ("class_definition", "name"),
    ("variable_declarator", "name"), ("assignment_expression", "left"),
    ("augmented_assignment_expression", "left"), ("for_in_statement", "left"),
    ("function_declaration", "name"), ("generator_function_declaration", "name"),
    ("function_expression", "name"), ("class_declaration", "name"),
    ("catch_clause", "parameter"), ("arrow_function", "parameter"),
    ("short_var_declaration", "left"), ("assignment_statement", "left"),
    ("var_spec", "name"), ("const_spec", "name"), ("range_clause", "left"),
    ("type_spec", "name"), ("type_switch_statement", "alias"),
    ("method_declaration", "name"), ("formal_parameter", "name"),
    ("catch_formal_parameter", "name"), ("enhanced_for_statement", "name"),
    ("lambda_expression", "parameters"), ("let_declaration", "pattern"),
    ("for_expression", "pattern"), ("let_condition", "pattern"), ("match_arm", "pattern"),
    ("function_item", "name"), ("init_declarator", "declarator"),
    ("declaration", "declarator"), ("function_declarator", "declarator"),
    ("pair_pattern", "value"),
})  # fmt: skip
_BINDING_CONTAINERS = frozenset({
    "parameters", "lambda_parameters", "formal_parameters", "parameter_list",
    "closure_parameters", "inferred_parameters", "global_statement", "nonlocal_statement",
})  # fmt: skip
# Fields whose subtree is read, not bound, inside a binding (`b` of `a = b`, `x` of `x.y = 1`,
# a default value, a type).
_READ_FIELDS = frozenset({
    "value", "right", "type", "body", "arguments", "object", "operand", "index", "subscript",
    "function", "condition", "return_type", "result", "size", "key", "default_value",
    "alternative", "consequence",
})  # fmt: skip
_ACCESS_NODES = frozenset({
    "attribute", "member_expression", "subscript", "selector_expression", "field_expression",
    "index_expression", "call", "call_expression", "field_access", "subscript_expression",
    "array_access", "scoped_identifier", "qualified_identifier",
})  # fmt: skip
# Name leaves that are APIs wherever they stand: a property, a field, an object key.
_ANCHOR_LEAVES = frozenset({
    "property_identifier", "field_identifier", "shorthand_property_identifier",
    "shorthand_property_identifier_pattern", "private_property_identifier",
})  # fmt: skip
# (node type, field) of a name leaf that is an API: an attribute, a keyword argument's name,
# a path's last part (`mem::swap`), a struct literal's shorthand field.
_ANCHOR_FIELDS = frozenset({
    ("attribute", "attribute"), ("keyword_argument", "name"), ("scoped_identifier", "name"),
    ("qualified_identifier", "name"), ("field_access", "field"), ("qualified_type", "name"),
})  # fmt: skip
_ANCHOR_PARENTS = frozenset({"shorthand_field_initializer"})
# (node type, field) of the function a call calls: an API unless the pattern binds it.
_CALLED_FIELDS = frozenset({
    ("call", "function"), ("call_expression", "function"), ("new_expression", "constructor"),
    ("macro_invocation", "macro"), ("method_invocation", "name"),
    ("object_creation_expression", "type"),
})  # fmt: skip
_IMPORT_NODES = frozenset({
    "import_statement", "import_from_statement", "future_import_statement",
    "import_declaration", "use_declaration",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class TreeRoles:
    """Roles of the name tokens of a piece of code, by their str offset there."""

    bound: frozenset[str]  # names a binding position holds (outside errors)
    imported: frozenset[str]  # names import statements bring in (a Go package's name too)
    anchors: frozenset[int]  # a property, field, object key, keyword argument's name...
    called: frozenset[int]  # the called function: an API unless the pattern binds it
    parsed: frozenset[int]  # name leaves not right in an ERROR node: their roles are the tree's
    has_error: bool


def _go_package(path: str) -> str:
    """The package name an import path brings in by default (its last element; the one
    before a major version suffix: `gopkg.in/yaml.v3` is yaml, `.../v2` its parent)."""
    parts = [p for p in path.strip('"`').split("/") if p]
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts.pop()
    last = parts[-1] if parts else ""
    return re.sub(r"\.v\d+$", "", last).replace("-", "_")


def tree_roles(code: str, language: str) -> TreeRoles | None:
    """The roles of `code`'s name tokens read from its tree; None without a grammar."""
    names = syntax.grammars(language)
    if not names:
        return None
    data = syntax.encode(code)
    tree = syntax.parse_bytes(data, names[0])
    offsets = char_offsets(code, data)

    bound: set[str] = set()
    imported: set[str] = set()
    anchors: set[int] = set()
    called: set[int] = set()
    parsed: set[int] = set()
    # (node, field it fills in its parent, binding, importing, right in an ERROR node)
    stack: list[tuple[Node, str | None, bool, bool, bool]] = [
        (tree.root_node, None, False, False, False)
    ]
    while stack:
        node, field, binding, importing, in_error = stack.pop()
        kind = node.type
        if kind in _IMPORT_NODES:
            importing = True
        if kind == "import_spec" and node.child_by_field_name("name") is None:
            path = node.child_by_field_name("path")
            if path is not None and path.text is not None:
                imported.add(_go_package(path.text.decode("utf-8", "surrogatepass")))
        if node.child_count == 0:
            text = (node.text or b"").decode("utf-8", "surrogatepass")
            if not node.is_named or not _WORD.fullmatch(text) or in_error:
                continue  # a keyword, an operator, a literal; or no role to tell
            start = node.start_byte if offsets is None else offsets[node.start_byte]
            parsed.add(start)
            if importing:
                imported.add(text)
            if binding:
                bound.add(text)
            role = _leaf_role(node, field)
            if role is not None:
                (anchors if role == "anchor" else called).add(start)
            continue
        cursor = node.walk()
        if not cursor.goto_first_child():
            continue
        children: list[tuple[Node, str | None, bool, bool, bool]] = []
        while True:
            child = cursor.node
            assert child is not None
            child_field = cursor.field_name
            read = child_field in _READ_FIELDS or child.type in _ACCESS_NODES
            child_binding = (kind, child_field) in _BINDING_FIELDS or (
                not read and (binding or kind in _BINDING_CONTAINERS)
            )
            # A leaf right in an ERROR node has no role the tree can tell (whole nodes
            # inside one do: an attribute is an attribute wherever the error is).
            children.append((child, child_field, child_binding, importing, node.is_error))
            if not cursor.goto_next_sibling():
                break
        stack.extend(reversed(children))
    return TreeRoles(
        bound=frozenset(bound),
        imported=frozenset(imported),
        anchors=frozenset(anchors),
        called=frozenset(called),
        parsed=frozenset(parsed),
        has_error=tree.root_node.has_error,
    )


def _leaf_role(node: Node, field: str | None) -> str | None:
    """ "anchor" for a name leaf that is an API where it stands, "called" for the function a
    call calls, None for the others."""
    parent = node.parent
    parent_type = parent.type if parent is not None else ""
    if (
        node.type in _ANCHOR_LEAVES
        or (parent_type, field) in _ANCHOR_FIELDS
        or parent_type in _ANCHOR_PARENTS
        or _go_struct_key(node)
    ):
        return "anchor"
    return "called" if (parent_type, field) in _CALLED_FIELDS else None


def _go_struct_key(node: Node) -> bool:
    """A Go composite literal's key (`T{Name: x}`): a field name, or a map key that the
    text cannot tell from one (anchored as the token rules did)."""
    parent = node.parent
    if node.type != "identifier" or parent is None or parent.type != "literal_element":
        return False
    keyed = parent.parent
    return keyed is not None and keyed.type == "keyed_element" and keyed.child(0) == parent


@dataclass(frozen=True, slots=True)
class PatternRoles:
    """What a whole pattern's before-code says of its names: those it binds, those its
    imports bring in, and (where it parses) each name token's role by its offset."""

    scope: frozenset[str]
    imported: frozenset[str]
    tree: TreeRoles | None


def pattern_roles(code: str, language: str) -> PatternRoles:
    """The roles of a whole pattern's before-code: from its tree where the language has a
    grammar (the token rules' bindings and imports too where the tree has errors: the
    fragment's cut-off parts), else from its tokens."""
    tokens = tokenize(code, language)
    roles = tree_roles(code, language)
    scope, imported = pattern_scope(tokens, code)
    if roles is None:
        return PatternRoles(frozenset(scope), frozenset(imported), None)
    # A name the token rules bind counts where one of its tokens stands in an error (the
    # tree cannot tell there); imports count from both (an anchor too many is safe).
    unparsed = {t.text for t in tokens if t.kind is TokenKind.NAME and t.start not in roles.parsed}
    return PatternRoles(roles.bound | (scope & unparsed), roles.imported | imported, roles)


def template_anchors(
    tokens: Sequence[Token], language: str, roles: PatternRoles, shift: int | None
) -> set[int]:
    """Indices of the template's NAME tokens that must match verbatim: by the tree where the
    token stands in a part of the pattern that parsed (`shift`: where the template's text
    starts in the pattern's before-code; None: not found there), else by token context."""
    by_context = anchored_names(tokens, language, set(roles.scope), set(roles.imported))
    tree = roles.tree
    if tree is None or shift is None:
        return by_context
    anchors: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.NAME:
            continue
        at = token.start + shift
        if at not in tree.parsed:
            if index in by_context:
                anchors.add(index)
            continue
        if (
            at in tree.anchors
            or (at in tree.called and token.text not in roles.scope)
            or token.text in roles.imported
            or (_is_constant(token.text) and token.text not in roles.scope)
        ):
            anchors.add(index)
    return anchors
