"""A pattern's change reduced to what can be looked for in a document.

A mined hunk carries context lines that did not change; looking for all of them would miss
the same bug in a function shaped differently. The template keeps the changed lines (the
"core") and only as much surrounding context as it takes to be specific enough to locate.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..patterns import normalize_code
from .roles import literal_holes, pattern_roles, template_anchors
from .tokens import Token, TokenKind, tokenize
from .withheld import is_import_line

# Fewer significant tokens than this would match all over a document (`x = 1`).
MIN_TEMPLATE_TOKENS = 6
# Context is added up to this many tokens when the pattern has it: a match with renamed
# identifiers needs at least MIN_RENAMED_TOKENS (see match.py).
PREFERRED_TEMPLATE_TOKENS = 12
# A pure insertion needs this many lines of code (not blank, not only a comment) around it
# to be located at all.
MIN_INSERTION_CONTEXT_LINES = 2


@dataclass(frozen=True, slots=True)
class FixTemplate:
    """The part of a change to locate (`before`) and what it becomes (`after`).

    Both are whole lines of the pattern's code; `indent` is the indentation of the first
    non-blank line of `before`, against which `after` is re-indented in a document."""

    language: str
    before: str
    after: str
    indent: str
    before_tokens: tuple[Token, ...]
    after_tokens: tuple[Token, ...]
    # Names the after-code refers to that neither the before-code nor the fix defines
    # (a module, a helper), and the attributes of its own object (`self.proxy_manager`)
    # that the before-code never touches: the document must have them too (an adapter's
    # `__setstate__` fix that resets its `proxy_manager` says nothing to a Response's).
    free_names: frozenset[str] = frozenset()
    # Names the fix itself introduces (a new local): they must not clash with a name the
    # document already uses for something the before-code calls otherwise.
    new_names: frozenset[str] = frozenset()
    # Indices into before_tokens (roles.py): names that must be found verbatim (APIs), and
    # literals the fix carries unchanged, which may stand for any literal of their kind.
    anchors: frozenset[int] = frozenset()
    holes: frozenset[int] = frozenset()
    # The token texts of the lines the fix wrote (its changed after-lines), as written: in
    # the very file the fix was learned from, their absence says the fix was undone there.
    written: tuple[str, ...] = ()
    # The fix changed its before-code but left the same code standing in the unchanged rest
    # of its hunk (cobra fixed `p.PersistentPostRunE(...)` in the pre-run loop and kept it in
    # the post-run loop), or a look-alike of it up to renaming (prepared.py: black hashed a
    # long `features_and_magics` unconditionally and kept `if len(version_str) > ...`): what
    # made it a bug lies outside the template, so the text alone cannot tell another site.
    # Not for a deletion: removing one of two identical lines is the fix (express's
    # duplicate route registration).
    left_standing: bool = False
    # Indices into before_tokens of the tokens the fix removed or replaced (a token-level
    # diff of the changed lines): where they are all names a document calls otherwise, the
    # fix only says which variable to use, which under renaming says nothing.
    removed: frozenset[int] = frozenset()


_BINDING_KEYWORDS = frozenset({"as", "def", "class", "for", "import", "let", "const", "var"})
_ASSIGNMENTS = frozenset({"=", ":="})


def _variables(tokens: Sequence[Token]) -> set[str]:
    """Names used as variables: identifiers not after a `.` (attributes are not bound)."""
    return {
        token.text
        for index, token in enumerate(tokens)
        if token.kind is TokenKind.NAME and (index == 0 or tokens[index - 1].text != ".")
    }


# The names by which a method refers to its own object, per language.
_OWN_OBJECT = {"python": frozenset({"self", "cls"}), "javascript": frozenset({"this"})}
_OWN_OBJECT["typescript"] = _OWN_OBJECT["javascript"]


def _own_attributes(tokens: Sequence[Token], language: str) -> set[str]:
    """Attribute names the code reads or writes on its own object (`self.name`)."""
    own = _OWN_OBJECT.get(language, frozenset())
    return {
        tokens[index + 2].text
        for index in range(len(tokens) - 2)
        if tokens[index].text in own
        and tokens[index + 1].text == "."
        and tokens[index + 2].kind is TokenKind.NAME
    }


def _bound(tokens: Sequence[Token]) -> set[str]:
    """Names the code binds: assigned, or after `as`, `def`, `for`, `import`, `let`, ..."""
    bound = set()
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.NAME:
            continue
        before = tokens[index - 1].text if index else ""
        after = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if before in _BINDING_KEYWORDS or after in _ASSIGNMENTS:
            bound.add(token.text)
    return bound


def _code_lines(lines: list[str], language: str) -> list[int]:
    """Indices of the lines on which a token starts (not blank, not inside a comment or a
    docstring's continuation), from one tokenization of the whole text."""
    text = "\n".join(lines)
    starts: set[int] = set()
    for token in tokenize(text, language):
        starts.add(text.count("\n", 0, token.start))
    return sorted(starts)


def _leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _same_line(left: str, right: str) -> bool:
    """Equal up to spacing inside the line; a change of indentation is a change (wrapping
    code in a block re-indents it, and the edit must carry that)."""
    return _leading_ws(left) == _leading_ws(right) and left.split() == right.split()


def _common_prefix(a: list[str], b: list[str]) -> int:
    count = 0
    for left, right in zip(a, b, strict=False):
        if not _same_line(left, right):
            break
        count += 1
    return count


def _code_lines_of(code: str) -> list[str]:
    return normalize_code(code).split("\n") if code.strip() else []


def _unchanged_ends(before: list[str], after: list[str]) -> tuple[int, int]:
    """How many lines at the start and at the end of the change are the same on both sides."""
    prefix = _common_prefix(before, after)
    return prefix, _common_prefix(before[prefix:][::-1], after[prefix:][::-1])


def unchanged_after(before_code: str, after_code: str) -> tuple[str, str]:
    """The after-code's unchanged lines above and below the lines the change wrote."""
    before, after = _code_lines_of(before_code), _code_lines_of(after_code)
    prefix, suffix = _unchanged_ends(before, after)
    return "\n".join(after[:prefix]), "\n".join(after[len(after) - suffix :] if suffix else [])


def _locatable_insertion(before: list[str], language: str) -> bool:
    """Whether a pure insertion has context enough to be located by: one line of code
    (`logger = logging.getLogger(__name__)`) stands in every module of a code base and
    says nothing about where the insertion belongs; import lines place nothing either."""
    context = [before[number] for number in _code_lines(before, language)]
    return sum(1 for line in context if not is_import_line(line)) >= MIN_INSERTION_CONTEXT_LINES


def _core_offsets(before: list[str], lo: int, hi: int, prefix: int, suffix: int) -> tuple[int, int]:
    """Where the changed lines (prefix .. len - suffix) stand in the template's before-text
    (lines lo .. hi, blank lines at its ends stripped): only their literals may be holes."""
    joined = "\n".join(before[lo:hi])
    leading = len(joined) - len(joined.lstrip("\n"))
    start = len("\n".join(before[lo:prefix])) + (1 if prefix > lo else 0) - leading
    return start, start + len("\n".join(before[prefix : len(before) - suffix]))


def build_template(before_code: str, after_code: str, language: str) -> FixTemplate | None:
    """The template of one change, or None when there is nothing to locate (the change only
    touches white space, or too little code is left to be found with any specificity)."""
    before, after = _code_lines_of(before_code), _code_lines_of(after_code)
    prefix, suffix = _unchanged_ends(before, after)
    if prefix == len(before) and prefix == len(after):
        return None  # no change beyond white space
    lo, before_hi, after_hi = prefix, len(before) - suffix, len(after) - suffix
    if lo == before_hi:
        if not _locatable_insertion(before, language):
            return None
        if lo > 0 and before_hi < len(before):
            # Located by the lines on both sides of it.
            lo, before_hi, after_hi = lo - 1, before_hi + 1, after_hi + 1

    def region_tokens() -> int:
        return len(tokenize("\n".join(before[lo:before_hi]), language))

    # Widen with context, alternating below and above (below first: the lines that use the
    # changed code say more about it than a signature whose names differ everywhere), until
    # specific enough to be found renamed; at least MIN_TEMPLATE_TOKENS to be found at all.
    take_above = False
    while region_tokens() < PREFERRED_TEMPLATE_TOKENS:
        can_above, can_below = lo > 0, before_hi < len(before)
        if not (can_above or can_below):
            if region_tokens() < MIN_TEMPLATE_TOKENS:
                return None
            break
        if (take_above and can_above) or not can_below:
            lo -= 1
        else:
            before_hi += 1
            after_hi += 1
        take_above = not take_above
    # A name the after-code uses that the pattern's before-code has outside the template
    # (a parameter above it, say) is only known in a document if the template reaches it:
    # widen to the nearest line that has it, so that the match binds (renames) it too.
    line_names = [_variables(tokenize(line, language)) for line in before]
    while True:
        known = set().union(*line_names[lo:before_hi])
        missing = _variables(tokenize("\n".join(after[lo:after_hi]), language)) - known
        outside = [i for i in range(len(before)) if not lo <= i < before_hi]
        reach = [i for i in outside if line_names[i] & missing]
        if not reach:
            break
        nearest = min(reach, key=lambda i: lo - i if i < lo else i - before_hi)
        if nearest < lo:
            lo = nearest
        else:
            after_hi += nearest + 1 - before_hi
            before_hi = nearest + 1
    before_text = "\n".join(before[lo:before_hi]).strip("\n")
    after_text = "\n".join(after[lo:after_hi]).strip("\n")
    first_line = next((line for line in before_text.split("\n") if line.strip()), "")
    before_tokens = tuple(tokenize(before_text, language))
    after_tokens = tuple(tokenize(after_text, language))
    before_names = _variables(before_tokens)
    introduced = _bound(after_tokens) - before_names
    before_texts = [t.text for t in before_tokens]
    core = _core_offsets(before, lo, before_hi, prefix, suffix)
    after_core = tokenize("\n".join(after[prefix : len(after) - suffix]), language)
    return FixTemplate(
        language=language,
        before=before_text,
        after=after_text,
        indent=_leading_ws(first_line),
        before_tokens=before_tokens,
        after_tokens=after_tokens,
        free_names=frozenset(
            (_variables(after_tokens) - before_names - introduced)
            | {
                name
                for name in _own_attributes(after_tokens, language)
                # Inside a string too (an f-string's `{self.name}` is one token).
                if not re.search(rf"\b{re.escape(name)}\b", before_text)
            }
        ),
        new_names=frozenset(introduced),
        anchors=_anchors(before, lo, before_text, before_tokens, language),
        holes=frozenset(literal_holes(before_tokens, after_core, core=core)),
        written=tuple(t.text for t in after_core),
        left_standing=bool(after_core)
        and any(
            _contains([t.text for t in tokenize("\n".join(lines), language)], before_texts)
            for lines in (after[:prefix], after[len(after) - suffix :])
        ),
        removed=_removed(before_tokens, after_core, core),
    )


def _anchors(
    before: list[str], lo: int, text: str, tokens: Sequence[Token], language: str
) -> frozenset[int]:
    """The template's anchors (roles.py), from the roles of the whole pattern's before-code
    (`before`'s lines), in which the template's `text` starts at line `lo`."""
    whole = "\n".join(before)
    roles = pattern_roles(whole, language)
    found_at = whole.find(text, len("\n".join(before[:lo])))  # the roles' offsets are whole's
    shift = found_at if found_at >= 0 else None
    return frozenset(template_anchors(tokens, language, roles, shift))


def _removed(
    before: Sequence[Token], after_core: Sequence[Token], core: tuple[int, int]
) -> frozenset[int]:
    """Indices of the before-tokens on the changed lines (offsets `core`) that the fix
    removed or replaced, by a token-level diff against the changed after-lines."""
    start, end = core
    indices = [i for i, token in enumerate(before) if start <= token.start < end]
    matcher = difflib.SequenceMatcher(
        None, [before[i].text for i in indices], [t.text for t in after_core], autojunk=False
    )
    return frozenset(
        indices[k]
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag in ("replace", "delete")
        for k in range(i1, i2)
    )


def _contains(texts: list[str], run: list[str]) -> bool:
    """Whether `run` occurs in `texts` as a contiguous run."""
    width = len(run)
    return bool(run) and any(
        texts[start : start + width] == run
        for start in range(len(texts) - width + 1)
        if texts[start] == run[0]
    )
