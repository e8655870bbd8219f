"""A stub upstream (the only test double: it stands for the model vendor's API) that records
what it received, and a runner serving an ASGI app with uvicorn on a free local port."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Stub:
    answer: str = "Hello."
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    sent_chunks: list[bytes] = field(default_factory=list)
    status: int = 200
    error_body: bytes = b'{"error": {"message": "rate limited"}}'
    delay: float = 0.0
    hold_after_first: threading.Event | None = None  # stream waits for it after chunk 1
    stream_closed: threading.Event = field(default_factory=threading.Event)

    def last_system(self) -> str:
        """The system prompt of the last request, either shape, as text."""
        body = self.received[-1]
        system = body.get("system")
        if isinstance(system, str):
            return system
        if isinstance(system, list):
            return "\n".join(b.get("text", "") for b in system)
        for message in body.get("messages", []):
            if message.get("role") == "system":
                content = message["content"]
                if isinstance(content, list):
                    return "\n".join(b.get("text", "") for b in content)
                return str(content)
        return ""


def openai_chunks(text: str) -> list[bytes]:
    words = text.split(" ")
    chunks = []
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        event = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece}}],
        }
        chunks.append(f"data: {json.dumps(event)}\n\n".encode())
    chunks.append(b"data: [DONE]\n\n")
    return chunks


def anthropic_chunks(text: str) -> list[bytes]:
    out = [b'event: message_start\ndata: {"type": "message_start", "message": {"id": "m1"}}\n\n']
    for i, word in enumerate(text.split(" ")):
        piece = word if i == 0 else " " + word
        event = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": piece},
        }
        out.append(f"event: content_block_delta\ndata: {json.dumps(event)}\n\n".encode())
    out.append(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
    return out


def stub_app(stub: Stub) -> Starlette:
    async def handle(request: Request) -> Response:
        raw = await request.body()
        stub.paths.append(request.url.path)
        stub.headers.append(dict(request.headers))
        body = json.loads(raw) if raw else {}
        stub.received.append(body)
        if stub.delay:
            await asyncio.sleep(stub.delay)
        if stub.status != 200:
            return Response(stub.error_body, status_code=stub.status, media_type="application/json")
        anthropic = request.url.path == "/v1/messages"
        if body.get("stream"):
            chunks = anthropic_chunks(stub.answer) if anthropic else openai_chunks(stub.answer)
            stub.sent_chunks = chunks

            async def produce() -> AsyncIterator[bytes]:
                try:
                    for index, chunk in enumerate(chunks):
                        yield chunk
                        if index == 0 and stub.hold_after_first is not None:
                            while not stub.hold_after_first.is_set():
                                await asyncio.sleep(0.005)
                finally:
                    stub.stream_closed.set()

            return StreamingResponse(produce(), media_type="text/event-stream")
        if anthropic:
            return JSONResponse(
                {
                    "id": "m1",
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": stub.answer}],
                }
            )
        return JSONResponse(
            {
                "id": "c1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": stub.answer}}],
            }
        )

    async def other(request: Request) -> Response:
        stub.paths.append(request.url.path)
        stub.headers.append(dict(request.headers))
        return JSONResponse({"data": [{"id": "stub-model"}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", handle, methods=["POST"]),
            Route("/v1/messages", handle, methods=["POST"]),
            Route("/v1/models", other, methods=["GET"]),
        ]
    )


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:<free port> in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
