"""The combination methods, pure NumPy, one module at a time.

Each input i contributes factors A_i (r_i x in) and B_i (out x r_i) with scale s_i and user
weight w_i; the exact merged update is  sum_i w_i * s_i * B_i @ A_i.  Every method returns
factors (A, B) whose scale is 1 (the scalings are folded into the factors), already in the
dtypes the caller will store them in:

- cat: A = [A_1; A_2; ...], B = [B_1, B_2, ...] with w_i s_i folded into the smaller of A_i
  and B_i (the other is copied as stored, without arithmetic). B @ A is the exact sum; the
  rank is sum_i r_i.
- svd: the exact sum re-factored to rank k by a truncated SVD, computed from the stacked
  factors so that the dense out x in update is never formed. Reports the relative
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

from . import half
from .half import DtypeOverflowError
from .safetensors_io import STORAGE_NAMES, check_fits

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
    dtypes: tuple[np.dtype[Any], np.dtype[Any]],
) -> Factors:
    """Merge one module's factors; `rank` comes from merged_rank, `dtypes` are those of the
    returned (A, B). DtypeOverflowError (naming the factor) if a value does not fit them."""
    if method is Method.CAT:
        return cat(a_list, b_list, weights, scales, dtypes)
    if method is Method.SVD:
        return svd(a_list, b_list, weights, scales, rank=rank, dtypes=dtypes)
    return linear(a_list, b_list, weights, scales, dtypes)


def compute_dtype(arrays: Sequence[FloatArray]) -> np.dtype[Any]:
    """float32 arithmetic (float16/bfloat16 inputs are widened), float64 if an input is."""
    return np.dtype(np.float64 if any(a.dtype == np.float64 for a in arrays) else np.float32)


def narrow(values: FloatArray, dtype: np.dtype[Any], factor: str) -> FloatArray:
    """values as `dtype`; DtypeOverflowError (naming the factor) rather than a silent Inf."""
    if values.dtype == dtype:
        return values
    if dtype == np.float16 and values.dtype == np.float32:
        try:  # checks for overflow as it narrows
            return half.narrow(np.ascontiguousarray(values))
        except DtypeOverflowError:
            raise DtypeOverflowError("F16", factor) from None
    if dtype.itemsize < values.dtype.itemsize:
        name = STORAGE_NAMES[dtype]
        try:
            check_fits(values, name)
        except DtypeOverflowError:
            raise DtypeOverflowError(name, factor) from None
    with np.errstate(over="ignore"):
        narrowed: FloatArray = values.astype(dtype)
    return narrowed


def _scaled(array: FloatArray, coefficient: float, dtype: np.dtype[Any]) -> FloatArray:
    if array.dtype == np.float16 and dtype == np.float32:
        return half.widen_scaled(np.ascontiguousarray(array), coefficient)
    with np.errstate(over="ignore"):  # an Inf is reported by narrow's overflow check
        scaled: FloatArray = np.multiply(array, dtype.type(coefficient), dtype=dtype)
    return scaled


def _stacked(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
    dtypes: tuple[np.dtype[Any], np.dtype[Any]],
) -> tuple[FloatArray, FloatArray]:
    """[A_1; A_2; ...] and [B_1, B_2, ...] with each w_i s_i folded into the smaller factor."""
    work = compute_dtype([*a_list, *b_list])
    a_dtype, b_dtype = dtypes
    a_parts, b_parts = [], []
    for a_i, b_i, w, s in zip(a_list, b_list, weights, scales, strict=True):
        if a_i.size < b_i.size:
            a_parts.append(narrow(_scaled(a_i, w * s, work), a_dtype, "A"))
            b_parts.append(narrow(b_i, b_dtype, "B"))
        else:
            a_parts.append(narrow(a_i, a_dtype, "A"))
            b_parts.append(narrow(_scaled(b_i, w * s, work), b_dtype, "B"))
    return np.concatenate(a_parts, axis=0), np.concatenate(b_parts, axis=1)


def cat(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
    dtypes: tuple[np.dtype[Any], np.dtype[Any]],
) -> Factors:
    a, b = _stacked(a_list, b_list, weights, scales, dtypes)
    return Factors(a, b)


def svd(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
    *,
    rank: int,
    dtypes: tuple[np.dtype[Any], np.dtype[Any]],
) -> Factors:
    work = compute_dtype([*a_list, *b_list])
    a, b = _stacked(a_list, b_list, weights, scales, (work, work))
    a, b = a.astype(np.float64), b.astype(np.float64)
    # With B = U_b Lb^1/2 V_b^T and A = V_a La^1/2 U_a^T (eigendecompositions of the small Gram
    # matrices B^T B and A A^T), B @ A = U_b C U_a^T with C = Lb^1/2 V_b^T V_a La^1/2, so the
    # SVD of the small C is the SVD of the update: the dense out x in matrix is never formed,
    # and only a few large matrix products are needed (LAPACK's QR on tall matrices is far
    # slower, especially with BLAS threads competing for busy cores).
    root_b, basis_b = _gram_factor(b.T @ b)
    root_a, basis_a = _gram_factor(a @ a.T)
    middle = (root_b[:, None] * (basis_b.T @ basis_a)) * root_a[None, :]
    u, sigma, vt = np.linalg.svd(middle, full_matrices=False)
    kept = min(rank, sigma.size)
    half = np.sqrt(sigma[:kept])
    # Zero rows/columns pad the factors when the update's rank is below the planned rank.
    merged_a = np.zeros((rank, a.shape[1]), dtype=np.float64)
    merged_b = np.zeros((b.shape[0], rank), dtype=np.float64)
    merged_b[:, :kept] = b @ (basis_b @ (u[:, :kept] / root_b[:, None]) * half)
    merged_a[:kept] = (half[:, None] * (vt[:kept] / root_a[None, :]) @ basis_a.T) @ a
    squares = sigma**2
    return Factors(
        narrow(merged_a.astype(work), dtypes[0], "A"),
        narrow(merged_b.astype(work), dtypes[1], "B"),
        discarded_sq=float(squares[kept:].sum()),
        total_sq=float(squares.sum()),
    )


def _gram_factor(gram: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(sqrt of the eigenvalues, eigenvectors) of a Gram matrix, without null directions."""
    values, vectors = np.linalg.eigh(gram)
    keep = values > values.max(initial=0.0) * gram.shape[0] * np.finfo(np.float64).eps
    return np.sqrt(values[keep]), vectors[:, keep]


def linear(
    a_list: Sequence[FloatArray],
    b_list: Sequence[FloatArray],
    weights: Sequence[float],
    scales: Sequence[float],
    dtypes: tuple[np.dtype[Any], np.dtype[Any]],
) -> Factors:
    if len({a_i.shape[0] for a_i in a_list}) > 1:
        raise ValueError("linear needs equal ranks")  # checked with a clear message earlier
    work = compute_dtype([*a_list, *b_list])
    a = _scaled(a_list[0], weights[0], work)
    b = _scaled(b_list[0], weights[0] * scales[0], work)
    for a_i, b_i, w, s in zip(a_list[1:], b_list[1:], weights[1:], scales[1:], strict=True):
        a += _scaled(a_i, w, work)
        b += _scaled(b_i, w * s, work)
    return Factors(narrow(a, dtypes[0], "A"), narrow(b, dtypes[1], "B"))
