"""The combination methods, pure NumPy, one module at a time.

Each input i contributes factors A_i (r_i x in) and B_i (out x r_i) with scale s_i and user
weight w_i; the exact merged update is  sum_i w_i * s_i * B_i @ A_i.  Every method returns
factors (A, B) whose scale is 1 (the scalings are folded into B):

- cat: A = [A_1; A_2; ...], B = [w_1 s_1 B_1, w_2 s_2 B_2, ...]. B @ A is the exact sum;
  the rank is sum_i r_i.
- svd: the exact sum re-factored to rank k by a truncated SVD, computed through QR of the
  stacked factors so that the dense out x in update is never formed. Reports the relative
  (Frobenius) error the truncation introduced; 0 when k >= the sum's rank.
- linear: the seed's elementwise formula, A = sum_i w_i A_i and B = sum_i w_i s_i B_i.
  Approximate: B @ A holds the cross terms w_i w_j B_i A_j and squared weights, so it is not
  the weighted sum of the updates. Kept for compatibility; needs equal ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]


class Method(StrEnum):
    CAT = "cat"
    SVD = "svd"
    LINEAR = "linear"


@dataclass(frozen=True)
class Factors:
    a: FloatArray
    b: FloatArray
    # For svd: squared Frobenius norms of the discarded and of the whole update.
    discarded_sq: float = 0.0
    total_sq: float = 0.0


def merged_rank(
    method: Method, ranks: Sequence[int], out_in: tuple[int, int], k: int | None
) -> int:
    """The rank a module's merged factors will have (known before any data is read)."""
    if method is Method.CAT:
        return sum(ranks)
    if method is Method.LINEAR:
        return ranks[0]
    target = k if k is not None else max(ranks)
    return max(1, min(target, sum(ranks), *out_in))


def combine(
    method: Method,
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
    *,
    rank: int,
) -> Factors:
    """Merge one module's factors; `rank` comes from merged_rank."""
    if method is Method.CAT:
        return cat(a_list, b_list, weights, scales)
    if method is Method.SVD:
        return svd(a_list, b_list, weights, scales, rank)
    return linear(a_list, b_list, weights, scales)


def _coefficient(value: float, like: FloatArray) -> Any:
    # A NumPy scalar of the array's dtype keeps float32 arithmetic in float32.
    return like.dtype.type(value)


def _stacked(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
) -> tuple[FloatArray, FloatArray]:
    a = np.concatenate(a_list, axis=0)
    b = np.concatenate(
        [b_i * _coefficient(w * s, b_i) for b_i, w, s in zip(b_list, weights, scales, strict=True)],
        axis=1,
    )
    return a, b


def cat(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
) -> Factors:
    a, b = _stacked(a_list, b_list, weights, scales)
    return Factors(a, b)


def svd(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
    rank: int,
) -> Factors:
    a, b = _stacked(a_list, b_list, weights, scales)
    # B @ A = Qb (Rb Ra^T) Qa^T: the SVD of the small middle matrix gives the update's SVD.
    # Computed in float64: the factors are small and the error we report must be accurate.
    q_b, r_b = np.linalg.qr(b.astype(np.float64))
    q_a, r_a = np.linalg.qr(a.T.astype(np.float64))
    u, sigma, vt = np.linalg.svd(r_b @ r_a.T, full_matrices=False)
    kept = min(rank, sigma.size)
    root = np.sqrt(sigma[:kept])
    merged_b = (q_b @ u[:, :kept]) * root
    merged_a = (root[:, None] * vt[:kept]) @ q_a.T
    squares = sigma.astype(np.float64) ** 2
    return Factors(
        merged_a.astype(a.dtype),
        merged_b.astype(b.dtype),
        discarded_sq=float(squares[kept:].sum()),
        total_sq=float(squares.sum()),
    )


def linear(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
) -> Factors:
    if len({a_i.shape[0] for a_i in a_list}) > 1:
        raise ValueError("linear needs equal ranks")  # checked with a clear message earlier
    a = np.zeros_like(a_list[0])
    b = np.zeros_like(b_list[0])
    for a_i, b_i, w, s in zip(a_list, b_list, weights, scales, strict=True):
        a += a_i * _coefficient(w, a_i)
        b += b_i * _coefficient(w * s, b_i)
    return Factors(a, b)
