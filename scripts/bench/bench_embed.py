"""Embedding throughput: our embedder against the bare onnxruntime session.

Two workloads: short texts (commit-message-like, ~10 word pieces) and code-sized texts
(real Python source from the standard library, cut into ~30-line chunks, ~220+ word pieces
before truncation). For each, the floor is the raw `InferenceSession.run` of the same model
file, with the same threads, on the same batches, tokenized beforehand (so tokenizing,
pooling and normalising are what the ratio shows on top of the model itself).

Usage: python scripts/bench/bench_embed.py [--max-tokens 128] [--token-budget 1024] [--short 1000]
       [--code 200]
"""

from __future__ import annotations

import argparse
import resource
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from pattern_memory.memory import model_files
from pattern_memory.memory.embedder import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_TOKENS,
    DEFAULT_TOKEN_BUDGET,
    FastEmbedEmbedder,
    plan_batches,
)

SUBJECTS = ["parser", "cache", "http client", "settings page", "git log reader", "tokenizer"]
VERBS = ["fix", "handle", "guard against", "add retry to", "log errors in", "speed up"]
DETAILS = ["None values", "empty input", "timeouts", "unicode names", "a race", "large files"]


def short_texts(count: int) -> list[str]:
    return [
        f"{VERBS[i % 6]} {DETAILS[(i // 6) % 6]} in the {SUBJECTS[(i // 36) % 6]} (#{i})"
        for i in range(count)
    ]


def code_texts(count: int, lines_per_chunk: int = 30) -> list[str]:
    """Chunks of the standard library's own source: real code, on every machine."""
    chunks: list[str] = []
    if count <= 0:
        return chunks
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for start in range(0, len(lines) - lines_per_chunk, lines_per_chunk):
            chunk = "\n".join(lines[start : start + lines_per_chunk])
            if len(chunk) > 600:  # skip blank stretches: code-sized means ~220+ word pieces
                chunks.append(chunk)
            if len(chunks) == count:
                return chunks
    return chunks


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class RawSession:
    """The floor: onnxruntime alone on pre-tokenized batches built as the embedder builds them."""

    def __init__(self, embedder: FastEmbedEmbedder) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        files = model_files.locate_model_files()
        self.tokenizer = Tokenizer.from_file(str(files.paths[model_files.TOKENIZER_FILE]))
        self.tokenizer.enable_truncation(max_length=embedder.max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = embedder.threads
        options.inter_op_num_threads = embedder.threads
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(files.paths[model_files.ONNX_FILE]),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self.embedder = embedder

    def tokenize(self, texts: list[str]) -> list[dict[str, np.ndarray]]:
        e = self.embedder
        batches = []
        for batch in plan_batches(texts, e.max_tokens, e.token_budget, e.batch_size):
            encodings = self.tokenizer.encode_batch([texts[i] for i in batch])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            batches.append(
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
        return batches

    def run(self, batches: list[dict[str, np.ndarray]]) -> None:
        for feeds in batches:
            self.session.run(None, feeds)


@dataclass(frozen=True)
class Timing:
    wall: float  # best wall-clock seconds
    cpu: float  # CPU seconds of that run, all threads: far less disturbed by other processes


def best_of_interleaved(
    repeats: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[Timing, Timing]:
    """Best runs of two jobs run in turn, so that load from other processes hits both."""
    runs: tuple[list[Timing], list[Timing]] = ([], [])
    for _ in range(repeats):
        for work, timings in ((first, runs[0]), (second, runs[1])):
            wall, cpu = time.perf_counter(), time.process_time()
            work()
            timings.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs[0], key=lambda t: t.wall), min(runs[1], key=lambda t: t.wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--token-budget", type=int, default=DEFAULT_TOKEN_BUDGET)
    parser.add_argument("--short", type=int, default=1000, help="number of short texts")
    parser.add_argument("--code", type=int, default=200, help="number of code-sized texts")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rss_start = peak_rss_mib()
    start = time.perf_counter()
    embedder = FastEmbedEmbedder(
        max_tokens=args.max_tokens,
        batch_size=args.batch_size,
        token_budget=args.token_budget,
        cache_root=Path(tempfile.mkdtemp(prefix="bench-embed-")),
    )
    embedder.load()
    load_s = time.perf_counter() - start
    rss_loaded = peak_rss_mib()
    workloads = {"short": short_texts(args.short), "code": code_texts(args.code)}
    for texts in workloads.values():  # a first pass alone: the embedder's own peak memory
        embedder.embed(texts)
    print(
        f"model {embedder.model_id}, batches of at most {embedder.batch_size} texts and "
        f"{embedder.token_budget} word pieces, threads {embedder.threads}; "
        f"load (verify sha256 + session) {load_s * 1000:.0f} ms; peak RSS: "
        f"{rss_start:.0f} MiB at start, {rss_loaded:.0f} MiB loaded, "
        f"{peak_rss_mib():.0f} MiB after embedding all texts"
    )
    raw = RawSession(embedder)
    for name, texts in workloads.items():
        tokens = [sum(e.attention_mask) for e in raw.tokenizer.encode_batch(texts)]
        batches = raw.tokenize(texts)
        raw.run(batches[:1])  # warm up
        ours, floor = best_of_interleaved(
            args.repeats, partial(embedder.embed, texts), partial(raw.run, batches)
        )
        print(
            f"{name:5} {len(texts):5} texts, mean {np.mean(tokens):5.1f} word pieces "
            f"(after truncation): embedder {len(texts) / ours.wall:7.1f} texts/s "
            f"({ours.cpu:.2f} CPU s), floor (bare session.run) {len(texts) / floor.wall:7.1f} "
            f"texts/s ({floor.cpu:.2f} CPU s); ratio {ours.wall / floor.wall:.2f}x wall, "
            f"{ours.cpu / floor.cpu:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
