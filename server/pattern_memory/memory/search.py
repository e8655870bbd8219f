"""Hybrid retrieval: lexical candidates (FTS5 over code tokens and message words) and vector
candidates (cosine over the embedded lookup texts), fused into one relevance per pattern.

Fusion. Every candidate from either list gets both scores: its semantic relevance and its
lexical overlap, an IDF-weighted Ochiai coefficient between the query's tokens and the
pattern's (0..1). The semantic relevance is the cosine similarity rescaled to the model's
range (where the model puts unrelated and related texts: docs/benchmarks.md, "Where the
search's constants come from"): cosine COSINE_FLOOR maps to 0 and above it the relevance
rises as 1 - exp(-(cosine - COSINE_FLOOR) / COSINE_SCALE), never reaching 1, so that
strongly related patterns stay told apart. The relevance is their noisy-OR,
1 - (1 - semantic) * (1 - overlap): strong on either signal is enough, both add up, and it
stays in 0..1. Rank-based fusion (RRF) would rank as well but gives no absolute number
that the `similarity` threshold could mean anything against; this score is what
`SearchHit.score` reports and what `similarity` is compared with.

Code search (a document window looked up for before-code, `containment`) adds a third signal
that survives renaming: shape containment, the share of a pattern's template shingles (its
tokens with identifiers as placeholders; matching/shape.py) found in the window. It is 1.0
for every pattern whose before-code can match there under any names, so the patterns found
by shape alone join the candidates, and the noisy-OR takes the shape as a third term. A
window can hold many patterns' shapes whole (short, common ones are shared by hundreds of
patterns), so the n-th pattern of one shape ranks with its score times SAME_SHAPE_DECAY^n:
every place in the window that can match gets candidates within the top k, the closest by
name first. A partial fit (some shingles missing: the before-code cannot stand there, only
code of a similar structure) counts for PARTIAL_SHAPE_WEIGHT of its containment.

Ranking: relevance times the success rate (a better record ranks higher), a little less for
evidence far behind its clock and a little more for a change seen in several commits
(lifecycle.rank_weight: at most -5% and +6%, a tie-break among comparable matches, not a
new order); equal keys go to the closer raw match, then the more recent evidence.
Filters (scope, retired, decay, reverts, success rate, problem type) are applied inside the
candidate queries (the FTS5 query's WHERE, the vector index's mask), so the candidate limits
count only patterns the search may return; then the threshold and top k.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..matching.shape import code_shingles, token_shingles
from ..matching.tokens import Token, TokenKind
from .filters import Filters, eligible_sql
from .lifecycle import rank_weight
from .pattern_rows import RankingRow
from .shape_store import ShapeFit
from .store import PatternStore
from .text import code_tokens
from .types import SearchHit
from .vectors import FloatArray, VectorIndex

CANDIDATES = 100
# Found by shape before their containment is counted exactly (capped postings undercount).
SHAPE_DISCOVERED = 400
# Each further pattern of a shape already ranked counts this much less (see the docstring).
SAME_SHAPE_DECAY = 0.9
PARTIAL_SHAPE_WEIGHT = 0.5
# The two tokenizer families (matching/tokens.py): comments, strings and fixed names differ.
UNKNOWN_LANGUAGE_READINGS = ("python", "javascript")
COSINE_FLOOR = 0.15
# Relevance 0.6 (the default similarity) at cosine 0.39, as the former linear map had.
COSINE_SCALE = 0.262
MAX_QUERY_TOKENS = 256
MAX_LEXICAL_TERMS = 16
FALLBACK_TERMS = 3
FALLBACK_POSTINGS_SHARE = 0.2
COMMON_TERM_SHARE = 0.02
COMMON_TERM_MIN_DOCS = 100
# The after-code is left out: code that already looks like a fix needs no fix.
ALL_COLUMNS = ("before", "message")
CODE_COLUMNS = ("before",)


@dataclass(frozen=True)
class Query:
    text: str
    filters: Filters
    k: int
    similarity: float


@dataclass(frozen=True, slots=True)
class _Ranked:
    """One candidate of a search, with the keys it is ranked by."""

    weighted: float  # relevance times the track record / recency weight (rank_weight)
    closeness: float  # raw cosine + lexical overlap: breaks ties of equal relevance
    relevance: float  # the fused relevance, 0..1: the hit's score
    key: RankingRow


def query_terms(text: str, tokens: Sequence[Token] | None = None) -> list[str]:
    """The full-text terms of a query, each once, in order: the words of `text`, or, when
    the caller has the code's tokens (matching.tokenize), the words of those tokens, so that
    a document window is read once (its comments, which matching ignores, add no terms)."""
    if tokens is None:
        words = code_tokens(text)
    else:
        words = [w for t in tokens if t.kind is not TokenKind.OP for w in code_tokens(t.text)]
    return list(dict.fromkeys(words))[:MAX_QUERY_TOKENS]


def selective_terms(
    terms: Sequence[str], frequencies: dict[str, int], total: int, *, text_query: bool = True
) -> list[str]:
    """The query terms worth a full-text lookup: present in the memory, rarest first, common
    ones (in more than COMMON_TERM_SHARE of the patterns) only when nothing rarer exists.
    A common term costs its whole posting list and adds little to BM25; it still counts in
    the overlap score of the candidates found. For a text query, the common ones are taken
    only while their posting lists together stay under FALLBACK_POSTINGS_SHARE of the
    patterns (the rarest always): a pattern sharing nothing but a word found in most of
    them scores next to nothing against it. Not for code (containment): a pattern made of
    common tokens only can still stand whole in the code."""
    known = sorted((frequencies[t], t) for t in terms if frequencies.get(t, 0) > 0)
    limit = max(COMMON_TERM_MIN_DOCS, COMMON_TERM_SHARE * total)
    rare = [t for df, t in known if df <= limit][:MAX_LEXICAL_TERMS]
    if rare or not text_query:
        return rare or [t for _, t in known[:FALLBACK_TERMS]]
    budget = max(COMMON_TERM_MIN_DOCS, FALLBACK_POSTINGS_SHARE * total)
    chosen: list[str] = []
    postings = 0
    for df, term in known[:FALLBACK_TERMS]:
        if chosen and postings + df > budget:
            break
        chosen.append(term)
        postings += df
    return chosen


T = TypeVar("T")


def shape_turns(items: Sequence[T], whole_shape: Callable[[T], Hashable | None]) -> list[int]:
    """For `items` (best first): how many items of the same whole-fitting shape come before
    each (0 for the best of its shape, and for items that fit no shape whole)."""
    taken: Counter[Hashable] = Counter()
    turns: list[int] = []
    for item in items:
        shape = whole_shape(item)
        turns.append(0 if shape is None else taken[shape])
        if shape is not None:
            taken[shape] += 1
    return turns


def _shape_relevance(fit: ShapeFit | None) -> float:
    """A whole fit is full evidence; a partial one (the before-code cannot stand there, but
    code of a similar structure does) counts for half."""
    if fit is None:
        return 0.0
    return fit.containment if fit.whole else fit.containment * PARTIAL_SHAPE_WEIGHT


def _whole_shape(fits: dict[int, ShapeFit], row_id: int) -> Hashable | None:
    fit = fits.get(row_id)
    return fit.shape if fit is not None and fit.whole else None


def semantic_relevance(cosine: float) -> float:
    return 1.0 - math.exp(-max(0.0, cosine - COSINE_FLOOR) / COSINE_SCALE)


class HybridSearch:
    def __init__(self, store: PatternStore, index: VectorIndex) -> None:
        self._store = store
        self._index = index

    def search(
        self,
        query: Query,
        vector: FloatArray | None,
        *,
        columns: Sequence[str] = ALL_COLUMNS,
        containment: bool = False,
        language: str | None = None,
        tokens: Sequence[Token] | None = None,
    ) -> list[SearchHit]:
        """containment: score the lexical match by how much of the pattern's code the query
        contains (a window of a document searched for before-code) instead of the symmetric
        overlap (a query and a pattern of comparable size), and add the shape candidates:
        the code read as `language` (unknown: both as Python and as a C-like language);
        `tokens`: the code as matching.tokenize read it for `language`, if the caller has
        them (not tokenized again)."""
        terms = query_terms(query.text, tokens if containment else None)
        frequencies, total = self._store.terms.document_frequencies(terms)
        lexical_ids = self._store.terms.lexical(
            selective_terms(terms, frequencies, total, text_query=not containment),
            columns,
            CANDIDATES,
            query.filters,
        )
        shape: dict[int, ShapeFit] = {}
        shape_ids: list[int] = []
        if containment:
            shape, shape_ids = self._shapes(
                query.text, language, tokens, lexical_ids, query.filters
            )
        vector_ids: list[int] = []
        if vector is not None:
            self._index.refresh()
            nearest = self._index.nearest(
                vector,
                CANDIDATES,
                query.filters.scope,
                filters=query.filters,
                excluded=self._store.excluded_by_record(query.filters),
            )
            vector_ids = [r for r, _ in nearest]
        keys = self._store.ranking_rows([*lexical_ids, *vector_ids, *shape_ids], query.filters)
        if not keys:
            return []
        overlap = self._overlaps(terms, list(keys), columns, containment)
        cosine = self._index.similarities(vector, keys) if vector is not None else {}
        ranked: list[_Ranked] = []
        for row_id, key in keys.items():
            raw_cosine = cosine.get(row_id, COSINE_FLOOR)
            lexical = overlap.get(row_id, 0.0)
            relevance = 1.0 - (
                (1.0 - semantic_relevance(raw_cosine))
                * (1.0 - lexical)
                * (1.0 - _shape_relevance(shape.get(row_id)))
            )
            if relevance < query.similarity:
                continue
            # Ties (e.g. equal lexical overlaps of 1.0) go to the closer raw match.
            ranked.append(
                _Ranked(
                    weighted=relevance
                    * rank_weight(key.success_rate, key.evidence_age_days, key.evidence_count),
                    closeness=raw_cosine + lexical,
                    relevance=relevance,
                    key=key,
                )
            )
        ranked.sort(
            key=lambda r: (-r.weighted, -r.closeness, r.key.evidence_age_days, r.key.pattern_id)
        )
        if shape:
            # Code lookups (the editor's): among candidates that can match, the one sharing
            # more of the code's own tokens first, then the track record and recency; a
            # recency factor must not push a verbatim-named candidate out of the top k.
            ranked.sort(key=lambda r: (-r.relevance, -r.closeness, -r.weighted, r.key.pattern_id))
            turns = shape_turns(ranked, lambda r: _whole_shape(shape, r.key.row_id))
            decayed = {
                id(r): r.relevance * SAME_SHAPE_DECAY**t for r, t in zip(ranked, turns, strict=True)
            }
            ranked.sort(
                key=lambda r: (
                    -decayed[id(r)],
                    -r.closeness,
                    -r.weighted,
                    r.key.pattern_id,
                )
            )
        chosen: list[_Ranked] = []
        seen: set[str] = set()
        for candidate in ranked:
            if candidate.key.solution_hash in seen:
                continue  # the same change visible twice (own and team copy)
            seen.add(candidate.key.solution_hash)
            chosen.append(candidate)
            if len(chosen) == query.k:
                break
        # Only the hits are read whole (a row deleted in between is left out).
        stored = self._store.candidates([c.key.row_id for c in chosen], query.filters)
        return [
            SearchHit(stored=stored[c.key.row_id], score=round(c.relevance, 6))
            for c in chosen
            if c.key.row_id in stored
        ]

    def _shapes(
        self,
        code: str,
        language: str | None,
        tokens: Sequence[Token] | None,
        lexical_ids: Sequence[int],
        filters: Filters,
    ) -> tuple[dict[int, ShapeFit], list[int]]:
        """How the shapes of the lexical candidates and of the patterns found by shape fit
        the code, and the best CANDIDATES of the latter."""
        shingles: set[int] = set()
        if language and tokens is not None:
            shingles |= token_shingles(tokens)
        else:
            for reading in (language,) if language else UNKNOWN_LANGUAGE_READINGS:
                shingles |= code_shingles(code, reading)
        discovered = self._store.shapes.candidates(
            shingles, SHAPE_DISCOVERED, eligible_sql(filters)
        )
        fits = self._store.shapes.fits([*lexical_ids, *discovered], shingles)
        closest = sorted(discovered, key=lambda r: -fits[r].containment if r in fits else 0.0)
        turns = shape_turns(closest, lambda r: _whole_shape(fits, r))
        # Whole fits first, taking turns by shape; then the closest partial fits.
        order = sorted(
            range(len(closest)),
            key=lambda i: (turns[i] if _whole_shape(fits, closest[i]) else len(closest), i),
        )
        return fits, [closest[i] for i in order[:CANDIDATES]]

    def _overlaps(
        self,
        terms: Sequence[str],
        row_ids: Sequence[int],
        columns: Sequence[str],
        containment: bool,
    ) -> dict[int, float]:
        """IDF-weighted overlap between the query's terms and each pattern's: Ochiai
        (shared / sqrt(query * pattern)), or containment (shared / pattern)."""
        if not terms:
            return {}
        query_set = set(terms)
        # Only patterns sharing a term get an overlap: only their vocabulary is weighed.
        documents = {
            row_id: tokens
            for row_id, tokens in self._store.terms.token_sets(row_ids, columns).items()
            if not query_set.isdisjoint(tokens)
        }
        vocabulary = {t for tokens in documents.values() for t in tokens}
        frequencies, total = self._store.terms.document_frequencies(sorted(vocabulary.union(terms)))
        total = max(total, 1)
        weight = {
            t: math.log(1.0 + total / max(frequencies.get(t, 0), 1))
            for t in vocabulary.union(terms)
        }
        query_weight = sum(weight[t] for t in query_set)
        if not query_weight:
            return {}
        out: dict[int, float] = {}
        for row_id, tokens in documents.items():
            shared = query_set & tokens
            doc_weight = sum(weight[t] for t in tokens)
            norm = doc_weight if containment else math.sqrt(query_weight * doc_weight)
            overlap = sum(weight[t] for t in shared) / norm
            out[row_id] = min(1.0, max(0.0, overlap))
        return out
