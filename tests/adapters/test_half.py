"""The fast float16 conversions agree bit for bit with NumPy's casts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pattern_memory.adapters import half

EVERY_FINITE_HALF = np.arange(65536, dtype=np.uint16).view(np.float16)
EVERY_FINITE_HALF = EVERY_FINITE_HALF[np.isfinite(EVERY_FINITE_HALF)]


def bits(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return array.view(np.uint32 if array.dtype == np.float32 else np.uint16)


@pytest.mark.parametrize("coefficient", [1.0, 0.3, -0.7, 2.5, 1e-3, 0.0, 1e6, 1e-35])
def test_widen_scaled_matches_numpy_for_every_half(coefficient: float) -> None:
    want = np.multiply(EVERY_FINITE_HALF, np.float32(coefficient), dtype=np.float32)
    got = half.widen_scaled(EVERY_FINITE_HALF.reshape(-1, 2), coefficient)
    assert got.shape == (EVERY_FINITE_HALF.size // 2, 2)
    assert np.array_equal(bits(got.reshape(-1)), bits(want))


def test_narrow_matches_numpy_at_every_rounding_boundary() -> None:
    exact = EVERY_FINITE_HALF.astype(np.float64)
    exact = np.unique(exact[np.abs(exact) < 65504])
    midpoints = (exact[1:] + exact[:-1]) / 2  # ties: round to even
    candidates = [exact.astype(np.float32), midpoints.astype(np.float32)]
    for base in list(candidates):
        candidates += [np.nextafter(base, np.float32(np.inf)), np.nextafter(base, -np.inf)]
    rng = np.random.default_rng(0)
    candidates += [
        (rng.standard_normal(20_000) * 2.0**e).astype(np.float32) for e in range(-30, 16)
    ]
    values = np.concatenate(candidates)
    values = values[np.abs(values) < 65520]
    assert np.array_equal(bits(half.narrow(values)), bits(values.astype(np.float16)))


@pytest.mark.parametrize("bad", [65520.0, -65520.0, 1e30, np.inf, -np.inf, np.nan])
def test_narrow_refuses_what_would_round_to_inf(bad: float) -> None:
    values = np.array([1.0, bad, -2.0], dtype=np.float32)
    with pytest.raises(half.DtypeOverflowError):
        half.narrow(values)


def test_narrow_keeps_the_largest_values_that_round_to_finite() -> None:
    below = np.nextafter(np.float32(65520.0), np.float32(0))
    values = np.array([below, -below, 65504.0, 0.0, -0.0], dtype=np.float32)
    assert np.array_equal(bits(half.narrow(values)), bits(values.astype(np.float16)))
