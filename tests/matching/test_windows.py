from __future__ import annotations

from pattern_memory.matching.windows import MAX_WINDOW_LINES, split_windows


def _module(functions: int) -> str:
    return "".join(
        f"def function_{n}(value):\n    result = value * {n}\n    return result\n\n\n"
        for n in range(functions)
    )


def test_windows_cover_the_document_in_order() -> None:
    text = "import os\nimport sys\n\n\n" + _module(40)
    windows = split_windows(text)
    assert len(windows) > 3
    for window in windows:
        assert text[window.offset : window.offset + len(window.text)] == window.text
    rebuilt = "\n".join(w.text for w in windows)
    assert rebuilt.split() == text.split()


def test_an_edit_inside_one_function_changes_only_the_windows_around_it() -> None:
    text = _module(60)
    edited = text.replace("result = value * 30\n", "result = value * 30\n    result += 1\n")
    before = {w.text for w in split_windows(text)}
    after = {w.text for w in split_windows(edited)}
    # One window, or two where a run of blocks reached the size cap; never the rest.
    assert 1 <= len(after - before) <= 2
    assert len(before & after) >= len(before) - 2


def test_long_blocks_are_cut_and_decorators_stay_with_their_function() -> None:
    body = "".join(f"    x_{n} = {n}\n" for n in range(150))
    text = "@cache\ndef big():\n" + body
    windows = split_windows(text)
    assert windows[0].text.startswith("@cache\ndef big():")
    assert all(w.text.count("\n") < MAX_WINDOW_LINES for w in windows)
    assert len(windows) == 3
