"""float16 <-> float32 conversions with integer bit operations.

NumPy casts float16 element by element (4-9 ns per value on our machines), which made these
casts most of the time a merge takes. The same results, bit for bit (tests compare with
NumPy's casts over every float16 value and the rounding boundaries), come out of a few
vectorised integer passes. Finite values only: callers check for NaN/Inf and overflow first.
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


def widen_scaled(half: npt.NDArray[np.float16], coefficient: float) -> npt.NDArray[np.float32]:
    """float32(half) * float32(coefficient), rounded once, as NumPy computes it."""
    if not _FAST_COEFFICIENTS[0] < abs(coefficient) < _FAST_COEFFICIENTS[1]:
        slow: npt.NDArray[np.float32] = np.multiply(half, np.float32(coefficient), dtype=np.float32)
        return slow
    # The 15 magnitude bits shifted into place form a float32 whose value is the float16's
    # times 2**-112 (subnormals included); sign extension from int16 supplies the sign bit.
    bits = half.view(np.int16).astype(np.int32).view(_U32)
    sign = bits & _U32(0x80000000)
    bits &= _U32(0x7FFF)
    bits <<= _U32(13)
    bits |= sign
    values: npt.NDArray[np.float32] = bits.view(np.float32)
    values *= np.float32(_REBIAS * float(np.float32(coefficient)))
    return values


def narrow(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float16]:
    """values.astype(float16) (round to nearest even) for finite |values| < 65520."""
    bits = values.view(_U32)
    magnitude = bits & _U32(0x7FFFFFFF)
    # Normal results: drop 13 mantissa bits with round-to-nearest-even, rebias the exponent
    # (0xC8000FFF = 0xFFF rounding bias - (112 << 23), modulo 2**32).
    result = magnitude >> _U32(13)
    result &= _U32(1)
    result += magnitude
    result += _U32(0xC8000FFF)
    result >>= _U32(13)
    # Subnormal results (|x| < 2**-14): adding 0.5 makes the FPU round to multiples of 2**-24.
    small = magnitude < _U32(0x38800000)
    if small.any():
        shifted = magnitude.view(np.float32)[small] + np.float32(0.5)
        result[small] = shifted.view(_U32) - _U32(0x3F000000)
    half = result.astype(np.uint16)
    sign = (bits >> _U32(16)).astype(np.uint16)
    sign &= np.uint16(0x8000)
    half |= sign
    narrowed: npt.NDArray[Any] = half.view(np.float16)
    return narrowed
