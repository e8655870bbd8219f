"""The team server's wire contract: request and response bodies of every route.

Plain Pydantic v2 (no FastAPI import), so the sync client (team/client.py) validates the
server's answers with the same classes. Requests refuse unknown fields; a pattern upload
also accepts, unchanged, a line of the miner's JSONL (`pattern-memory extract` output,
patterns.Pattern.to_json_dict), whose known fields are declared here. docs/team-api.md
describes the routes; keep the two in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

API_VERSION = "1.0.0"

# Bounds shared by the server's validation and the client's batching.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_BULK_ITEMS = 500
MAX_CODE_CHARS = 64_000
MAX_BODY_BYTES = 8 * 1024 * 1024  # per request; larger bodies answer 413

ProblemTypeName = Literal["bug_fix", "feature_addition", "unknown"]
Code = Annotated[str, Field(max_length=MAX_CODE_CHARS)]
ShortText = Annotated[str, Field(max_length=4_000)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a newer server may add fields


def _commit_date(text: str) -> datetime:
    """The miner's "YYYY-MM-DD HH:MM:SS" (UTC) or an ISO 8601 time; naive times are UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("date must be 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class PatternIn(_Request):
    """POST /patterns and each item of POST /patterns/bulk.

    Either the seed's body {"problem_type", "code_before", "code_after"} or a miner JSONL
    line ({"before_code", "after_code", ...}); the two spellings of the code are aliases.
    The server computes solution_hash itself (a client's value is ignored) and scrubs
    secrets from every text field.
    """

    problem_type: ProblemTypeName = "unknown"
    code_before: Code | None = None
    code_after: Code | None = None
    # The miner's JSONL fields (patterns.Pattern), accepted as they are written.
    before_code: Code | None = None
    after_code: Code | None = None
    pattern_id: Annotated[str, Field(max_length=128)] | None = None  # the client's own id
    commit_msg: ShortText = ""
    author: Annotated[str, Field(max_length=255)] = ""
    date: Annotated[str, Field(max_length=64)] = ""  # "YYYY-MM-DD HH:MM:SS" UTC
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    commit: Annotated[str, Field(max_length=64)] = ""
    file_path: Annotated[str, Field(max_length=1_000)] = ""
    language: Annotated[str, Field(max_length=50)] = ""
    before_lines: list[int] | None = None
    after_lines: list[int] | None = None
    solution_hash: Annotated[str, Field(max_length=64)] | None = None
    source: Annotated[str, Field(max_length=20)] | None = None
    repository: Annotated[str, Field(max_length=500)] = ""

    @field_validator("date")
    @classmethod
    def _a_date(cls, value: str) -> str:
        if value.strip():
            _commit_date(value)  # ValueError: a 422 naming the field
        return value

    def commit_date(self) -> datetime | None:
        """The fix's commit date (`date`, the miner's UTC time), None when not given."""
        return _commit_date(self.date) if self.date.strip() else None

    @model_validator(mode="after")
    def _one_spelling_of_the_code(self) -> PatternIn:
        before = self.code_before if self.code_before is not None else self.before_code
        after = self.code_after if self.code_after is not None else self.after_code
        if before is None or after is None:
            raise ValueError("code_before and code_after (or before_code/after_code) are required")
        if not before.strip() and not after.strip():
            raise ValueError("code_before and code_after are both empty")
        self.code_before, self.code_after = before, after
        self.before_code = self.after_code = None
        return self


class PatternOut(_Response):
    """One team pattern as the server returns it."""

    id: str  # UUID
    problem_type: str
    solution_hash: str
    code_before: str
    code_after: str
    commit_msg: str = ""
    language: str = ""
    repository: str = ""
    file_path: str = ""
    success_count: int = 0
    failure_count: int = 0
    last_used: datetime | None = None
    created_by: str  # first author (user name); kept when others contribute the same fix
    created_at: datetime  # first seen; kept on merge
    updated_at: datetime  # any change: merge, feedback; drives incremental sync
    contributors: list[str] = Field(default_factory=list)  # user names, first first
    confidence: float | None = None
    # The commit the fix was mined from (the first uploader's), when the upload named one.
    commit: str = ""
    committed_at: datetime | None = None


class PatternList(_Response):
    """GET /patterns and GET /patterns/search."""

    patterns: list[PatternOut]
    total: int
    page: int
    per_page: int
    # Set on GET /patterns when `updated_since` or `cursor` was given (sync mode): pass it
    # back as `cursor` to continue; null when the page was empty.
    next_cursor: str | None = None
    has_more: bool = False
    # Sync mode only: ids of the team's patterns deleted after the cursor, in this page's
    # span (the cursor covers changes and deletions in one order); clients drop their copy.
    deleted: list[str] = Field(default_factory=list)


class PatternWriteResult(_Response):
    """POST /patterns (201 when new, 200 when merged into an existing pattern)."""

    id: str
    solution_hash: str
    created: bool  # False: merged into the team's pattern with the same solution_hash
    pattern: PatternOut


class BulkIn(_Request):
    patterns: Annotated[list[PatternIn], Field(min_length=1, max_length=MAX_BULK_ITEMS)]


class BulkItemResult(_Response):
    index: int  # position in the request
    id: str
    solution_hash: str
    created: bool
    client_pattern_id: str | None = None  # the item's pattern_id, echoed for the client


class BulkResult(_Response):
    """POST /patterns/bulk: one result per item, in request order; all or nothing."""

    results: list[BulkItemResult]
    created: int
    merged: int


class FeedbackIn(_Request):
    helpful: bool


class FeedbackResult(_Response):
    """POST /patterns/{id}/feedback: one vote per user per pattern, a second replaces it."""

    pattern_id: str
    helpful: bool
    replaced: bool  # True when this user's earlier vote was replaced
    success_count: int
    failure_count: int


class Health(_Response):
    """GET /health: 200 when the database answers, else 503 with status "unhealthy"."""

    status: Literal["healthy", "unhealthy"]
    version: str
    database: Literal["connected", "disconnected"]


class AdapterVersionOut(_Response):
    id: str  # UUID
    version_name: str
    adapter_path: str  # relative to the server's adapter storage directory
    created_by: str
    created_at: datetime
    is_active: bool
    kind: Literal["upload", "merge"]
    parents: list[str] = Field(default_factory=list)  # version ids a merge was made from
    method: str | None = None  # merge method: cat, svd, linear
    weights: list[float] | None = None


class AdapterList(_Response):
    adapters: list[AdapterVersionOut]  # newest first
    active_id: str | None = None


class AdapterMergeIn(_Request):
    """POST /adapters/merge. Weights, or success rates turned into weights, or neither
    (equal weights). Runs in a worker process; answers with the recorded version."""

    inputs: Annotated[list[str], Field(min_length=2, max_length=16)]  # version ids
    weights: list[float] | None = None
    success_rates: list[float] | None = None
    method: Literal["cat", "svd", "linear"] = "cat"
    rank: Annotated[int, Field(ge=1, le=1024)] | None = None  # svd only
    version_name: Annotated[str, Field(max_length=100)] | None = None
    activate: bool = False

    @model_validator(mode="after")
    def _weights_match_inputs(self) -> AdapterMergeIn:
        if self.weights is not None and self.success_rates is not None:
            raise ValueError("give weights or success_rates, not both")
        for name, values in (("weights", self.weights), ("success_rates", self.success_rates)):
            if values is not None and len(values) != len(self.inputs):
                raise ValueError(f"{name} must have one value per input")
        return self


class RollbackIn(_Request):
    """POST /adapters/rollback: a version id, or nothing for the previous active version.
    Accepted with or without a Content-Type header (the seed's curl sends none)."""

    version_id: str | None = None


class ErrorOut(_Response):
    """Every error: a one-line detail; never a path, secret or stack trace."""

    detail: str
