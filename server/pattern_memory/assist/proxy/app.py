"""The proxy's ASGI app (Starlette + httpx).

Per request: the user is the `X-Pattern-Memory-User` header, else a hash of the credential
(the credential itself is forwarded and never logged or stored); the previous turn's patterns
get the outcome the user's new message states; the `<learned-patterns>` block for the last
user message goes into the system prompt; the answer passes through unchanged (streamed
chunks at once) and is forged once complete. Any failure of the memory is logged and the
request goes upstream as it came: the proxy never loses or blocks a request. A lookup that
takes longer than the budget (`lookup_budget_seconds`, a safety net for an overloaded
machine) is not waited for: the request goes upstream without injection, counted in
`proxy_lookup_timeouts_total`; while such a late lookup still runs, new requests do not
queue behind it but skip the lookup (`proxy_lookups_skipped_total`; the previous turn's
outcome is still recorded), so an overload cannot pile up. The conversation state (which
patterns went into the turn) is written beside the upstream call, not before it (writes.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ...memory.embedder import Embedder
from ...memory.service import PatternMemory
from ...settings import ForgeDetector, Settings
from ..conversations import ConversationStore, conversation_key, judge_reply, record_verdict
from ..detect import DetectedFix
from ..forge import Detector, find_fixes
from ..llm_detect import LlmDetectorError, llm_fixes
from . import DEFAULT_LOOKUP_BUDGET_SECONDS
from .metrics import ProxyMetrics
from .shapes import Shape, StreamText, answer_text, inject, user_texts
from .writes import ConversationWrites

log = logging.getLogger(__name__)

USER_HEADER = "x-pattern-memory-user"
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key")
# Hop-by-hop headers and the ones httpx sets itself.
_DROP_REQUEST = {
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    USER_HEADER,
}
_DROP_RESPONSE = {
    "content-length",
    "connection",
    "transfer-encoding",
    "content-encoding",
    "keep-alive",
}
MAX_BODY_BYTES = 32 * 1024 * 1024


@dataclasses.dataclass
class ProxyConfig:
    upstream: str
    settings: Settings
    timeout_seconds: float = 600.0
    lookup_budget_seconds: float = DEFAULT_LOOKUP_BUDGET_SECONDS


MemoryFactory = Callable[[Settings], PatternMemory]


class ProxyState:
    """The memories (one per user, sharing one store and one model), the conversations, the
    metrics and the upstream client."""

    def __init__(
        self, config: ProxyConfig, base: PatternMemory, forge_embedder: Embedder | None = None
    ) -> None:
        self.config = config
        self.base = base
        # The forge hook reads every sentence of an answer with the model (hundreds of ms):
        # on its own instance of it, a lookup arriving meanwhile does not wait behind it.
        self.forge_embedder = forge_embedder or base.embedder
        self.metrics = ProxyMetrics()
        self.conversations = ConversationStore(base.store.db)
        self.writes = ConversationWrites(lambda: self.metrics.count("proxy_memory_errors_total"))
        self._memories: dict[str, PatternMemory] = {}
        self._lock = threading.Lock()
        # Post-hooks and conversation writes not finished yet (tests wait for them).
        self.pending: set[asyncio.Future[Any] | concurrent.futures.Future[None]] = set()
        self.late_lookups = 0  # over budget and still running (read and written on the loop)
        self.client = httpx.AsyncClient(
            base_url=config.upstream.rstrip("/"),
            timeout=httpx.Timeout(
                config.timeout_seconds, connect=min(10.0, config.timeout_seconds)
            ),
        )

    def spawn(self, function: Callable[..., None], *args: Any) -> None:
        """Run a post-hook on a worker thread without holding the response."""
        future = asyncio.get_running_loop().run_in_executor(None, function, *args)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)

    def record(self, conversation: str, write: Callable[..., None], *args: Any) -> None:
        """A conversation-state write, after those asked for before it (writes.py)."""
        future = self.writes.submit(conversation, write, *args)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)

    def memory_for(self, user_id: str) -> PatternMemory:
        with self._lock:
            memory = self._memories.get(user_id)
            if memory is None:
                memory = self.base.for_user(user_id)
                self._memories[user_id] = memory
            return memory


def user_id_of(request: Request) -> str:
    named = request.headers.get(USER_HEADER, "").strip()
    if named:
        return named[:200]
    for header in CREDENTIAL_HEADERS:
        value = request.headers.get(header)
        if value:
            return "key-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]
    return "anonymous"


def _forward_headers(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST}


def _response_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in _DROP_RESPONSE}


def create_app(
    config: ProxyConfig, memory: PatternMemory, forge_embedder: Embedder | None = None
) -> Starlette:
    """`forge_embedder`: the model the forge hook reads answers with (the memory's when
    None)."""
    state = ProxyState(config, memory, forge_embedder)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "upstream": config.upstream})

    async def metrics(_: Request) -> Response:
        return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")

    async def openai(request: Request) -> Response:
        return await _chat(state, request, "openai")

    async def anthropic(request: Request) -> Response:
        return await _chat(state, request, "anthropic")

    async def passthrough(request: Request) -> Response:
        body = await request.body()
        return await _forward(state, request, body, None)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await state.client.aclose()
        await asyncio.get_running_loop().run_in_executor(None, state.writes.close)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/v1/chat/completions", openai, methods=["POST"]),
            Route("/v1/messages", anthropic, methods=["POST"]),
            Route("/{path:path}", passthrough, methods=methods),
        ],
        lifespan=lifespan,
    )
    app.state.proxy = state
    return app


@dataclasses.dataclass
class _Context:
    shape: Shape
    user_id: str
    key: str
    request_text: str
    user_turns: int
    # For `forgeDetector: llm` only: the model and the client's credential headers, held
    # for this request's post-hook and never logged or stored.
    model: str = ""
    credentials: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)


async def _chat(state: ProxyState, request: Request, shape: Shape) -> Response:
    state.metrics.count("proxy_requests_total")
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return await _forward(state, request, raw, None)
    user_id = user_id_of(request)
    first, last, turns = user_texts(body)
    context = _Context(shape, user_id, conversation_key(user_id, first), last, turns)
    if state.base.settings.forge_detector is ForgeDetector.LLM:
        context.model = str(body.get("model") or "")
        context.credentials = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in CREDENTIAL_HEADERS or k.lower().startswith("anthropic-")
        }
    found = await _lookup(state, context)
    if found.text:
        raw = json.dumps(inject(shape, body, found.text)).encode("utf-8")
        state.metrics.count("patterns_injected_total", len(found.injected))
    if context.user_turns:
        # Which patterns went into this turn (in the database: a restart does not forget),
        # written beside the upstream call.
        conversations = state.conversations
        state.record(
            context.key,
            conversations.start_turn,
            user_id,
            context.key,
            context.user_turns,
            found.injected,
        )
    return await _forward(state, request, raw, context, stream=body.get("stream") is True)


@dataclasses.dataclass(frozen=True)
class _Lookup:
    text: str = ""  # the <learned-patterns> block, "" for none
    injected: list[str] = dataclasses.field(default_factory=list)  # its pattern ids


async def _lookup(state: ProxyState, context: _Context) -> _Lookup:
    """_before on a worker thread, waited for at most the lookup budget; nothing to inject
    when it fails or is late (a late one finishes on its own, its result unused)."""
    if state.late_lookups:
        state.metrics.count("proxy_lookups_skipped_total")
        state.spawn(_judge_quietly, state, context)
        return _Lookup()
    future = asyncio.get_running_loop().run_in_executor(None, _before, state, context)
    done, _ = await asyncio.wait({future}, timeout=state.config.lookup_budget_seconds)
    if not done:
        state.metrics.count("proxy_lookup_timeouts_total")
        log.warning("the pattern lookup is over its budget: forwarding without injection")
        state.late_lookups += 1
        state.pending.add(future)
        future.add_done_callback(state.pending.discard)
        future.add_done_callback(lambda late: _late_done(state, late))
        return _Lookup()
    if _log_failure(state, future):
        return _Lookup()
    return future.result()


def _late_done(state: ProxyState, future: asyncio.Future[_Lookup]) -> None:
    state.late_lookups -= 1
    _log_failure(state, future)


def _log_failure(state: ProxyState, future: asyncio.Future[_Lookup]) -> bool:
    """Log and count a lookup's exception (the memory must never cost the user a request)."""
    if future.cancelled() or future.exception() is None:
        return False
    exc = future.exception()
    log.error("pattern memory failed: forwarding without injection", exc_info=exc)
    state.metrics.count("proxy_memory_errors_total")
    return True


def _judge(state: ProxyState, context: _Context) -> None:
    """The previous turn's patterns get the outcome the user's new message states."""
    memory = state.memory_for(context.user_id)
    conversations, user, key = state.conversations, context.user_id, context.key
    state.writes.wait_for(key)  # the previous request's record of its turn
    previous = conversations.take_previous(user, key, context.user_turns)
    if previous is not None:
        verdict = judge_reply(context.request_text)
        if verdict is not None:
            recorded = record_verdict(memory, previous.judged, verdict)
            state.metrics.count("patterns_outcomes_total", recorded)


def _judge_quietly(state: ProxyState, context: _Context) -> None:
    """_judge for a request whose lookup was skipped, off its path; failures are logged."""
    if not context.user_turns:
        return
    try:
        _judge(state, context)
    except Exception:
        log.exception("recording the previous turn's outcome failed")
        state.metrics.count("proxy_memory_errors_total")


def _before(state: ProxyState, context: _Context) -> _Lookup:
    """Judge the previous turn by the user's new message and find the block for it."""
    from ..inject import format_injection_block

    if not context.user_turns:
        return _Lookup()
    _judge(state, context)
    memory = state.memory_for(context.user_id)
    if not context.request_text.strip():
        return _Lookup()
    started = time.perf_counter()
    hits = memory.search(context.request_text, k=memory.settings.max_injected)
    block = format_injection_block(hits)
    state.metrics.observe_lookup((time.perf_counter() - started) * 1000.0)
    if not block.injected:
        return _Lookup()
    return _Lookup(block.text, [hit.stored.pattern.pattern_id for hit in hits[: block.injected]])


def _forge(state: ProxyState, context: _Context, answer: str) -> None:
    """The post-hook, off the request's path; failures are logged."""
    if not answer.strip():
        return
    try:
        from ..forge import forge_patterns

        memory = state.memory_for(context.user_id)
        if not memory.settings.forge_on_success:
            return
        before = memory.metrics.snapshot().get("patterns.forged", 0)
        detector = _llm_detector(state, context) if context.model else None
        ids = forge_patterns(
            memory, answer, context.request_text or None, detector, state.forge_embedder
        )
        added = memory.metrics.snapshot().get("patterns.forged", 0) - before
        if added:
            state.metrics.count("patterns_forged_total", int(added))
        if ids and context.user_turns:
            conversations = state.conversations
            state.record(
                context.key,
                conversations.add_forged,
                context.user_id,
                context.key,
                context.user_turns,
                ids,
            )
    except Exception:
        log.exception("forging from an answer failed")
        state.metrics.count("proxy_memory_errors_total")


def _llm_detector(state: ProxyState, context: _Context) -> Detector:
    """`forgeDetector: llm`: the upstream extracts the fix; the learned detector on failure."""

    def detect(answer: str, request: str | None) -> list[DetectedFix]:
        try:
            return llm_fixes(
                state.config.upstream,
                context.shape,
                context.model,
                context.credentials,
                answer,
                request=request,
                timeout=min(60.0, state.config.timeout_seconds),
            )
        except LlmDetectorError as exc:
            log.warning("llm forge detector failed (%s); using the learned detector", exc)
            state.metrics.count("proxy_llm_detector_errors_total")
            return find_fixes(state.forge_embedder, answer, request)

    return detect


async def _forward(
    state: ProxyState,
    request: Request,
    body: bytes,
    context: _Context | None,
    *,
    stream: bool = False,
) -> Response:
    url = httpx.URL(path=request.url.path, query=request.url.query.encode("utf-8"))
    upstream_request = state.client.build_request(
        request.method, url, headers=_forward_headers(request), content=body
    )
    started = time.perf_counter()
    try:
        response = await state.client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        state.metrics.count("proxy_upstream_errors_total")
        return JSONResponse({"error": {"message": "upstream timed out", "type": "timeout"}}, 504)
    except httpx.HTTPError as exc:
        state.metrics.count("proxy_upstream_errors_total")
        log.warning("upstream unreachable: %s", type(exc).__name__)
        return JSONResponse(
            {"error": {"message": "upstream unreachable", "type": "bad_gateway"}}, 502
        )
    state.metrics.observe_upstream(time.perf_counter() - started)
    headers = _response_headers(response)
    ok = context is not None and 200 <= response.status_code < 300
    if stream and ok and context is not None:
        return StreamingResponse(
            _relay(state, response, context),
            status_code=response.status_code,
            headers=headers,
        )
    if not stream or not ok:
        try:
            content = await response.aread()
        except httpx.TimeoutException:
            await response.aclose()
            return JSONResponse(
                {"error": {"message": "upstream timed out", "type": "timeout"}}, 504
            )
        finally:
            await response.aclose()
        if ok and context is not None:
            try:
                answer = answer_text(context.shape, json.loads(content))
            except ValueError:
                answer = ""
            # Beside the response, and counted in `pending` from now on (as a streamed
            # answer's), so that whoever waits for the post-hooks also waits for this one.
            state.spawn(_forge, state, context, answer)
        return Response(content, status_code=response.status_code, headers=headers)
    return StreamingResponse(
        _plain_relay(response), status_code=response.status_code, headers=headers
    )


async def _plain_relay(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    finally:
        await response.aclose()


async def _relay(
    state: ProxyState, response: httpx.Response, context: _Context
) -> AsyncIterator[bytes]:
    """Every chunk goes to the client as it comes; the text is accumulated on the side and
    forged once the stream ends. A client that goes away cancels this generator, which
    closes the upstream request."""
    text = StreamText(context.shape)
    complete = False
    try:
        async for chunk in response.aiter_raw():
            yield chunk
            try:
                text.feed(chunk)
            except Exception:  # accumulation must never break the stream
                log.exception("could not read a streamed chunk")
        complete = True
    finally:
        await response.aclose()
    if complete:
        # Not awaited: the client's stream ends now, the forging runs beside it.
        state.spawn(_forge, state, context, text.text())
