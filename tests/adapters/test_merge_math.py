"""Merged updates against sum_i w_i * scale_i * B_i @ A_i, computed independently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pattern_memory.adapters.fuse import MergeRequest, merge_adapters
from pattern_memory.adapters.merge import Method
from tests.adapters.lora_files import (
    exact_update,
    make_adapter,
    merged_update,
    read_tensors,
    relative_error,
)

# Relative error that rounding the result to the output dtype may introduce.
TOLERANCE = {"F32": 1e-5, "F16": 3e-3, "BF16": 2e-2}


def _merge(inputs: list[Path], output: Path, method: Method, weights: list[float], **kw: object):
    return merge_adapters(MergeRequest(inputs, output, method, weights, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", ["F16", "BF16", "F32"])
def test_cat_is_exact_with_mixed_ranks_alphas_and_rslora(tmp_path: Path, dtype: str) -> None:
    adapters = [
        make_adapter(tmp_path / "alice", rank=4, alpha=8, dtype=dtype, seed=1, embedding=True),
        make_adapter(
            tmp_path / "bob", rank=8, alpha=16, dtype=dtype, seed=2, rslora=True, embedding=True
        ),
        make_adapter(
            tmp_path / "carol",
            rank=2,
            alpha=1,
            dtype=dtype,
            seed=3,
            rank_pattern={"down_proj": 6},
            alpha_pattern={"down_proj": 3},
            embedding=True,
        ),
    ]
    weights = [0.5, 0.3, 0.2]
    result = _merge([a.path for a in adapters], tmp_path / "out", Method.CAT, weights)

    assert result.config_path == tmp_path / "out" / "adapter_config.json"
    merged = merged_update(result.weights_path, result.config_path)
    want = exact_update(adapters, weights)
    assert set(merged) == set(want)
    for name in want:
        assert relative_error(merged[name], want[name]) < TOLERANCE[dtype], name
    # The output keeps the inputs' dtype and PEFT's key names.
    stored = read_tensors(result.weights_path)
    assert {d for d, _ in stored.values()} == {dtype}
    assert set(stored) == {k for a in adapters[:1] for pair in a.keys.values() for k in pair}
    # cat's rank is the sum of the ranks: 14 for most modules, 18 where carol has rank 6.
    assert result.ranks == [14, 18]


def test_cat_is_exact_to_float32_precision_when_written_as_float32(tmp_path: Path) -> None:
    adapters = [
        make_adapter(tmp_path / "a", rank=4, alpha=8, seed=1),
        make_adapter(tmp_path / "b", rank=4, alpha=32, seed=2),
    ]
    result = _merge(
        [a.path for a in adapters], tmp_path / "out", Method.CAT, [0.6, 0.4], dtype="float32"
    )
    merged = merged_update(result.weights_path, result.config_path)
    want = exact_update(adapters, [0.6, 0.4])
    for name in want:
        assert relative_error(merged[name], want[name]) < 1e-6


@pytest.mark.parametrize("dtype", ["F16", "BF16", "F32"])
def test_svd_at_full_rank_is_exact(tmp_path: Path, dtype: str) -> None:
    adapters = [
        make_adapter(tmp_path / "a", rank=4, alpha=4, dtype=dtype, seed=1),
        make_adapter(tmp_path / "b", rank=6, alpha=12, dtype=dtype, seed=2, rslora=True),
    ]
    weights = [0.7, 0.3]
    result = _merge([a.path for a in adapters], tmp_path / "out", Method.SVD, weights, rank=10)
    assert result.svd_relative_error == pytest.approx(0.0, abs=1e-6)
    merged = merged_update(result.weights_path, result.config_path)
    want = exact_update(adapters, weights)
    for name in want:
        assert relative_error(merged[name], want[name]) < TOLERANCE[dtype], name


def test_svd_truncation_is_optimal_and_reports_its_error(tmp_path: Path) -> None:
    adapters = [
        make_adapter(tmp_path / "a", rank=4, alpha=8, dtype="F32", seed=1),
        make_adapter(tmp_path / "b", rank=8, alpha=8, dtype="F32", seed=2),
    ]
    weights = [0.5, 0.5]
    result = _merge([a.path for a in adapters], tmp_path / "out", Method.SVD, weights, rank=3)
    assert result.ranks == [3]
    merged = merged_update(result.weights_path, result.config_path)
    want = exact_update(adapters, weights)
    errors, discarded, total = [], 0.0, 0.0
    for name, update in want.items():
        # The best rank-3 approximation (Eckart-Young), from a dense SVD done here.
        sigma = np.linalg.svd(update, compute_uv=False)
        best = float(np.sqrt((sigma[3:] ** 2).sum() / (sigma**2).sum()))
        got = relative_error(merged[name], update)
        assert got == pytest.approx(best, rel=1e-4), name
        errors.append(got)
        discarded += float((sigma[3:] ** 2).sum())
        total += float((sigma**2).sum())
    assert result.svd_max_relative_error == pytest.approx(max(errors), rel=1e-4)
    assert result.svd_relative_error == pytest.approx(np.sqrt(discarded / total), rel=1e-4)


@pytest.mark.parametrize("dtype", ["F16", "BF16", "F32"])
def test_linear_is_the_seeds_elementwise_formula(tmp_path: Path, dtype: str) -> None:
    # Bare files: scale 1, so the seed's formula applies to the stored tensors directly.
    adapters = [
        make_adapter(tmp_path / f"{n}.safetensors", rank=4, dtype=dtype, seed=s, folder=False)
        for n, s in (("a", 1), ("b", 2))
    ]
    weights = [0.6, 0.4]
    result = _merge(
        [a.path for a in adapters], tmp_path / "out.safetensors", Method.LINEAR, weights
    )
    assert result.config_path is None
    stored = read_tensors(result.weights_path)
    for name, (a_key, b_key) in adapters[0].keys.items():
        for key, index in ((a_key, 0), (b_key, 1)):
            want = sum(w * a.factors[name][index] for a, w in zip(adapters, weights, strict=True))
            assert relative_error(stored[key][1], want) < TOLERANCE[dtype]
        # ... which is not the weighted sum of the updates: that is why it is not the default.
        update = stored[b_key][1] @ stored[a_key][1]
        assert relative_error(update, exact_update(adapters, weights)[name]) > 0.1


def test_linear_folds_different_scales_into_b(tmp_path: Path) -> None:
    adapters = [
        make_adapter(tmp_path / "a", rank=4, alpha=8, dtype="F32", seed=1),
        make_adapter(tmp_path / "b", rank=4, alpha=2, dtype="F32", seed=2),
    ]
    weights = [0.5, 0.5]
    result = _merge([a.path for a in adapters], tmp_path / "out", Method.LINEAR, weights)
    merged = merged_update(result.weights_path, result.config_path)
    for name in adapters[0].factors:
        a_mix = sum(w * x.factors[name][0] for x, w in zip(adapters, weights, strict=True))
        b_mix = sum(
            w * x.scales[name] * x.factors[name][1] for x, w in zip(adapters, weights, strict=True)
        )
        assert relative_error(merged[name], b_mix @ a_mix) < 1e-5


def test_bare_files_with_alphas_get_their_scale(tmp_path: Path) -> None:
    adapters = [
        make_adapter(tmp_path / f"{n}.safetensors", rank=r, dtype="F32", seed=s, folder=False)
        for n, r, s in (("a", 4, 1), ("b", 8, 2))
    ]
    alphas = [16.0, 4.0]
    for adapter, alpha in zip(adapters, alphas, strict=True):
        adapter.scales = {
            name: alpha / adapter.factors[name][0].shape[0] for name in adapter.factors
        }
    result = _merge(
        [a.path for a in adapters],
        tmp_path / "out.safetensors",
        Method.CAT,
        [0.5, 0.5],
        alphas=alphas,
    )
    merged = merged_update(result.weights_path, None)
    want = exact_update(adapters, [0.5, 0.5])
    for name in want:
        assert relative_error(merged[name], want[name]) < 1e-6


def test_mixed_input_dtypes_merge_into_float32(tmp_path: Path) -> None:
    adapters = [
        make_adapter(tmp_path / "a", dtype="F16", seed=1),
        make_adapter(tmp_path / "b", dtype="BF16", seed=2),
    ]
    result = _merge([a.path for a in adapters], tmp_path / "out", Method.CAT, [0.5, 0.5])
    assert {d for d, _ in read_tensors(result.weights_path).values()} == {"F32"}
    merged = merged_update(result.weights_path, result.config_path)
    want = exact_update(adapters, [0.5, 0.5])
    for name in want:
        assert relative_error(merged[name], want[name]) < 1e-6


def test_a_merged_output_merges_again_exactly(tmp_path: Path) -> None:
    first = [make_adapter(tmp_path / n, seed=s, rank=4) for n, s in (("a", 1), ("b", 2))]
    _merge([a.path for a in first], tmp_path / "ab", Method.CAT, [0.5, 0.5], dtype="float32")
    third = make_adapter(tmp_path / "c", seed=3, rank=4, alpha=4, dtype="F32")
    again = _merge(
        [tmp_path / "ab", third.path], tmp_path / "abc", Method.CAT, [0.5, 0.5], dtype="float32"
    )
    merged = merged_update(again.weights_path, again.config_path)
    want_ab = exact_update(first, [0.5, 0.5])
    want_c = exact_update([third], [1.0])
    for name in want_ab:
        want = 0.5 * want_ab[name] + 0.5 * want_c[name]
        assert relative_error(merged[name], want) < 1e-5


def test_merging_bare_files_over_a_peft_output_drops_its_stale_config(tmp_path: Path) -> None:
    folders = [make_adapter(tmp_path / n, seed=s, rank=4) for n, s in (("a", 1), ("b", 2))]
    first = _merge([a.path for a in folders], tmp_path / "out", Method.CAT, [0.5, 0.5])
    assert first.config_path is not None and first.config_path.exists()
    bare = [
        make_adapter(tmp_path / f"{n}.safetensors", rank=2, seed=s, folder=False, dtype="F32")
        for n, s in (("c", 3), ("d", 4))
    ]
    again = _merge([b.path for b in bare], tmp_path / "out", Method.CAT, [0.5, 0.5])
    assert again.config_path is None
    assert not first.config_path.exists()
    merged = merged_update(again.weights_path, None)
    want = exact_update(bare, [0.5, 0.5])
    for name in want:
        assert relative_error(merged[name], want[name]) < 1e-6
