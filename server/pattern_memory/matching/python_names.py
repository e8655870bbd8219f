"""Which names a piece of Python code binds and reads, for the checks in safety.py: folded
over a whole document (`python_names`), or in one function's own scope (`function_names`),
where what runs in another scope is counted there (a nested function's parameters and
locals, a comprehension's targets, a method's reads, which skip the class body).

Not a full resolver: flow is ignored (a read before a binding counts as a read of it), and
`global` / `nonlocal` names count as reads of the binding they refer to.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Names:
    """How often a piece of code binds and reads each name."""

    bound: Counter[str] = field(default_factory=Counter)
    loaded: Counter[str] = field(default_factory=Counter)
    star_imports: int = 0

    def __add__(self, other: Names) -> Names:
        return Names(
            self.bound + other.bound,
            self.loaded + other.loaded,
            self.star_imports + other.star_imports,
        )

    def __sub__(self, other: Names) -> Names:
        return Names(
            self.bound - other.bound,
            self.loaded - other.loaded,
            self.star_imports - other.star_imports,
        )


def _count(node: ast.AST, names: Names) -> None:
    """The names one node binds or reads (not its children's)."""
    if isinstance(node, ast.Name):
        (names.loaded if isinstance(node.ctx, ast.Load) else names.bound)[node.id] += 1
    elif isinstance(node, ast.arg):
        names.bound[node.arg] += 1
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        names.bound[node.name] += 1
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            if alias.name == "*":
                names.star_imports += 1
            else:
                names.bound[alias.asname or alias.name.split(".")[0]] += 1
    elif isinstance(node, ast.ExceptHandler) and node.name:
        names.bound[node.name] += 1
    elif isinstance(node, ast.Global | ast.Nonlocal):
        names.bound.update(node.names)
    elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        names.bound[node.name] += 1
    elif isinstance(node, ast.MatchMapping) and node.rest:
        names.bound[node.rest] += 1


def python_names(tree: ast.AST) -> Names:
    """Every binding and read in the tree, scopes folded."""
    names = Names()
    for node in ast.walk(tree):
        _count(node, names)
    return names


_Comprehension = ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef | _Comprehension


def _parts(scope: _Scope) -> tuple[list[ast.AST], list[ast.AST]]:
    """What of a scope-opening node runs in the scope around it (decorators, defaults,
    class bases, a comprehension's first iterable) and what runs inside."""
    if isinstance(scope, ast.ClassDef):
        return [*scope.decorator_list, *scope.bases, *scope.keywords], list(scope.body)
    if isinstance(scope, _Comprehension):
        first, *rest = scope.generators
        elements: list[ast.AST] = (
            [scope.key, scope.value] if isinstance(scope, ast.DictComp) else [scope.elt]
        )
        outside: list[ast.AST] = [first.iter]
        return outside, [first.target, *first.ifs, *rest, *elements]
    arguments = scope.args
    defaults: list[ast.AST] = [*arguments.defaults, *(d for d in arguments.kw_defaults if d)]
    parameters: list[ast.AST] = [
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
    ]
    if isinstance(scope, ast.Lambda):
        return defaults, [*parameters, scope.body]
    return [*scope.decorator_list, *defaults], [*parameters, *scope.body]


def _scope(parts: list[ast.AST], *, class_body: bool = False) -> tuple[Names, Counter[str]]:
    """The names bound and read in one scope, and the names read from outside it whatever
    it binds (its methods' reads when it is a class body, its global/nonlocal names)."""
    names, through = Names(), Counter[str]()
    pending = list(parts)
    while pending:
        node = pending.pop()
        if isinstance(node, _Scope):
            _count(node, names)  # a def's or class's name binds here (lambdas bind none)
            outside, inside = _parts(node)
            pending.extend(outside)
            inner, inner_through = _scope(inside, class_body=isinstance(node, ast.ClassDef))
            free = Counter({n: c for n, c in inner.loaded.items() if n not in inner.bound})
            (through if class_body else names.loaded).update(free + inner_through)
            if isinstance(node, _Comprehension):  # `:=` in a comprehension binds out here
                for walrus in ast.walk(node):
                    if isinstance(walrus, ast.NamedExpr):
                        names.bound[walrus.target.id] += 1
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            through.update(node.names)
            continue
        _count(node, names)
        pending.extend(ast.iter_child_nodes(node))
    for name in through:
        names.bound.pop(name, None)  # another scope's binding
    return names, through


def function_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Names:
    """What a function binds in its own scope, and what it, or a scope nested in it, reads
    there (flask's `save_session(self, app, session, response)` nested in a test whose own
    `response = ...` a pyflakes fix removed, read on the next line)."""
    names, through = _scope(_parts(function)[1])
    names.loaded.update(through)
    return names
