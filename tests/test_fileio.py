"""Output files that are not regular files (issue 10): devices, FIFOs, symlinks and
/dev/stdout are written, not replaced by a regular file; a write error is an error and leaves
nothing partial behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pattern_memory.errors import InputError
from pattern_memory.fileio import atomic_text_writer

TEXT = "one line\n" * 1000


def _full_device(tmp_path: Path) -> Path:
    """A /dev/full of our own (same major/minor) when we may make device nodes: the test
    must never risk replacing the machine's /dev/full."""
    if os.geteuid() != 0:
        return Path("/dev/full")
    node = tmp_path / "full"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    return node


def test_a_device_is_written_and_enospc_is_an_error(tmp_path: Path) -> None:
    device = _full_device(tmp_path)
    with (
        pytest.raises(InputError, match="No space left on device"),
        atomic_text_writer(device) as stream,
    ):
        stream.write(TEXT)
    assert stat.S_ISCHR(device.stat().st_mode), "the device was replaced by a regular file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["full"] if device.parent == tmp_path else []
    )


def test_dev_null_stays_a_device(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs mknod")
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    with atomic_text_writer(null) as stream:
        stream.write(TEXT)
    assert stat.S_ISCHR(null.stat().st_mode)


def test_a_fifo_reader_gets_the_text(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    received: list[bytes] = []
    # The reader holds the FIFO open while writing: opening it for writing then does not block.
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_text_writer(fifo) as stream:
        stream.write(TEXT)
    reader.join(10)
    assert received == [TEXT.encode()]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real.name)
    with atomic_text_writer(link) as stream:
        stream.write(TEXT)
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() == TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "real.jsonl"]


def test_a_directory_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    called = False
    with pytest.raises(InputError, match="it is a directory"), atomic_text_writer(target):
        called = True
    assert not called and list(tmp_path.iterdir()) == [target]


def test_a_write_error_in_a_regular_file_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    """EFBIG from RLIMIT_FSIZE stands in for ENOSPC (same path: a write fails midway)."""
    target = tmp_path / "out.jsonl"
    target.write_text("the previous export\n")
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from pattern_memory.cli import run_command\n"
        "from pattern_memory.fileio import atomic_text_writer\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "def write(_):\n"
        "    with atomic_text_writer(Path(sys.argv[1])) as s:\n"
        "        for _ in range(10000): s.write('x' * 99 + '\\n')\n"
        "sys.exit(run_command(write, None))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"pattern-memory: error: cannot write {target}: File too large"
    ]
    assert target.read_text() == "the previous export\n"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("name", ["/dev/stdout", "/proc/self/fd/1"])
def test_a_descriptor_path_writes_to_the_descriptor(tmp_path: Path, name: str) -> None:
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from pattern_memory.fileio import atomic_text_writer\n"
        "with atomic_text_writer(Path(sys.argv[1])) as s: s.write('through\\n')\n"
    )
    out = tmp_path / "captured"
    with out.open("w") as stdout:
        subprocess.run([sys.executable, "-c", script, name], stdout=stdout, check=True, timeout=60)
    assert out.read_text() == "through\n"
    assert Path("/dev/stdout").is_symlink()


def test_export_writes_through_a_symlink_and_into_a_fifo(tmp_path: Path) -> None:
    """The commands use the same writer: `export` to a link and to a FIFO."""
    from pattern_memory.cli import main
    from pattern_memory.patterns import write_jsonl_file
    from tests.memory.memory_samples import FIXES

    source, db = tmp_path / "fixes.jsonl", tmp_path / "p.db"
    write_jsonl_file(FIXES, source)
    assert main(["import", str(source), "--db", str(db)]) == 0
    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_text("")
    link.symlink_to(real)
    assert main(["export", str(link), "--db", str(db)]) == 0
    assert link.is_symlink() and len(real.read_text().splitlines()) == len(FIXES)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert main(["export", str(fifo), "--db", str(db)]) == 0
    reader.join(30)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].decode() == real.read_text()
