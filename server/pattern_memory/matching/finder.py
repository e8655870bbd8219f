"""Finding learned fixes in one document version (the editor runs it in a worker thread;
`pattern-memory check` in the foreground).

Candidates come from a lexical code lookup over windows of the document (see windows.py; no
embedding: fast); each candidate's before-code is then located token by token with the
matching engine. Lookups, tokens and templates are cached; a pattern's template, withheld
check and abstract edit (prepared.py) are stored with it, so that a new process reads them
instead of working them out again. Candidates that made one edit in distinct commits are
anti-unified into a generalized template (generalize.py), which flags the places none of its
members matches. Protocol-free: places are offsets into the document; the language server
converts them to LSP ranges at its edge.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ..errors import Cancelled
from ..languages import normalize_language
from ..patterns import Pattern, ProblemType
from ..settings import Settings
from .generalize import MIN_SUPPORT, Generalized, Member, anti_unify, skeleton
from .match import CodeMatch, DocumentTokens, find_matches
from .prepared import (
    CorruptTemplate,
    Prepared,
    complete,
    decode,
    encode,
    prepare,
    prepare_edit,
    prepared_key,
    template_version,
)
from .safety import DocumentSafety
from .template import FixTemplate
from .tokens import Token, tokenize
from .windows import Window, split_windows
from .withheld import CommitEdits, is_test_path

log = logging.getLogger(__name__)

CANDIDATES_PER_WINDOW = 20
# Alternatives offered as code actions on one range; only the best becomes a diagnostic.
MAX_FIXES_PER_RANGE = 5
# Diagnostics in one document at most: the best-evidenced ones.
MAX_DIAGNOSTICS_PER_DOCUMENT = 5
# A before-code the document repeats in more places than this, without anyone having fixed
# it, is how this code base is written: weak evidence of a bug.
MAX_SITES_PER_PATTERN = 2

K = TypeVar("K")
V = TypeVar("V")


class Candidate(Protocol):
    """What the finder needs to know of a stored pattern (memory.types.StoredPattern is one):
    the pattern and the evidence that ranks it."""

    @property
    def pattern(self) -> Pattern: ...
    @property
    def retired(self) -> bool: ...
    @property
    def evidence_count(self) -> int: ...
    @property
    def evidence_age_days(self) -> float: ...
    @property
    def success_rate(self) -> float: ...
    def meets_success_rate(self, minimum: float, /) -> bool: ...


C = TypeVar("C", bound=Candidate)
C_co = TypeVar("C_co", bound=Candidate, covariant=True)


class CodeHit(Protocol[C_co]):
    @property
    def stored(self) -> C_co: ...


class CodeLookup(Protocol[C_co]):
    """Where candidates come from (memory.service.PatternMemory is one), and where their
    Prepared texts are kept (prepared.py: by content key, under a version; best effort)."""

    def change_token(self) -> int: ...
    def search_code(
        self,
        code: str,
        *,
        k: int,
        language: str | None,
        problem_type: ProblemType | None,
        include_stale: bool,
        min_relevance: float | None,
        tokens: Sequence[Token] | None,
    ) -> Sequence[CodeHit[C_co]]: ...
    def commit_patterns(self, commit_sha: str) -> Sequence[Pattern]: ...
    def stored_templates(self, keys: Sequence[str], version: str) -> Mapping[str, str]: ...
    def store_templates(self, texts: Mapping[str, str], version: str) -> None: ...


class LruCache(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass(frozen=True)
class FoundFix(Generic[C]):
    """A learned fix that applies at one place of one document version. Its places are the
    match's offsets: start..end resembles the before-code, replace_start..replace_end is
    the span the fix replaces with match.replacement."""

    stored: C
    match: CodeMatch
    preferred: bool  # the single best fix for its range
    # Whether this fix carries its range's diagnostic (the best of overlapping fixes, within
    # the document's cap); the others are alternatives in hovers and code actions.
    shown: bool = True
    # A generalized template's fix (generalize.py): the distinct commits behind it and its
    # members' pattern ids (`stored` is the most recent member, whose after-code it adapts).
    # A single pattern's fix: support 1, no members.
    support: int = 1
    members: tuple[str, ...] = ()

    @property
    def pattern_id(self) -> str:
        return self.stored.pattern.pattern_id


@dataclass
class FixFinder(Generic[C]):
    """Caches shared by the analyses of all documents, keyed by window text: after an edit
    only the windows it touched are looked up and tokenized again."""

    lookups: LruCache[tuple[int, str, str], tuple[C, ...]]
    tokens: LruCache[tuple[str, str], tuple[Token, ...]]
    # By content key (prepared_key): a pattern's code decides them, so no store change
    # makes them stale.
    templates: LruCache[str, Prepared]
    generation: int = 0  # bumped when the store changes: the lookups are then stale
    store_version: int | None = None  # the store's change token when last looked at
    # Patterns whose counts changed since they were looked up (feedback): these win.
    updated: dict[str, C] = field(default_factory=dict)
    # Per commit, its abstract edits (a codemod's, the sites of each file); kept across
    # store changes: a commit's patterns do not change once mined.
    commit_edits: LruCache[str, CommitEdits] = field(default_factory=lambda: LruCache(4096))
    mass_edit_patterns: LruCache[str, bool] = field(default_factory=lambda: LruCache(20_000))
    # Anti-unified templates by their members (ids, commits, dates and content keys).
    # A 1-tuple, so that a group with no generalization is cached too.
    generalized: LruCache[tuple[str, ...], tuple[Generalized | None]] = field(
        default_factory=lambda: LruCache(4096)
    )

    @classmethod
    def create(cls) -> FixFinder[C]:
        return cls(lookups=LruCache(4096), tokens=LruCache(4096), templates=LruCache(20_000))

    def store_changed(self) -> None:
        self.generation += 1
        self.lookups.clear()
        self.updated.clear()

    def candidates(
        self,
        memory: CodeLookup[C],
        settings: Settings,
        windows: list[Window],
        cancel: threading.Event,
        language: str,
        *,
        follow_store: bool = True,
    ) -> dict[str, C]:
        """Patterns worth locating: looked up by the windows' text, of the document's
        language (a Python fix never rewrites JavaScript), still trusted. follow_store
        False: a changed store does not drop the cached lookups (the caller's own indexer
        is writing and calls store_changed on its schedule; dropping them at every
        analysis would look up every window of every document again while it runs)."""
        found: dict[str, C] = {}
        version = memory.change_token()
        if version != self.store_version and (follow_store or self.store_version is None):
            # Patterns or feedback changed (the CLI, another editor, our own indexer): every
            # cached lookup and count may be stale.
            self.store_version = version
            self.store_changed()
        for window in windows:
            if cancel.is_set():
                raise Cancelled
            key = (self.generation, language, _digest(window.text))
            hits = self.lookups.get(key)
            if hits is None:
                hits = tuple(
                    hit.stored
                    # Decay gates injection (the seed's rule); in the editor a fix that
                    # still matches the code is its own evidence, and age only ranks it.
                    for hit in memory.search_code(
                        window.text,
                        k=CANDIDATES_PER_WINDOW,
                        language=language or None,
                        # Only bug fixes are offered (_usable): others must not use up
                        # the candidate budget.
                        problem_type=ProblemType.BUG_FIX,
                        include_stale=True,
                        # The token matcher decides, not the text search's `similarity`.
                        min_relevance=0.0,
                        # Tokenized once: the same tokens make the document's.
                        tokens=self.window_tokens(window, language) if language else None,
                    )
                )
                self.lookups.put(key, hits)
            for looked_up in hits:
                stored = self.updated.get(looked_up.pattern.pattern_id, looked_up)
                if _usable(stored, settings, language):
                    found.setdefault(stored.pattern.pattern_id, stored)
        return found

    def document_tokens(self, text: str, windows: list[Window], language: str) -> DocumentTokens:
        """The document's tokens, assembled from each window's (cached) tokens."""
        tokens: list[Token] = []
        for window in windows:
            shift = window.offset
            tokens.extend(
                Token(t.kind, t.text, t.start + shift, t.end + shift)
                for t in self.window_tokens(window, language)
            )
        return DocumentTokens(text, language, tokens)

    def window_tokens(self, window: Window, language: str) -> tuple[Token, ...]:
        """The window's tokens, offsets relative to its start (cached by its text)."""
        key = (language, _digest(window.text))
        relative = self.tokens.get(key)
        if relative is None:
            relative = tuple(tokenize(window.text, language))
            self.tokens.put(key, relative)
        return relative

    def prepared(
        self,
        memory: CodeLookup[C],
        patterns: Sequence[Pattern],
        *,
        checked: bool = True,
        cancel: threading.Event | None = None,
    ) -> list[Prepared]:
        """Each pattern's Prepared (checked False: the abstract edit is enough): kept here,
        else as stored with the pattern (one read for all of them), else worked out, and
        then stored for the next process (best effort)."""
        keys = [_key(pattern) for pattern in patterns]
        found: dict[str, Prepared] = {}
        for key in keys:
            kept = self.templates.get(key)
            if kept is not None and (kept.checked or not checked):
                found[key] = kept
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if not missing:
            return [found[key] for key in keys]
        version = template_version()
        stored = memory.stored_templates(missing, version)
        made: dict[str, str] = {}
        for pattern, key in zip(patterns, keys, strict=True):
            if key in found:
                continue
            if cancel is not None and cancel.is_set():
                raise Cancelled
            ready = _decoded(stored.get(key), key, version)
            if ready is None or (checked and not ready.checked):
                code = (
                    pattern.before_code,
                    pattern.after_code,
                    normalize_language(pattern.language),
                )
                if ready is not None:
                    ready = complete(ready, *code, pattern.commit_msg)
                else:
                    ready = prepare(*code, pattern.commit_msg) if checked else prepare_edit(*code)
                made[key] = encode(ready, key, version)
            found[key] = ready
            self.templates.put(key, ready)
        if made:
            memory.store_templates(made, version)
        return [found[key] for key in keys]

    def is_mass_edit(self, memory: CodeLookup[C], stored: C, prepared: Prepared) -> bool:
        """Whether the pattern (whose Prepared is given) is one site of a codemod: its
        commit made the same abstract edit in many files or at many sites. Learned once
        and searchable, never a per-site diagnostic."""
        pattern = stored.pattern
        if not pattern.commit:
            return False
        known = self.mass_edit_patterns.get(pattern.pattern_id)
        if known is None:
            known = self.edits_of_commit(memory, pattern.commit).is_mass(prepared.edit)
            self.mass_edit_patterns.put(pattern.pattern_id, known)
        return known

    def surveyed_here(
        self, memory: CodeLookup[C], stored: C, prepared: Prepared, path: str
    ) -> bool:
        """Whether the document at `path` is the file the pattern was learned from and its
        commit made the same edit at several sites of it (CommitEdits.surveyed)."""
        pattern = stored.pattern
        return (
            bool(pattern.commit)
            and same_file(path, pattern.file_path)
            and self.edits_of_commit(memory, pattern.commit).surveyed(
                prepared.edit, pattern.file_path
            )
        )

    def edits_of_commit(self, memory: CodeLookup[C], commit: str) -> CommitEdits:
        edits = self.commit_edits.get(commit)
        if edits is None:
            siblings = memory.commit_patterns(commit)
            sibling_edits = self.prepared(memory, siblings, checked=False)
            edits = CommitEdits.of(
                (ready.edit, sibling.file_path)
                for sibling, ready in zip(siblings, sibling_edits, strict=True)
            )
            self.commit_edits.put(commit, edits)
        return edits

    def find(
        self,
        memory: CodeLookup[C],
        settings: Settings,
        text: str,
        *,
        language: str,
        cancel: threading.Event | None = None,
        path: str = "",
        follow_store: bool = True,
    ) -> list[FoundFix[C]]:
        """The fixes that apply to `text` (a document of `language`, at `path`), best
        first per place; `cancel` set: Cancelled is raised at the next step; follow_store:
        see candidates."""
        cancel = cancel or threading.Event()
        windows = split_windows(text)
        candidates = self.candidates(
            memory, settings, windows, cancel, language, follow_store=follow_store
        )
        # A fix learned in test code is about tests: offered in test code only.
        in_tests = is_test_path(path)
        candidates = {
            key: stored
            for key, stored in candidates.items()
            if in_tests or not is_test_path(stored.pattern.file_path)
        }
        if not candidates:
            return []
        document = self.document_tokens(text, windows, language)
        # Of the document's language (_usable), so the pattern's language is the one the
        # templates were built for.
        prepared = self.prepared(
            memory, [stored.pattern for stored in candidates.values()], cancel=cancel
        )
        located: list[_Located[C]] = []
        flaggable: list[_Flaggable[C]] = []
        for stored, ready in zip(candidates.values(), prepared, strict=True):
            if cancel.is_set():
                raise Cancelled
            # None: nothing to locate, or one of the changes an editor never flags.
            template = ready.flaggable
            if (
                template is None
                or template.left_standing
                or self.is_mass_edit(memory, stored, ready)
            ):
                continue
            matches = find_matches(
                document, template, min_renamed_score=settings.renamed_match_score
            )
            flaggable.append(_Flaggable(stored, ready, template, tuple(matches)))
            if matches and (
                undone_here(template, stored.pattern.file_path, path, document, matches)
                or self.surveyed_here(memory, stored, ready, path)
            ):
                continue
            if len(matches) <= MAX_SITES_PER_PATTERN:
                located.extend(_Located(stored, match) for match in matches)
        located += self.locate_generalized(
            flaggable, document=document, settings=settings, path=path, cancel=cancel
        )
        return _rank(located, DocumentSafety(text, language))

    def locate_generalized(
        self,
        flaggable: Sequence[_Flaggable[C]],
        *,
        document: DocumentTokens,
        settings: Settings,
        path: str,
        cancel: threading.Event,
    ) -> list[_Located[C]]:
        """The places where only a generalized template matches: the candidates that may be
        flagged grouped by abstract edit and skeleton, each group of MIN_SUPPORT distinct
        commits or more anti-unified (generalize.py). Its fix is the most recent member's,
        with the hole bindings. A place one of its members matches is that member's to flag
        or not (its own rules may have kept it quiet there: undone, too many sites)."""
        by_edit: dict[tuple[str, ...], list[_Flaggable[C]]] = {}
        for entry in flaggable:
            if entry.ready.edit:  # an empty edit changes names or literals only: no shape
                by_edit.setdefault(entry.ready.edit, []).append(entry)
        # Skeletons only where an edit has the support (most candidates share no edit).
        groups: dict[tuple[object, ...], list[_Flaggable[C]]] = {}
        for edit, entries in by_edit.items():
            if _commits(entries) >= MIN_SUPPORT:
                for entry in entries:
                    groups.setdefault((edit, skeleton(entry.template)), []).append(entry)
        found: list[_Located[C]] = []
        for group in groups.values():
            if _commits(group) < MIN_SUPPORT:
                continue
            if cancel.is_set():
                raise Cancelled
            by_id = {entry.stored.pattern.pattern_id: entry.stored for entry in group}
            patterns = [entry.stored.pattern for entry in group]
            members = [
                Member(pattern.pattern_id, pattern.commit, pattern.date, entry.template)
                for pattern, entry in zip(patterns, group, strict=True)
            ]
            # The members' ids, commits and dates decide it besides their code (the content
            # key): a team copy shares a pattern's code under another id.
            key = tuple(sorted(f"{p.pattern_id}:{p.commit}:{p.date}:{_key(p)}" for p in patterns))
            cached = self.generalized.get(key)
            if cached is None:
                cached = (anti_unify(members),)
                self.generalized.put(key, cached)
            general = cached[0]
            if general is None:
                continue
            newest = by_id[general.members[0]]
            matches = find_matches(
                document, general.template, min_renamed_score=settings.renamed_match_score
            )
            if matches and undone_here(
                general.template, newest.pattern.file_path, path, document, matches
            ):
                continue
            if len(matches) > MAX_SITES_PER_PATTERN:
                continue
            taken = [match for entry in group for match in entry.matches]
            found.extend(
                _Located(newest, match, general.support, general.members)
                for match in matches
                if not any(match.start < other.end and other.start < match.end for other in taken)
            )
        return found


@dataclass(frozen=True)
class _Flaggable(Generic[C]):
    """A candidate that may be flagged, with its template's matches in the document (all
    of them: before the rules that keep some quiet)."""

    stored: C
    ready: Prepared
    template: FixTemplate
    matches: tuple[CodeMatch, ...]


def _commits(entries: Sequence[_Flaggable[C]]) -> int:
    return len({entry.stored.pattern.commit for entry in entries})


def same_file(document_path: str, learned_path: str) -> bool:
    """Whether a document (an absolute path, or one relative to its repository) is the file
    a pattern was learned from (a path relative to its repository)."""
    document_path, learned_path = document_path.replace("\\", "/"), learned_path.strip("/")
    return bool(learned_path) and (
        document_path == learned_path or document_path.endswith("/" + learned_path)
    )


def undone_here(
    template: FixTemplate,
    learned_path: str,
    document_path: str,
    document: DocumentTokens,
    matches: Sequence[CodeMatch],
) -> bool:
    """Whether the document is the file the fix was learned from and none of the code the
    fix wrote is left in it: the fix was undone (changed back, or the code rewritten) there
    since, deliberately, as a revert is. Its before-code standing again is then no sign of
    the bug (an old fix's before-code in its own file was most of the replay bench's noise).
    Where the fixed code is still there, another place with the before-code is a twin the
    fix missed, which is flagged (httpx fixed ByteChunker, later its twin TextChunker).
    Written code inside the before-code's own `matches` does not count: a fix that only
    unwrapped code (jinja dropped a `try: self._remove(key) except ValueError: pass`) wrote
    what the before-code holds anyway. A deletion writes nothing, so its code back in its
    own file says nothing either way: it stays flagged (express deleted a duplicate route
    line in examples/mvc/lib/boot.js, the line came back, and was fixed again; cobra's
    PowerShell block came back on purpose: the text cannot tell them apart, and a
    regression is what the memory is for)."""
    written = list(template.written)
    if not written or not same_file(document_path, learned_path):
        return False
    tokens = document.tokens
    width = len(written)

    def inside_a_match(start: int) -> bool:
        offset = tokens[start].start
        return any(match.start <= offset < match.end for match in matches)

    return not any(
        [token.text for token in tokens[start : start + width]] == written
        and not inside_a_match(start)
        for start in document.positions(written[0])
    )


def _key(pattern: Pattern) -> str:
    return prepared_key(
        pattern.before_code,
        pattern.after_code,
        normalize_language(pattern.language),
        pattern.commit_msg,
    )


def _decoded(text: str | None, key: str, version: str) -> Prepared | None:
    """The stored text's Prepared, or None (missing, or not what this code would build)."""
    if text is None:
        return None
    try:
        return decode(text, key, version)
    except CorruptTemplate as exc:
        log.debug("stored template %s is not usable (%s): built again", key, exc)
        return None


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _usable(stored: Candidate, settings: Settings, language: str) -> bool:
    """Only bug fixes of the document's language are offered in an editor (a forged fix
    stated in prose has the language "text": never), and only those still trusted."""
    return (
        stored.pattern.problem_type is ProblemType.BUG_FIX
        and bool(language)
        and normalize_language(stored.pattern.language) == language
        and not stored.retired
        and stored.meets_success_rate(settings.min_success_rate)
    )


@dataclass(frozen=True)
class _Located(Generic[C]):
    """A match of one pattern's template, or of a generalized template (support: its
    distinct commits; members: their pattern ids; `stored` is the most recent member)."""

    stored: C
    match: CodeMatch
    support: int = 1
    members: tuple[str, ...] = ()


def _evidence(entry: _Located[C]) -> tuple[float, ...]:
    """How strongly a fix is backed here: how closely it matches, then how often the change
    was made (a fix repeated by several commits, or the fixes a generalized template
    anti-unifies), its track record, how recent its latest evidence is on its repository's
    clock, and the miner's confidence."""
    stored = entry.stored
    return (
        entry.match.score,
        min(max(stored.evidence_count, entry.support), 4),
        stored.success_rate,
        -stored.evidence_age_days,
        stored.pattern.confidence,
    )


def _rank(located: list[_Located[C]], safety: DocumentSafety) -> list[FoundFix[C]]:
    """Group fixes by the code they cover (overlapping matches are one place); keep the best
    few of each as alternatives, the best one preferred when it is strictly better than the
    next; only the best of each place carries a diagnostic, and only the best-evidenced
    places of the document, and one per change (the same fix learned twice)."""
    ordered = sorted(located, key=lambda entry: (entry.match.start, entry.match.end))
    places: list[list[_Located[C]]] = []
    place_end = -1
    for entry in ordered:
        if places and entry.match.start < place_end:
            places[-1].append(entry)
            place_end = max(place_end, entry.match.end)
        else:
            places.append([entry])
            place_end = entry.match.end
    ranked_places: list[list[_Located[C]]] = []
    for members in places:
        members.sort(key=_evidence, reverse=True)
        kept: list[_Located[C]] = []
        replacements: set[tuple[int, int, str]] = set()
        for entry in members:
            match = entry.match
            edit = (match.replace_start, match.replace_end, match.replacement)
            if edit in replacements:
                continue  # the same edit learned from another commit: one is enough
            replacements.add(edit)
            # Checked only for the fixes that are kept (re-parsing costs a statement each).
            if safety.harm(*edit) is not None:
                continue
            kept.append(entry)
            if len(kept) == MAX_FIXES_PER_RANGE:
                break
        if kept:
            ranked_places.append(kept)
    best_first = sorted(ranked_places, key=lambda kept: _evidence(kept[0]), reverse=True)
    shown = {id(kept[0].match) for kept in best_first[:MAX_DIAGNOSTICS_PER_DOCUMENT]}
    fixes: list[FoundFix[C]] = []
    for kept in ranked_places:
        ranks = [_evidence(entry) for entry in kept]
        single_best = len(ranks) == 1 or ranks[0] > ranks[1]
        for position, entry in enumerate(kept):
            fixes.append(
                FoundFix(
                    stored=entry.stored,
                    match=entry.match,
                    preferred=position == 0 and single_best,
                    shown=position == 0 and id(entry.match) in shown,
                    support=entry.support,
                    members=entry.members,
                )
            )
    return fixes
