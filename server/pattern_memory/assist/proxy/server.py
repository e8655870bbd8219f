"""`pattern-memory proxy`: run the app under uvicorn."""

from __future__ import annotations

import logging

from ...memory.embedder import Embedder
from ...memory.service import PatternMemory
from ...settings import Settings
from .app import ProxyConfig, create_app

# One intra-op thread: the proxy embeds one short query per request, where a second thread
# gains little on an idle machine and, on a loaded one, its spin-waits compete with the
# search that follows (bench_proxy: the lookup took about twice as long with 2 threads).
QUERY_THREADS = 1


def open_memory(settings: Settings) -> PatternMemory:
    """The proxy's memory: the store at `settings.db_path`, the model with QUERY_THREADS."""
    from ...memory.embedder import load_embedder

    return PatternMemory.open(settings, load_embedder(threads=QUERY_THREADS))


def forge_model() -> Embedder:
    """A second instance of the same model for the forge hook (loaded on its first answer),
    so that forging never holds the one the lookups wait for."""
    from ...memory.embedder import load_embedder

    return load_embedder(threads=QUERY_THREADS)


def serve(config: ProxyConfig, host: str, port: int) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with open_memory(config.settings) as memory:
        app = create_app(config, memory, forge_model())
        # access_log off: request lines may carry query-string credentials.
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
