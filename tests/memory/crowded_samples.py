"""A crowded store for the shape-search tests (memory and language server): a target fix,
30 fixes of exactly its shape, one of a shape no other has, and hundreds of common Python
fixes with random names."""

from __future__ import annotations

import hashlib
import random
import textwrap

from pattern_memory.patterns import Pattern
from tests.memory.memory_samples import make_pattern

TARGET = make_pattern(
    "Fix KeyError when the key is missing",
    "def lookup(data, key):\n    value = data[key]\n    return value\n",
    "def lookup(data, key):\n    value = data.get(key)\n    return value\n",
)
RENAMED = "def find_user(users, user_id):\n    record = users[user_id]\n    return record\n"
# A fix whose shape no other stored pattern has.
DISTINCT = make_pattern(
    "Fix crash on an empty batch",
    "def first(items):\n    head = items.pop(0) if items else items[-1]\n    return head\n",
    "def first(items):\n    head = items.pop(0) if items else None\n    return head\n",
)
DISTINCT_RENAMED = (
    "def pick(queue):\n    job = queue.pop(0) if queue else queue[-1]\n    return job\n"
)

# Common Python fixes, several close to the target's shape (subscripts, .get, returns).
SNIPPETS: list[tuple[str, str]] = [
    ("{a} = {b}[{c}][{d}]", "{a} = {b}.get({c}, {{}}).get({d})"),
    ("{a} = {b}[0]", "{a} = {b}[0] if {b} else None"),
    ("{a} = {b}.{c}[{d}]", "{a} = {b}.{c}.get({d})"),
    ("return {b}[{c}]", "return {b}.get({c})"),
    ("{a}[{c}] = {b}", "{a}.setdefault({c}, {b})"),
    ("{a} = {b}.get({c})\nreturn {a}[{d}]", "{a} = {b}.get({c})\nreturn {a}[{d}] if {a} else None"),
    ("for {i} in range(len({a})):\n    {f}({a}[{i}])", "for {x} in {a}:\n    {f}({x})"),
    ("if {a} == None:\n    {f}({b})", "if {a} is None:\n    {f}({b})"),
    ("{h} = open({p})\n{d} = {h}.read()", "with open({p}) as {h}:\n    {d} = {h}.read()"),
    ("try:\n    {f}({a})\nexcept:\n    pass", "try:\n    {f}({a})\nexcept {e}:\n    pass"),
    ("{a} = {b}.split(',')[1]", "{a} = {b}.split(',', 1)[-1]"),
    ("def {f}({a}, {b}=[]):\n    {b}.append({a})", "def {f}({a}, {b}=None):\n    {b} = {b} or []"),
    ("{a} = {b} / {c}", "{a} = {b} / {c} if {c} else 0"),
    ("{a} = int({b}[{c}])", "{a} = int({b}.get({c}, 0))"),
    ("{a} = {b}[{c}]\n{f}({a})", "{a} = {b}.get({c})\nif {a}:\n    {f}({a})"),
    ("while {a} < len({b}):\n    {a} += 1", "while {a} < len({b}) - 1:\n    {a} += 1"),
    ("{a} = [{x} for {x} in {b} if {x}]", "{a} = [{x} for {x} in {b} if {x} is not None]"),
    ("{f}({a}, {b}, {c})", "{f}({a}, {b}, {c}, timeout=30)"),
    ("print({a}[{b}])", "logger.info('%s', {a}.get({b}))"),
]


def random_name(rng: random.Random) -> str:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "qu", "sa", "do"]
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) + rng.choice(
        ["", "_id", "s", "_map", "_list"]
    )


def own_commit(message: str) -> str:
    """A commit sha of the fix's own: fixes of one shape from one commit would be a mass
    edit (a codemod), which the editor never flags."""
    return hashlib.sha1(message.encode()).hexdigest()


def unrelated_patterns(count: int, seed: int = 11) -> list[Pattern]:
    rng = random.Random(seed)
    out: list[Pattern] = []
    while len(out) < count:
        before, after = rng.choice(SNIPPETS)
        names = {k: random_name(rng) for k in "abcdefhipx"}
        if len(set(names.values())) < len(names):
            continue
        function = random_name(rng)
        header = f"def {function}({names['a']}, {names['b']}):\n"
        body_before = textwrap.indent(before.format(**names), "    ")
        body_after = textwrap.indent(after.format(**names), "    ")
        out.append(
            make_pattern(
                f"Fix {function} number {len(out)}",
                f"{header}{body_before}\n    return {names['a']}\n",
                f"{header}{body_after}\n    return {names['a']}\n",
                path=f"app/{function}.py",
                commit=own_commit(f"Fix {function} number {len(out)}"),
            )
        )
    return out


def same_shape_as_target(count: int, seed: int = 13) -> list[Pattern]:
    """Fixes with exactly the target's shape under other names (and other messages)."""
    rng = random.Random(seed)
    out: list[Pattern] = []
    while len(out) < count:
        f, a, b, c = (random_name(rng) for _ in range(4))
        if len({f, a, b, c}) < 4:
            continue
        out.append(
            make_pattern(
                f"Fix lookup in {f} number {len(out)}",
                f"def {f}({b}, {c}):\n    {a} = {b}[{c}]\n    return {a}\n",
                f"def {f}({b}, {c}):\n    {a} = {b}.get({c})\n    return {a}\n",
                commit=own_commit(f"Fix lookup in {f} number {len(out)}"),
            )
        )
    return out


def stored_patterns() -> list[Pattern]:
    return [
        *unrelated_patterns(300),
        TARGET,
        DISTINCT,
        *same_shape_as_target(30),
        *unrelated_patterns(300, seed=12),
    ]
