"""The replay bench's own check of an applied fix (it judges the server's, so it is written
apart from matching/safety.py): what it counts as removing a name still used."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "bench_replay.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_replay_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


SESSION_TEST = textwrap.dedent(
    """\
    def test_open_session_with_endpoint():
        class MySessionInterface(SessionInterface):
            def save_session(self, app, session, response):
                pass

        response = app.test_client().get("/")
        assert response.status_code == 200


    def test_other(client):
        response = client.get("/")
        assert response.status_code == 200
    """
)


def test_a_binding_its_function_still_reads_is_harmful_to_drop(
    bench: ModuleType, tmp_path: Path
) -> None:
    # flask's pyflakes fix offered on its tests: another test and a nested method's
    # parameter bind `response` too, so only a per-function, per-scope check sees it.
    after = SESSION_TEST.replace(
        '    response = app.test_client().get("/")', '    app.test_client().get("/")'
    )
    assert bench.lost_in_functions(SESSION_TEST, after) == ["response"]
    offered = bench.check_edit(bench.Checker(tmp_path), SESSION_TEST, after, "python", ".py")
    assert offered.harmful and offered.removed_names == ["response"]


def test_dropping_an_unused_binding_is_not_harmful(bench: ModuleType, tmp_path: Path) -> None:
    unused = SESSION_TEST.replace("    assert response.status_code == 200\n\n\n", "\n\n", 1)
    after = unused.replace(
        '    response = app.test_client().get("/")', '    app.test_client().get("/")'
    )
    assert bench.lost_in_functions(unused, after) == []
    assert not bench.check_edit(bench.Checker(tmp_path), unused, after, "python", ".py").harmful


def test_an_edit_python_no_longer_compiles_is_harmful(bench: ModuleType, tmp_path: Path) -> None:
    # A `return` moved out of its function, or a nonlocal whose binding went, still parses.
    before = "def f(xs):\n    for x in xs:\n        send(x)\n    return len(xs)\n"
    after = before.replace("    return len(xs)", "return len(xs)")
    offered = bench.check_edit(bench.Checker(tmp_path), before, after, "python", ".py")
    assert offered.parses is False and offered.harmful
