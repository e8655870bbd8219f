"""float16 <-> float32 conversions with integer bit operations.

NumPy casts float16 element by element (4-9 ns per value on our machines), which made these
casts most of the time a merge takes. The same results, bit for bit (tests compare with
NumPy's casts over every float16 value and the rounding boundaries), come out of a few
vectorised integer passes over the whole array. Each pass costs about 0.1 ns per value, so
the passes are counted: widening takes four, narrowing (with its overflow check) about ten.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_U32 = np.uint32
# float16 exponent bias 15 vs float32's 127: 2**112 moves an exponent between the two.
_REBIAS = 2.0**112
# Coefficients for which 2**112 * c stays a normal float32 (else use NumPy's cast).
_FAST_COEFFICIENTS = (2.0**-100, 2.0**15)
# float32 magnitudes (as bits) from which a value rounds to float16 Inf: 65520 and above
# (NaN and Inf bits are larger still, so the same test rejects them).
_OVERFLOW_BITS = int(np.float32(65520.0).view(_U32))
# Below 2**-14 the result is a float16 subnormal, which the normal-range rounding gets wrong.
_SUBNORMAL_BITS = 0x38800000


class DtypeOverflowError(ArithmeticError):
    """Values that do not fit the dtype they are to be stored in (they would become Inf, or
    are NaN/Inf already): the one overflow error of the adapter merge, raised by the float16
    narrowing here, safetensors_io.check_fits and merge.narrow (which names the factor)."""

    def __init__(self, dtype: str, factor: str | None = None) -> None:
        super().__init__(f"{factor} overflows {dtype}" if factor else f"overflows {dtype}")
        self.dtype = dtype  # safetensors name, e.g. "F16"
        self.factor = factor  # "A" or "B" when a merged factor overflowed


def widen_scaled(half: npt.NDArray[np.float16], coefficient: float) -> npt.NDArray[np.float32]:
    """float32(half) * float32(coefficient), rounded once, as NumPy computes it, for finite
    `half` (callers check the stored bits for NaN/Inf as they read them)."""
    if not _FAST_COEFFICIENTS[0] < abs(coefficient) < _FAST_COEFFICIENTS[1]:
        slow: npt.NDArray[np.float32] = np.multiply(half, np.float32(coefficient), dtype=np.float32)
        return slow
    # Sign-extended to int32 and shifted by 13, a float16's bits become
    # sign * 0xF0000000 | magnitude << 13 (the magnitude never carries into bit 28), so
    # clearing bits 28-30 leaves a float32 whose value is the float16's times 2**-112,
    # subnormals included.
    bits = half.view(np.int16).astype(np.int32).view(_U32)
    bits <<= _U32(13)
    bits &= _U32(0x8FFFFFFF)
    values: npt.NDArray[np.float32] = bits.view(np.float32)
    values *= np.float32(_REBIAS * float(np.float32(coefficient)))
    return values


def narrow(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float16]:
    """values.astype(float16) (round to nearest even); DtypeOverflowError instead of Inf."""
    bits = values.view(_U32)
    magnitude = bits & _U32(0x7FFFFFFF)
    if magnitude.size == 0:
        return np.empty(values.shape, dtype=np.float16)
    if int(magnitude.max()) >= _OVERFLOW_BITS:
        raise DtypeOverflowError("F16")
    # Normal results: drop 13 mantissa bits with round-to-nearest-even, rebias the exponent
    # (0xC8000FFF = 0xFFF rounding bias - (112 << 23), modulo 2**32).
    result = magnitude >> _U32(13)
    result &= _U32(1)
    result += magnitude
    result += _U32(0xC8000FFF)
    result >>= _U32(13)
    if int(magnitude.min()) < _SUBNORMAL_BITS:
        # Subnormal results: adding 0.5 makes the FPU round to multiples of 2**-24.
        small = magnitude < _U32(_SUBNORMAL_BITS)
        shifted = magnitude.view(np.float32)[small] + np.float32(0.5)
        result[small] = shifted.view(_U32) - _U32(0x3F000000)
    sign = bits >> _U32(16)
    sign &= _U32(0x8000)
    result |= sign
    narrowed: npt.NDArray[Any] = result.astype(np.uint16).view(np.float16)
    return narrowed
