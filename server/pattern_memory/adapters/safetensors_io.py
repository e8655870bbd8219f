"""The safetensors format, read and written one tensor at a time.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON naming each
tensor's dtype, shape and byte range, then the raw data. We validate the whole header
ourselves before reading any data (size limit, dtypes, offsets in range, no overlap), never
fall back to pickle, and read each tensor with one `readinto`, so that memory holds one
tensor at a time rather than the files. bfloat16 has no NumPy dtype: it is read as uint16 and
widened to float32 (and narrowed back with round-to-nearest-even on write).

The header is checked as strictly as the `safetensors` library checks it (no duplicate names,
the tensors' byte ranges cover the data section exactly: no gap, no overlap, no trailing
bytes) and more (nesting depth, non-finite values, only regular files: a FIFO would block).
We keep this reader rather than `safetensors.safe_open(..., framework="numpy")`: that reader
has no NumPy type for bfloat16 (the commonest adapter dtype) and refuses such tensors, it
maps the whole file rather than reading one tensor into a buffer we reuse, and it is an
optional extra (`.[adapters]`) while merging must work without it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import stat
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import AdapterError
from ..fileio import Writeback, atomic_writer
from .half import DtypeOverflowError

# safetensors' own reader refuses larger headers; a hostile file must not make us parse more.
MAX_HEADER_BYTES = 100_000_000
_HEADER_ALIGNMENT = 8

# dtype name in the header -> (storage dtype, item size). BF16 is stored as uint16 bits.
_STORAGE: dict[str, npt.DTypeLike] = {
    "F16": np.float16,
    "BF16": np.uint16,
    "F32": np.float32,
    "F64": np.float64,
}
SUPPORTED_DTYPES = tuple(_STORAGE)

FloatArray = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # byte offsets relative to the data section
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class SafetensorsHeader:
    path: Path
    data_offset: int  # where the data section starts in the file
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]


def _not_safetensors(path: Path, why: str) -> AdapterError:
    return AdapterError(f"{path}: not a safetensors file ({why})")


def _sniff_other_format(first_bytes: bytes) -> str | None:
    if first_bytes.startswith(b"PK\x03\x04"):
        return "it is a zip archive, e.g. a PyTorch .bin/.pt checkpoint"
    if first_bytes[:1] == b"\x80" and first_bytes[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "it is a Python pickle, e.g. a PyTorch .bin/.pt checkpoint"
    return None


def read_header(path: Path) -> SafetensorsHeader:
    """Parse and validate a file's header; AdapterError naming the file (and tensor) if not."""
    try:
        with _open_regular(path) as stream:
            file_size = stream.seek(0, 2)
            stream.seek(0)
            prefix = stream.read(9)
            if len(prefix) < 9:
                raise _not_safetensors(path, f"only {file_size} bytes long")
            other = _sniff_other_format(prefix)
            if other:
                raise _not_safetensors(path, other + "; convert it to safetensors first")
            if prefix[8:9] != b"{":
                raise _not_safetensors(path, "no JSON header after the 8-byte length")
            (header_len,) = struct.unpack("<Q", prefix[:8])
            if header_len > MAX_HEADER_BYTES:
                raise AdapterError(
                    f"{path}: safetensors header too large "
                    f"({header_len} bytes; the limit is {MAX_HEADER_BYTES})"
                )
            if 8 + header_len > file_size:
                raise _not_safetensors(
                    path, f"header of {header_len} bytes runs past the end of the file"
                )
            stream.seek(8)
            raw = stream.read(header_len)
    except IsADirectoryError:
        raise AdapterError(f"{path}: is a folder without adapter_model.safetensors in it") from None
    except FileNotFoundError:
        raise AdapterError(f"{path}: no such file") from None
    except OSError as exc:
        raise AdapterError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except _DuplicateKeyError as exc:
        raise _not_safetensors(path, f"its header names {exc.args[0]!r} twice") from None
    except RecursionError:  # the C parser's own depth guard: `[[[[...` 100 MB deep
        raise _not_safetensors(path, "its header nests too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _not_safetensors(path, "its header is not JSON") from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, "its header is not a JSON object")
    data_offset = 8 + header_len
    return SafetensorsHeader(
        path=path,
        data_offset=data_offset,
        tensors=_parse_entries(path, header, file_size - data_offset),
        metadata=_parse_metadata(path, header.pop("__metadata__", None)),
    )


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; the safetensors library refuses the file.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


@contextmanager
def _open_regular(path: Path) -> Iterator[Any]:
    """The file opened for reading, if it is a regular file. O_NONBLOCK: opening a FIFO that
    no one writes to would otherwise block forever; the flag does not affect regular files."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise AdapterError(f"{path}: not a regular file (a FIFO, device or socket)")
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream


def _parse_metadata(path: Path, metadata: object) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _not_safetensors(path, "__metadata__ must map strings to strings")
    return dict(metadata)


def _parse_entries(path: Path, header: dict[str, Any], data_size: int) -> dict[str, TensorInfo]:
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name!r}"
        if not isinstance(entry, dict):
            raise AdapterError(f"{where}: header entry is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _STORAGE:
            raise AdapterError(
                f"{where}: unsupported dtype {dtype} (supported: {', '.join(SUPPORTED_DTYPES)})"
            )
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise AdapterError(f"{where}: invalid shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise AdapterError(f"{where}: invalid data_offsets {offsets!r}")
        start, end = offsets
        expected = math.prod(shape) * np.dtype(_STORAGE[dtype]).itemsize
        if not 0 <= start <= end or end - start != expected:
            raise AdapterError(
                f"{where}: data_offsets {offsets} do not fit shape {shape} of {dtype}"
            )
        if end > data_size:
            raise AdapterError(f"{where}: data runs past the end of the file (truncated?)")
        tensors[name] = TensorInfo(name, dtype, tuple(shape), start, end)
    ordered = sorted(tensors.values(), key=lambda t: (t.start, t.end))
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise AdapterError(
                f"{path}: tensors {before.name!r} and {after.name!r} overlap in the file"
            )
        if after.start > before.end:
            raise AdapterError(
                f"{path}: {after.start - before.end} bytes between tensors {before.name!r} "
                f"and {after.name!r} belong to no tensor"
            )
    covered_from = ordered[0].start if ordered else 0
    covered_to = ordered[-1].end if ordered else 0
    if covered_from != 0 or covered_to != data_size:
        raise AdapterError(
            f"{path}: the tensors cover bytes {covered_from}-{covered_to} of a data section "
            f"of {data_size} bytes (the rest belongs to no tensor)"
        )
    return tensors


class TensorReader:
    """Reads validated tensors from one open file (thread-safe: positioned reads).

    float16, float32 and float64 come back as they are stored (no conversion: copying them
    through a merge costs no arithmetic); bfloat16 comes back widened to float32."""

    def __init__(self, header: SafetensorsHeader, fd: int) -> None:
        self.header = header
        self._fd = fd

    def read(self, name: str) -> FloatArray:
        """The tensor's values; AdapterError if it holds NaN or Inf (checked on the stored
        bits as they are read, so the check costs no extra pass over the file)."""
        info = self.header.tensors[name]
        raw = self._read_raw(info)
        if not _finite_storage(raw, info.dtype):
            raise AdapterError(f"{self.header.path}: tensor {name!r} contains NaN or Inf values")
        return decode(raw, info.dtype).reshape(info.shape)

    def checksum(self) -> str:
        """sha256 (hex) of the whole file, read through the descriptor opened at the start
        (an in-place merge that has since replaced the path does not change it)."""
        digest = hashlib.sha256()
        buffer = bytearray(4 << 20)
        view, offset = memoryview(buffer), 0
        while got := os.preadv(self._fd, [buffer], offset):
            digest.update(view[:got])  # (hashlib releases the GIL: other inputs go on)
            offset += got
        return digest.hexdigest()

    def _read_raw(
        self, info: TensorInfo, into: npt.NDArray[np.uint8] | None = None
    ) -> npt.NDArray[np.uint8]:
        raw = np.empty(info.nbytes, dtype=np.uint8) if into is None else into
        offset, done = self.header.data_offset + info.start, 0
        while done < info.nbytes:
            got = os.preadv(self._fd, [raw.data[done:]], offset + done)
            if got == 0:
                raise AdapterError(f"{self.header.path}: tensor {info.name!r} is truncated")
            done += got
        return raw


@contextmanager
def open_tensors(header: SafetensorsHeader) -> Iterator[TensorReader]:
    try:
        fd = os.open(header.path, os.O_RDONLY)
    except OSError as exc:
        raise AdapterError(f"{header.path}: cannot read: {exc.strerror or exc}") from None
    try:
        yield TensorReader(header, fd)
    finally:
        os.close(fd)


# Exponent bits of each storage format: all ones means Inf or NaN.
_EXPONENT_MASK = {"F16": (np.uint16, 0x7C00), "BF16": (np.uint16, 0x7F80)}


def _finite_storage(raw: npt.NDArray[np.uint8], dtype: str) -> bool:
    # Integer test on the bits: much faster than np.isfinite on float16.
    if dtype in _EXPONENT_MASK:
        kind, mask = _EXPONENT_MASK[dtype]
        exponent = raw.view(np.dtype(kind).newbyteorder("<")) & kind(mask)
        return raw.size == 0 or int(exponent.max()) != mask
    return bool(np.isfinite(raw.view(np.dtype(_STORAGE[dtype]).newbyteorder("<"))).all())


def decode(raw: npt.NDArray[np.uint8], dtype: str) -> FloatArray:
    """Raw little-endian bytes of `dtype` -> a float array (bfloat16 -> float32)."""
    if dtype == "BF16":
        bits = raw.view("<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    return raw.view(np.dtype(_STORAGE[dtype]).newbyteorder("<"))


def array_dtype(dtype: str) -> np.dtype[Any]:
    """The NumPy dtype in which to hand a tensor of `dtype` to `encode` (bfloat16: float32)."""
    return np.dtype(np.float32 if dtype == "BF16" else _STORAGE[dtype])


def _rounding_limit(largest: float, below: float) -> float:
    # Values up to half an ulp above the largest finite value still round to it.
    return largest + (largest - below) / 2


# The magnitude from which values round to Inf in each narrower format.
_OVERFLOW_LIMIT = {
    "F16": _rounding_limit(65504.0, 65472.0),
    "BF16": _rounding_limit(
        float(np.uint32(0x7F7F0000).view(np.float32)), float(np.uint32(0x7F7E0000).view(np.float32))
    ),
    "F32": _rounding_limit(
        float(np.finfo(np.float32).max),
        float(np.nextafter(np.finfo(np.float32).max, np.float32(0))),
    ),
}
STORAGE_NAMES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}


def check_fits(values: FloatArray, dtype: str) -> None:
    """DtypeOverflowError if `values` (finite, of a wider type) would not fit `dtype`: the
    one overflow check of a merge."""
    limit = _OVERFLOW_LIMIT.get(dtype)
    if limit is None or values.size == 0:
        return
    if not (float(values.max()) < limit and float(values.min()) > -limit):
        raise DtypeOverflowError(dtype)


def encode(array: FloatArray, dtype: str) -> npt.NDArray[Any]:
    """A float array in `array_dtype(dtype)` -> contiguous little-endian storage of `dtype`
    (bfloat16: round to nearest even); DtypeOverflowError if a bfloat16 value does not fit
    (the other dtypes are narrowed, and checked, by the merge)."""
    if array.dtype != array_dtype(dtype):
        raise ValueError(f"encode needs {array_dtype(dtype)} for {dtype}, got {array.dtype}")
    if dtype == "BF16":
        check_fits(array, "BF16")
        bits = np.ascontiguousarray(array).view(np.uint32)
        rounded = bits + (np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1)))
        stored: npt.NDArray[Any] = (rounded >> 16).astype("<u2")
        return stored
    return np.ascontiguousarray(array, dtype=np.dtype(_STORAGE[dtype]).newbyteorder("<"))


@dataclass(frozen=True)
class OutputTensor:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(_STORAGE[self.dtype]).itemsize


class TensorFileWriter:
    """Writes a safetensors file whose layout is known up front: the header, then each
    tensor at its own offset (pwrite), in any order and from any process sharing the
    descriptor (a merge writes its two halves from two processes)."""

    def __init__(
        self, fd: int, tensors: Sequence[OutputTensor], metadata: Mapping[str, str] | None = None
    ) -> None:
        self._fd = fd
        self._writeback = Writeback(fd)
        header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
        places: dict[str, tuple[int, int]] = {}
        offset = 0
        for tensor in tensors:
            size = tensor.nbytes
            header[tensor.name] = {
                "dtype": tensor.dtype,
                "shape": list(tensor.shape),
                "data_offsets": [offset, offset + size],
            }
            places[tensor.name] = (offset, size)
            offset += size
        encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
        # Pad with spaces so that the data section starts 8-byte aligned, as safetensors does.
        encoded += b" " * (-len(encoded) % _HEADER_ALIGNMENT)
        data_start = 8 + len(encoded)
        self._places = {name: (data_start + at, size) for name, (at, size) in places.items()}
        self._pwrite_all(struct.pack("<Q", len(encoded)) + encoded, 0)
        self.written = 0  # tensors this process wrote

    @property
    def tensor_count(self) -> int:
        return len(self._places)

    def write(self, name: str, stored: npt.NDArray[Any]) -> None:
        """Write a tensor already in storage form (see `encode`) at its place."""
        offset, size = self._places[name]
        if stored.nbytes != size or not stored.flags.c_contiguous:
            raise AssertionError(f"writer expected {size} bytes for {name}, got {stored.shape}")
        self._pwrite_all(stored.data.cast("B"), offset)
        self._writeback.written(offset, size)
        self.written += 1

    def _pwrite_all(self, data: bytes | memoryview, offset: int) -> None:
        view = memoryview(data)
        while view:
            done = os.pwrite(self._fd, view, offset)
            view, offset = view[done:], offset + done


@contextmanager
def write_safetensors(
    path: Path, tensors: Sequence[OutputTensor], metadata: Mapping[str, str] | None = None
) -> Iterator[TensorFileWriter]:
    """Atomic: the file appears complete, or not at all (a failure leaves the old one). The
    caller writes every tensor (and checks it did: a second process may write some)."""
    with atomic_writer(path) as stream:
        yield TensorFileWriter(stream.fileno(), tensors, metadata)
