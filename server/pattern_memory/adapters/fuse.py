"""A whole merge: validate every input, plan the output, stream module by module, write
atomically.

Everything that needs no tensor data (headers, keys, pairs, shapes, ranks, configs, weights)
is checked before any data is read; the values (NaN/Inf) are checked as the merge reads them.
When a version will be recorded, the inputs are hashed first (it records what was merged,
even when the output then replaces an input). The output is written into a staging folder
(see staging.py) and put in place only when the caller commits, so a failure during the
merge (a bad value, an overflow, an interrupt) or after it (recording the version) leaves
what was there. Memory holds a few modules' factors at a time, never the files.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy.typing as npt

from ..errors import AdapterError
from ..fileio import atomic_text_writer
from .allocator import reuse_freed_memory
from .half import DtypeOverflowError
from .merge import Method, combine, merged_rank
from .peft_format import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    Adapter,
    check_compatible,
    config_path_for,
    load_adapter,
    output_config,
)
from .safetensors_io import (
    OutputTensor,
    TensorReader,
    array_dtype,
    encode,
    open_tensors,
    write_safetensors,
)
from .split import run_halves, usable_cores
from .staging import StagedFiles, staging
from .versions import InputIdentity

# Threads that merge modules ahead of the writer; more would only hold more memory.
MAX_WORKERS = 4
OUTPUT_DTYPES = {"float16": "F16", "bfloat16": "BF16", "float32": "F32"}


def resolve_weights(
    count: int,
    weights: Sequence[float] | None = None,
    success_rates: Sequence[float] | None = None,
) -> list[float]:
    """The seed's rules: explicit weights as given; success rates -> s_i / sum(s); else equal."""
    if weights is not None and success_rates is not None:
        raise AdapterError("give either --weights or --success-rates, not both")
    if success_rates is not None:
        _check_count("success rates", success_rates, count)
        for rate in success_rates:
            if not math.isfinite(rate) or rate < 0:
                raise AdapterError(f"success rate {rate} is not a non-negative number")
        total = math.fsum(success_rates)
        if total == 0:
            raise AdapterError("all success rates are 0; at least one must be positive")
        return [rate / total for rate in success_rates]
    if weights is not None:
        _check_count("weights", weights, count)
        if not all(math.isfinite(w) for w in weights):
            raise AdapterError(f"weights must be finite numbers, got {list(weights)}")
        if not any(weights):
            raise AdapterError("all weights are 0; at least one must be non-zero")
        return list(weights)
    return [1.0 / count] * count


def _check_count(what: str, values: Sequence[float], count: int) -> None:
    if len(values) != count:
        raise AdapterError(f"got {len(values)} {what} for {count} adapters; give one per adapter")


@dataclass(frozen=True)
class MergeRequest:
    inputs: Sequence[Path]
    output: Path
    method: Method = Method.CAT
    weights: Sequence[float] | None = None  # already resolved; None = equal
    rank: int | None = None  # svd only
    alphas: Sequence[float] | None = None  # lora_alpha of bare files (no config)
    dtype: str | None = None  # a key of OUTPUT_DTYPES; None: the inputs' dtype
    checksums: bool = True  # hash the inputs while validating (for a version record)


@dataclass(frozen=True)
class MergeResult:
    weights_path: Path
    config_path: Path | None
    method: Method
    weights: list[float]
    modules: int
    ranks: list[int]  # distinct output ranks
    svd_max_relative_error: float | None = None
    svd_relative_error: float | None = None  # over all modules together
    notes: list[str] = field(default_factory=list)
    # Each input's checksums, taken while validating it (before anything was written);
    # empty if the request asked for none.
    input_identities: list[InputIdentity] = field(default_factory=list)


@dataclass(frozen=True)
class StagedMerge:
    """A finished merge not yet in place: `files.staged_weights` / `files.staged_config`
    hold it; `commit()` moves it to `result.weights_path` / `result.config_path`."""

    result: MergeResult
    files: StagedFiles

    def commit(self) -> None:
        self.files.commit()


@dataclass(frozen=True)
class _PlannedModule:
    name: str
    a_key: str
    b_key: str
    rank: int


@dataclass(frozen=True)
class _MergedModule:
    a: npt.NDArray[Any]  # storage form, ready to write
    b: npt.NDArray[Any]
    discarded_sq: float
    total_sq: float


def _in_order(
    work: Callable[[_PlannedModule], _MergedModule],
    plan: Sequence[_PlannedModule],
    workers: int,
) -> Iterator[_MergedModule]:
    """work(item) for each item, in order, computed by a few threads a little ahead of the
    consumer (NumPy releases the GIL), so that reading, arithmetic and writing overlap while
    memory holds only a few modules."""
    workers = max(1, min(MAX_WORKERS, workers))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="merge") as pool:
        items = iter(plan)
        pending = deque(pool.submit(work, item) for item in itertools.islice(items, 2 * workers))
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(pool.submit(work, item) for item in itertools.islice(items, 1))
                yield result
        finally:
            for future in pending:
                future.cancel()


def _single_threaded_blas() -> AbstractContextManager[object]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional (the `adapters` extra): merges still work, maybe slower
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits


def output_paths(output: Path, has_config: bool) -> tuple[Path, Path | None]:
    """A `.safetensors` output is a file (config as `<stem>.adapter_config.json`, or PEFT's
    name beside `adapter_model.safetensors`); anything else is a PEFT folder."""
    if output.suffix == ".safetensors":
        return output, config_path_for(output) if has_config else None
    return output / WEIGHTS_NAME, output / CONFIG_NAME if has_config else None


def _validate_request(request: MergeRequest, adapters: Sequence[Adapter]) -> list[float]:
    count = len(adapters)
    weights = resolve_weights(count, request.weights)
    if request.rank is not None:
        if request.method is not Method.SVD:
            raise AdapterError("--rank applies to --method svd only")
        if request.rank <= 0:
            raise AdapterError(f"--rank must be positive, got {request.rank}")
    if request.dtype is not None and request.dtype not in OUTPUT_DTYPES:
        raise AdapterError(f"unknown output dtype {request.dtype!r}")
    if request.method is Method.LINEAR:
        for name, module in adapters[0].modules.items():
            for other in adapters[1:]:
                if other.modules[name].rank != module.rank:
                    raise AdapterError(
                        f"--method linear needs equal ranks, but {name!r} has rank "
                        f"{module.rank} in {adapters[0].weights_path} and "
                        f"{other.modules[name].rank} in {other.weights_path}; "
                        "use --method cat or svd"
                    )
    return weights


def _output_dtype(adapters: Sequence[Adapter], key_of: Sequence[str], forced: str | None) -> str:
    if forced is not None:
        return OUTPUT_DTYPES[forced]
    dtypes = {a.header.tensors[k].dtype for a, k in zip(adapters, key_of, strict=True)}
    return dtypes.pop() if len(dtypes) == 1 else "F32"


def _plan(
    request: MergeRequest, adapters: Sequence[Adapter]
) -> tuple[list[_PlannedModule], list[OutputTensor]]:
    """Every output tensor's name, dtype and shape, known before any data is read."""
    plan: list[_PlannedModule] = []
    tensors: list[OutputTensor] = []
    for name in sorted(adapters[0].modules):
        modules = [a.modules[name] for a in adapters]
        first = modules[0]
        out_in = (first.out_features, first.in_features)
        rank = merged_rank(request.method, [m.rank for m in modules], out_in, request.rank)
        plan.append(_PlannedModule(name, first.a_key, first.b_key, rank))
        a_dtype = _output_dtype(adapters, [m.a_key for m in modules], request.dtype)
        b_dtype = _output_dtype(adapters, [m.b_key for m in modules], request.dtype)
        tensors.append(OutputTensor(first.a_key, a_dtype, (rank, first.in_features)))
        tensors.append(OutputTensor(first.b_key, b_dtype, (first.out_features, rank)))
    return plan, tensors


def _load_inputs(request: MergeRequest) -> list[Adapter]:
    """Every input's header, keys and config, validated and checked against each other."""
    if not request.inputs:
        raise AdapterError("no adapters to merge")
    alphas = request.alphas
    if alphas is not None:
        _check_count("alphas", alphas, len(request.inputs))
        if not all(math.isfinite(a) and a > 0 for a in alphas):
            raise AdapterError(f"alphas must be positive numbers, got {list(alphas)}")
    adapters = [
        load_adapter(Path(p), alphas[i] if alphas else None) for i, p in enumerate(request.inputs)
    ]
    check_compatible(adapters)
    return adapters


def merge_adapters(request: MergeRequest) -> MergeResult:
    """Merge and put the output in place."""
    with staged_merge(request) as staged:
        staged.commit()
        return staged.result


@contextmanager
def staged_merge(request: MergeRequest) -> Iterator[StagedMerge]:
    """Merge into a staging folder beside the output; the caller commits (or not: leaving
    the block without commit() discards the merge, and the output is untouched)."""
    adapters = _load_inputs(request)
    weights = _validate_request(request, adapters)
    reuse_freed_memory()
    with_config = [a for a in adapters if a.config is not None]
    plan, tensors = _plan(request, adapters)
    notes = _notes(request, adapters, with_config, plan)
    weights_path, config_path = output_paths(request.output, bool(with_config))
    ranks = {m.name: m.rank for m in plan}
    config = output_config(with_config[0].config or {}, ranks) if with_config else None
    stale_config = output_paths(request.output, has_config=True)[1]

    with ExitStack() as stack:
        if request.method is Method.SVD:  # the only method that calls BLAS
            # We run modules in parallel ourselves; BLAS threads on top of that would compete
            # for the same cores (OpenBLAS threads spin: on a busy machine svd ran 8x slower).
            stack.enter_context(_single_threaded_blas())
        readers = [stack.enter_context(open_tensors(a.header)) for a in adapters]
        identities = (
            [
                InputIdentity(checksum, adapter.config_sha256)
                for checksum, adapter in zip(_checksums(readers), adapters, strict=True)
            ]
            if request.checksums
            else []
        )
        files = stack.enter_context(staging(weights_path, config_path, stale_config))
        if files.staged_config is not None and config is not None:
            # The config first: both are complete before either is put in place.
            with atomic_text_writer(files.staged_config) as stream:
                json.dump(config, stream, indent=2, sort_keys=True)
                stream.write("\n")
        errors = _write_merged(
            request,
            adapters=adapters,
            readers=readers,
            plan=plan,
            tensors=tensors,
            weights=weights,
            files=files,
        )
        is_svd = request.method is Method.SVD
        discarded, total, worst = errors
        result = MergeResult(
            weights_path=weights_path,
            config_path=config_path,
            method=request.method,
            weights=weights,
            modules=len(plan),
            ranks=sorted({m.rank for m in plan}),
            svd_max_relative_error=worst if is_svd else None,
            svd_relative_error=(
                (math.sqrt(discarded / total) if total > 0 else 0.0) if is_svd else None
            ),
            notes=notes,
            input_identities=identities,
        )
        yield StagedMerge(result, files)


def _checksums(readers: Sequence[TensorReader]) -> list[str]:
    """Every input's sha256, the inputs in parallel."""
    workers = min(len(readers), usable_cores())
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash") as pool:
        return list(pool.map(TensorReader.checksum, readers))


def _overflow(key: str, dtype: str) -> AdapterError:
    return AdapterError(
        f"merged tensor {key!r} overflows {dtype}; choose a wider output with --dtype float32"
    )


def _write_merged(
    request: MergeRequest,
    *,
    adapters: Sequence[Adapter],
    readers: Sequence[TensorReader],
    plan: Sequence[_PlannedModule],
    tensors: Sequence[OutputTensor],
    weights: Sequence[float],
    files: StagedFiles,
) -> tuple[float, float, float]:
    """Stream the merged modules into the staged weights file, the second half in a second
    process when that pays (split.py); (discarded_sq, total_sq, worst relative error) for
    svd."""
    dtypes = {t.name: t.dtype for t in tensors}
    output_bytes = {t.name: t.nbytes for t in tensors}

    def merge_module(planned: _PlannedModule) -> _MergedModule:
        modules = [a.modules[planned.name] for a in adapters]
        a_dtype, b_dtype = dtypes[planned.a_key], dtypes[planned.b_key]
        try:
            factors = combine(
                request.method,
                [r.read(m.a_key) for r, m in zip(readers, modules, strict=True)],
                [r.read(m.b_key) for r, m in zip(readers, modules, strict=True)],
                weights,
                [m.scale for m in modules],
                rank=planned.rank,
                dtypes=(array_dtype(a_dtype), array_dtype(b_dtype)),
            )
        except DtypeOverflowError as exc:
            key = planned.a_key if exc.factor == "A" else planned.b_key
            raise _overflow(key, exc.dtype) from None
        stored = []
        for key, values, dtype in (
            (planned.a_key, factors.a, a_dtype),
            (planned.b_key, factors.b, b_dtype),
        ):
            try:
                stored.append(encode(values, dtype))
            except DtypeOverflowError:
                raise _overflow(key, dtype) from None
        return _MergedModule(stored[0], stored[1], factors.discarded_sq, factors.total_sq)

    def merge_part(
        part: Sequence[_PlannedModule], threads: int, check: Callable[[], None]
    ) -> list[float]:
        discarded, total, worst = 0.0, 0.0, 0.0
        for planned, merged in zip(part, _in_order(merge_module, part, threads), strict=True):
            check()  # the other half's process may have failed already
            writer.write(planned.a_key, merged.a)
            writer.write(planned.b_key, merged.b)
            discarded += merged.discarded_sq
            total += merged.total_sq
            if merged.total_sq > 0:
                worst = max(worst, math.sqrt(merged.discarded_sq / merged.total_sq))
        return [discarded, total, worst, float(writer.written)]

    sizes = [output_bytes[p.a_key] + output_bytes[p.b_key] for p in plan]
    with write_safetensors(files.staged_weights, tensors, {"format": "pt"}) as writer:
        parts = run_halves(merge_part, plan, sizes)
        if sum(int(part[3]) for part in parts) != writer.tensor_count:
            raise AssertionError("a merge left tensors unwritten")
    return (
        sum(part[0] for part in parts),
        sum(part[1] for part in parts),
        max(part[2] for part in parts),
    )


def _notes(
    request: MergeRequest,
    adapters: Sequence[Adapter],
    with_config: Sequence[Adapter],
    plan: Sequence[_PlannedModule],
) -> list[str]:
    notes: list[str] = []
    # Nothing says what lora_alpha was for an input without a config: say what was assumed
    # when that may surprise (a folder, or beside inputs that have one; --alphas states it).
    assumed = [
        a.label
        for a in adapters
        if a.config is None and request.alphas is None and (with_config or Path(a.label).is_dir())
    ]
    if assumed:
        notes.append(
            f"{', '.join(assumed)}: no {CONFIG_NAME}, so scale 1 (lora_alpha = r) was assumed;"
            " give --alphas to state lora_alpha"
        )
    if request.method is Method.SVD and request.rank is not None:
        capped = sorted({m.rank for m in plan if m.rank < request.rank})
        if capped:
            count = sum(m.rank < request.rank for m in plan)
            notes.append(
                f"--rank {request.rank} is more than the inputs' total rank (or the layer's "
                f"size) in {count} of {len(plan)} modules: they keep rank "
                f"{'/'.join(map(str, capped))}, exactly"
            )
    bases = {
        str(a.config.get("base_model_name_or_path"))
        for a in with_config
        if a.config and a.config.get("base_model_name_or_path")
    }
    if len(bases) > 1:
        notes.append(f"the adapters name different base models: {', '.join(sorted(bases))}")
    return notes
