"""`pattern-memory proxy`: run the app under uvicorn."""

from __future__ import annotations

import logging

from ...memory.service import PatternMemory
from ...settings import Settings
from .app import ProxyConfig, create_app


def serve(settings: Settings, upstream: str, host: str, port: int, timeout: float) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with PatternMemory.open(settings) as memory:
        app = create_app(ProxyConfig(upstream, settings, timeout), memory)
        # access_log off: request lines may carry query-string credentials.
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
