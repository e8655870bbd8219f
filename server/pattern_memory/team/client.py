"""The team server's HTTP client, for `pattern-memory sync` and the language server.

httpx with explicit timeouts; the retry policy is tenacity's (exponential backoff with
jitter, a cap on attempts and on total time, the server's Retry-After honoured). httpx's own
`HTTPTransport(retries=...)` only retries failed connects, immediately, and never a 502/503
or a read timeout, which is what a restarting server or a proxy in front of it gives.

Every call the client makes is safe to repeat, so a request whose answer was lost is simply
sent again: pushes dedupe on solution_hash on the server and a second vote replaces the
first. Answers are validated with the wire contract (team/models.py); no FastAPI here.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import tenacity
from pydantic import BaseModel, ValidationError

from ..errors import PatternMemoryError
from .models import (
    MAX_PAGE_SIZE,
    BulkIn,
    BulkResult,
    FeedbackIn,
    FeedbackResult,
    Health,
    PatternIn,
    PatternList,
)

M = TypeVar("M", bound=BaseModel)

# Retried: the server or the path to it is briefly unavailable. Not retried: 4xx answers
# (the request itself is wrong, or the key), which a repeat would not change.
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
FIRST_SYNC_SINCE = "1970-01-01T00:00:00Z"


class TeamError(PatternMemoryError):
    """The team server refused a request (its one-line detail is in the message)."""


class TeamAuthError(TeamError):
    """401: no key, a wrong one, or a revoked one."""

    exit_code = 2


class TeamOffline(TeamError):
    """The server could not be reached (or kept failing) after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait: float = 0.5  # seconds; doubles each attempt, with jitter
    max_wait: float = 8.0
    total_seconds: float = 30.0  # no new attempt starts after this


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0  # a bulk push of 500 patterns is embedded by the server on arrival
    write: float = 30.0
    pool: float = 5.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class _Transient(Exception):
    """A retryable answer (TRANSIENT_STATUS), with the server's Retry-After if any."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = email.utils.parsedate_to_datetime(value) if value else None
    return max(0.0, when.timestamp() - time.time()) if when else None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors: the first one's message
        first = detail[0] if detail and isinstance(detail[0], dict) else {}
        where = ".".join(str(p) for p in first.get("loc", [])[1:])
        detail = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg")
    text = str(detail) if detail else response.reason_phrase or "error"
    return " ".join(text.split())[:300]


class TeamClient:
    """One team server, one API key. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """`cancel`, once set, ends the retries of the request under way (its backoff wait
        returns at once, and no new attempt starts): TeamOffline with the last failure. A
        request already sent still waits for its answer or its timeout."""
        self.base_url = base_url.rstrip("/")
        self._retry = retry
        self._cancel = cancel
        self._sleep = sleep or (_interruptible_sleep(cancel) if cancel else time.sleep)
        headers = {"User-Agent": "pattern-memory-sync", "Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeouts.httpx(),
            transport=transport,
            follow_redirects=False,  # a redirect could carry the key to another host
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TeamClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- routes ------------------------------------------------------------------------

    def health(self) -> Health:
        return _parse(Health, self._send("GET", "/health", ok=(200, 503)))

    def push(self, patterns: list[PatternIn]) -> BulkResult:
        body = BulkIn(patterns=patterns).model_dump(mode="json", exclude_none=True)
        return _parse(BulkResult, self._send("POST", "/patterns/bulk", json=body))

    def vote(self, remote_id: str, helpful: bool) -> FeedbackResult | None:
        """None when the pattern is gone from the server (deleted, or never the team's)."""
        body = FeedbackIn(helpful=helpful).model_dump(mode="json")
        response = self._send("POST", f"/patterns/{remote_id}/feedback", json=body, missing_ok=True)
        return None if response.status_code == 404 else _parse(FeedbackResult, response)

    def changes(self, cursor: str | None, limit: int = MAX_PAGE_SIZE) -> PatternList:
        """The team's patterns changed after `cursor` (all of them when None), oldest
        change first: the sync mode of GET /patterns."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is None:
            params["updated_since"] = FIRST_SYNC_SINCE
        else:
            params["cursor"] = cursor
        return _parse(PatternList, self._send("GET", "/patterns", params=params))

    # --- one request, with retries -----------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201),
        missing_ok: bool = False,
    ) -> httpx.Response:
        """The answer to one request, retried while transient; TeamOffline when it never
        came, TeamAuthError/TeamError for a refusal (404 is returned with missing_ok)."""

        def send() -> httpx.Response:
            if self._cancel is not None and self._cancel.is_set():  # no new attempt
                raise TeamOffline(f"{self.base_url}{path}: cancelled")
            response = self._http.request(method, path, json=json, params=params)
            if response.status_code in TRANSIENT_STATUS and response.status_code not in ok:
                raise _Transient(response.status_code, _retry_after(response))
            return response

        policy = self._retry
        exponential = tenacity.wait_exponential_jitter(
            multiplier=policy.first_wait, max=policy.max_wait
        )

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _Transient) and error.retry_after is not None:
                return min(error.retry_after, policy.max_wait * 4)
            return float(exponential(state))

        stop = tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_after_delay(
            policy.total_seconds
        )
        if self._cancel is not None:
            stop = stop | tenacity.stop_when_event_set(self._cancel)
        retrying = tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception_type((httpx.TransportError, _Transient)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(send)
        except _Transient as exc:
            raise TeamOffline(
                f"{self.base_url} answered {exc} after {policy.attempts} attempts"
            ) from None
        except httpx.TransportError as exc:
            raise TeamOffline(f"cannot reach {self.base_url}: {_transport_problem(exc)}") from None
        if missing_ok and response.status_code == 404:
            return response
        if response.status_code == 401:
            raise TeamAuthError(
                f"{self.base_url} refused the API key ({_detail(response)}): set "
                "PATTERN_MEMORY_API_KEY or run `pattern-memory team login`"
            )
        if response.status_code not in ok:
            raise TeamError(
                f"{self.base_url}{path} answered {response.status_code}: {_detail(response)}"
            )
        return response


def _interruptible_sleep(cancel: threading.Event) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        cancel.wait(seconds)

    return sleep


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError):
        raise TeamError(
            f"{response.request.url.copy_with(query=None)} answered something that is not "
            f"the team API (HTTP {response.status_code}): is teamUrl right?"
        ) from None


def _transport_problem(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:200]
