"""Generalized fix templates: several fixes of one shape anti-unified into one template.

One learned fix generalizes only over local names and carried literals (roles.py): its API
names are anchors, so that `hashlib.md5()` -> `hashlib.sha1()` never rewrites `sha3_256`.
When several independent fixes (distinct commits) made the same edit on different APIs
(`a.close()` and `conn.release()` each guarded by a None check), their anti-unification
keeps what they agree on and opens a hole where they differ: the method becomes a name to
bind, and the template's generality is backed by evidence (Getafix: Bader, Scott, Pradel,
Chandra, "Getafix: Learning to Fix Bugs Automatically", OOPSLA 2019).

Getafix anti-unifies syntax trees (a pair of subtrees that differ in label or arity becomes
one hole). Templates here are token sequences, so this is its token-level counterpart:
- members are anti-unified only when their templates have the same skeleton: as many
  before- and after-tokens, of the same kinds, with the same keywords and operators. Members
  of different lengths (other context, an extra argument) are not anti-unified at all: a
  token run has no tree to say where a variable-length hole would end;
- a position where members have the same token keeps it, with its role (an anchor when
  any member anchors it: the most specific role wins);
- a name where members differ becomes a hole: a renameable name, bound consistently (the
  matcher's bijection), and its binding carried into the after-code;
- a literal where members differ becomes a literal hole;
- never a hole for a token a member's fix removed or replaced (FixTemplate.removed): a
  name or literal the fix changes is the point of the fix (`timeout=30` -> `timeout=60`),
  and stays an anchor, so such members give no generalized template;
- the after-code is the most recent member's; each of its tokens must be what every member
  wrote there, or stand for a hole the before-code binds (an after-code hole nothing binds
  cannot be filled in: no template, as in Getafix);
- a hole only where members actually differ, and at least MIN_SUPPORT distinct commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .template import FixTemplate
from .tokens import Token, TokenKind

# A generalization needs this many independent fixes (distinct commits) behind it.
MIN_SUPPORT = 2

_LITERALS = (TokenKind.STRING, TokenKind.NUMBER)


class Refusal(StrEnum):
    """Why a group of fixes gives no generalized template."""

    SUPPORT = "fewer distinct commits than MIN_SUPPORT"
    SKELETON = "other token counts, kinds, keywords or operators"
    CHANGED = "members differ in a token their fix changes"
    SAME = "no difference a hole would cover"
    INCONSISTENT = "a hole's text also stands for something else"
    UNBOUND = "members wrote different code that the before-code does not bind"


@dataclass(frozen=True, slots=True)
class Member:
    """One fix of a group: its pattern id, commit, date (sortable: the store's
    `YYYY-MM-DD HH:MM:SS`) and flaggable template."""

    pattern_id: str
    commit: str
    date: str
    template: FixTemplate


@dataclass(frozen=True, slots=True)
class Generalized:
    """The anti-unified template of a group (the most recent member's code, with holes
    where members differ), the number of distinct commits behind it and its members'
    pattern ids (the most recent first)."""

    template: FixTemplate
    support: int
    members: tuple[str, ...]
    # The before-token indices that are holes only because members differ there.
    generalized: frozenset[int]


def support_line(members: Sequence[str]) -> str:
    """How a generalized fix's message and hover say what backs it (`members`: its fixes'
    pattern ids)."""
    return f"generalized from {len(members)} fixes of the same shape"


def _shape(tokens: Sequence[Token]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            token.kind.value,
            "" if token.kind is TokenKind.NAME or token.kind in _LITERALS else token.text,
        )
        for token in tokens
    )


def skeleton(template: FixTemplate) -> tuple[object, ...]:
    """What members must share to be anti-unified: the language and, for the before- and
    the after-tokens, their kinds and the texts of keywords, builtins and operators."""
    return (template.language, _shape(template.before_tokens), _shape(template.after_tokens))


def anti_unify(members: Sequence[Member]) -> Generalized | None:
    """The generalized template of `members`, or None: fewer than MIN_SUPPORT distinct
    commits, other skeletons, a difference the rules above do not allow, or no difference
    at all (the members' own templates then match wherever it would)."""
    made = _anti_unify(members)
    return made if isinstance(made, Generalized) else None


def refusal(members: Sequence[Member]) -> Refusal | None:
    """Why `members` give no generalized template (None: they give one)."""
    made = _anti_unify(members)
    return None if isinstance(made, Generalized) else made


def _anti_unify(members: Sequence[Member]) -> Generalized | Refusal:
    commits = {member.commit for member in members}
    if len(commits) < MIN_SUPPORT:
        return Refusal.SUPPORT
    templates = [member.template for member in members]
    first = skeleton(templates[0])
    if any(skeleton(template) != first for template in templates[1:]):
        return Refusal.SKELETON
    ordered = sorted(members, key=lambda m: (m.date, m.pattern_id), reverse=True)
    base = ordered[0].template
    before_columns = [
        tuple(t.before_tokens[i].text for t in templates) for i in range(len(base.before_tokens))
    ]
    after_columns = [
        tuple(t.after_tokens[j].text for t in templates) for j in range(len(base.after_tokens))
    ]
    anchors = set.union(*(set(t.anchors) for t in templates))
    holes = set.intersection(*(set(t.holes) for t in templates))
    removed = set.union(*(set(t.removed) for t in templates))
    generalized: set[int] = set()
    for index, column in enumerate(before_columns):
        if len(set(column)) == 1:
            continue
        token = base.before_tokens[index]
        if index in removed:
            return Refusal.CHANGED  # the point of the fix, never a hole
        if token.kind is TokenKind.NAME:
            if index in anchors:
                anchors.discard(index)
                generalized.add(index)
        elif token.kind in _LITERALS:
            if index not in holes:
                holes.add(index)
                generalized.add(index)
        else:
            return Refusal.SKELETON  # a keyword or operator (unreachable: the skeleton)
    if not generalized:
        return Refusal.SAME
    # Bound names and hole literals are replaced by their text (match.py's binding): each
    # such text must stand for one column of member texts, wherever it occurs.
    bound: dict[str, tuple[str, ...]] = {}
    fixed_texts: set[str] = set()
    for index, column in enumerate(before_columns):
        token = base.before_tokens[index]
        variable = (token.kind is TokenKind.NAME and index not in anchors) or index in holes
        if not variable:
            fixed_texts.add(token.text)
        elif bound.setdefault(token.text, column) != column:
            return Refusal.INCONSISTENT
    if fixed_texts & {base.before_tokens[i].text for i in generalized}:
        return Refusal.INCONSISTENT  # a hole's text also stands verbatim: its renaming leaks
    for index, column in enumerate(after_columns):
        token = base.after_tokens[index]
        renamed = token.kind is TokenKind.NAME or token.kind in _LITERALS
        known = bound.get(token.text) if renamed else None
        if known is not None:
            if known != column:
                return Refusal.INCONSISTENT  # the after-code keeps a text a hole renames
        elif len(set(column)) > 1:
            return Refusal.UNBOUND  # an after-code hole the before-code does not bind
    template = dataclasses.replace(base, anchors=frozenset(anchors), holes=frozenset(holes))
    return Generalized(
        template=template,
        support=len(commits),
        members=tuple(dict.fromkeys(member.pattern_id for member in ordered)),
        generalized=frozenset(generalized),
    )
