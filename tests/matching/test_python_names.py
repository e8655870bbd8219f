"""The harm check's scopes: a fix must not drop a binding that its function, or a scope
nested in it, still reads, even where other functions of the file bind the same name (the
document-wide fold cannot tell them apart)."""

from __future__ import annotations

import pytest

from pattern_memory.matching.safety import DocumentSafety

OTHER = "\n\ndef other():\n    {name} = 1\n    return {name}\n"


@pytest.mark.parametrize(
    ("document", "name"),
    [
        # Defaults, decorators and a comprehension's first iterable run in the scope
        # around them: they read the outer binding whatever the inner scope calls its own.
        ("def f():\n    value = make()\n    return lambda value=value: value\n", "value"),
        ("def f():\n    value = make()\n    def g(value=value):\n        return value\n", "value"),
        (
            "def f():\n    value = make()\n    @value\n    def g(value=False):\n        pass\n",
            "value",
        ),
        ("def f():\n    value = make()\n    return [value for value in value]\n", "value"),
        # Methods and comprehensions skip the class body's names.
        (
            "def f():\n    value = make()\n    class A:\n        value = 1\n"
            "        def get(self):\n            return value\n    return A\n",
            "value",
        ),
        (
            "def f():\n    value = make()\n    class A:\n        value = 1\n"
            "        values = [value for _ in range(2)]\n    return A\n",
            "value",
        ),
    ],
)
def test_a_binding_read_from_a_nested_scope_must_stay(document: str, name: str) -> None:
    document += OTHER.format(name=name)
    old = f"    {name} = make()\n"
    start = document.index(old)
    harm = DocumentSafety(document, "python").harm(start, start + len(old), "    make()\n")
    assert harm == f"the fix removes `{name}`, which the document still uses"


@pytest.mark.parametrize(
    "document",
    [
        # `:=` in a comprehension binds in the function: the binding dropped is not needed.
        "def f(xs):\n    value = make()\n    if any((value := x) for x in xs):\n"
        "        return value\n",
        # A function's own defaults read the module's name, not its local one.
        "value = 3\n\n\ndef f(n=value):\n    value = make()\n    return n\n",
        # A nested function's own parameter.
        "def f():\n    value = make()\n    def g(value):\n        return value\n    return g\n",
    ],
)
def test_a_binding_nothing_reads_may_go(document: str) -> None:
    document += OTHER.format(name="value")
    old = "    value = make()\n"
    start = document.index(old)
    assert DocumentSafety(document, "python").harm(start, start + len(old), "    make()\n") is None


@pytest.mark.parametrize(
    ("document", "old", "new"),
    [
        # Both parse; neither compiles: Python checks more than its grammar (a nonlocal
        # name is the outer binding).
        (
            "def f(xs):\n    for x in xs:\n        send(x)\n    return len(xs)\n",
            "    return len(xs)\n",
            "return len(xs)\n",
        ),
        (
            "def f():\n    count = 0\n    def inc():\n        nonlocal count\n"
            "        count += 1\n    return inc\n",
            "    count = 0\n",
            "    pass\n",
        ),
    ],
)
def test_a_fix_whose_result_python_would_not_compile_is_refused(
    document: str, old: str, new: str
) -> None:
    start = document.index(old)
    harm = DocumentSafety(document, "python").harm(start, start + len(old), new)
    assert harm == "the fixed code would not parse"
