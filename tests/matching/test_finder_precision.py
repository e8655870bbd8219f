"""Precision rules of the editor's fix finder against a real store: one diagnostic per
place, test fixes in tests only, withheld changes never flagged, harmful edits never
offered, code the document repeats everywhere not flagged."""

from __future__ import annotations

import dataclasses
import textwrap
import threading
from pathlib import Path

from pattern_memory.matching.finder import MAX_DIAGNOSTICS_PER_DOCUMENT, FixFinder, FoundFix
from pattern_memory.memory.service import PatternMemory
from pattern_memory.patterns import Pattern, ProblemType, make_pattern_id
from pattern_memory.settings import Settings
from tests.matching.matching_samples import AFTER, BEFORE

DOCUMENT = (
    "import db\n\n\ndef fetch(user_id):\n    record = db.get(user_id)\n    return record['name']\n"
)


def _pattern(
    name: str, before: str = BEFORE, after: str = AFTER, path: str = "app/db.py", message: str = ""
) -> Pattern:
    return Pattern(
        pattern_id=make_pattern_id(name),
        problem_type=ProblemType.BUG_FIX,
        before_code=before,
        after_code=after,
        commit_msg=message or f"fix: {name}\n\nA longer body that explains it.",
        author="dev@example.com",
        date="2024-05-01 10:00:00",
        confidence=0.8,
        language="python",
        file_path=path,
    )


def _find(
    tmp_path: Path, patterns: list[Pattern], text: str, path: str = "/w/app/x.py"
) -> list[FoundFix]:
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0)
    with PatternMemory.open(settings) as memory:
        memory.store.upsert([(p, p.commit_msg) for p in patterns], "local", "2099-01-01 00:00:00")
        return FixFinder.create().find(
            memory,
            settings,
            text,
            language="python",
            cancel=threading.Event(),
            path=path,
        )


def test_the_same_fix_learned_several_times_is_one_diagnostic(tmp_path: Path) -> None:
    copies = [_pattern(f"guard rows {n}", path=f"app/m{n}.py") for n in range(3)]
    fixes = _find(tmp_path, copies, DOCUMENT)
    assert len(fixes) == 1 and fixes[0].shown


def test_overlapping_fixes_show_one_diagnostic_and_keep_alternatives(tmp_path: Path) -> None:
    other_after = AFTER.replace("return None", "raise KeyError(uid)")
    fixes = _find(tmp_path, [_pattern("guard"), _pattern("raise", after=other_after)], DOCUMENT)
    assert len(fixes) == 2
    assert [fix.shown for fix in fixes].count(True) == 1


def test_a_fix_learned_in_tests_is_offered_in_tests_only(tmp_path: Path) -> None:
    learned_in_tests = _pattern("guard", path="tests/test_db.py")
    assert _find(tmp_path / "a", [learned_in_tests], DOCUMENT, "/w/app/x.py") == []
    assert len(_find(tmp_path / "b", [learned_in_tests], DOCUMENT, "/w/tests/test_x.py")) == 1
    # A fix learned in code is offered in tests too.
    assert len(_find(tmp_path / "c", [_pattern("guard")], DOCUMENT, "/w/tests/test_x.py")) == 1


def test_an_import_only_change_is_never_flagged(tmp_path: Path) -> None:
    future = _pattern(
        "types",
        before="from __future__ import annotations\n\nimport db\n",
        after="import db\n",
        message="Fix some type errors.",
    )
    document = "from __future__ import annotations\n\nimport db\n\nx = db.get(1)\n"
    assert _find(tmp_path, [future], document) == []


def test_a_fix_that_would_leave_an_undefined_name_is_not_offered(tmp_path: Path) -> None:
    after = AFTER.replace("if row is None:", "if is_missing(row):")
    fixes = _find(tmp_path, [_pattern("guard", after=after)], DOCUMENT)
    assert fixes == []


def test_code_the_document_repeats_everywhere_is_not_flagged(tmp_path: Path) -> None:
    function = "def fetch{n}(user_id):\n    record = db.get(user_id)\n    return record['name']\n\n"
    document = "import db\n\n\n" + "".join(function.format(n=n) for n in range(4))
    assert _find(tmp_path, [_pattern("guard")], document) == []


def test_a_document_shows_a_few_diagnostics_at_most(tmp_path: Path) -> None:
    patterns = []
    functions = []
    for n in range(MAX_DIAGNOSTICS_PER_DOCUMENT + 3):
        # Each pattern calls its own API (an anchor), so each matches one function only.
        before = f"def get{n}(uid):\n    row = db.get{n}(uid)\n    return row['name']\n"
        after = before.replace("    return", "    if row is None:\n        return None\n    return")
        patterns.append(_pattern(f"guard {n}", before=before, after=after))
        functions.append(before.replace(f"def get{n}(", f"def read{n}("))
    document = "import db\n\n\n" + "\n\n".join(functions)
    fixes = _find(tmp_path, patterns, document)
    assert sum(fix.shown for fix in fixes) == MAX_DIAGNOSTICS_PER_DOCUMENT
    assert len(fixes) == MAX_DIAGNOSTICS_PER_DOCUMENT + 3  # all stay in hovers and actions


def test_one_site_of_a_mass_edit_is_not_flagged(tmp_path: Path) -> None:
    # The same edit in four files of one commit is a codemod: learned, never a diagnostic.
    sites = [
        dataclasses.replace(
            _pattern(
                f"site {n}",
                before=BEFORE.replace("load", f"load{n}"),
                after=AFTER.replace("load", f"load{n}"),
                path=f"app/m{n}.py",
                message="Guard every lookup",
            ),
            commit="c0ffee" * 6 + "abcd",
        )
        for n in range(4)
    ]
    assert _find(tmp_path / "a", sites, DOCUMENT) == []
    # Two files are not a mass edit.
    assert len(_find(tmp_path / "b", sites[:2], DOCUMENT)) == 1
    # Five sites of one file are (axios added `.catch(done)` to 35 tests of one file).
    one_file = [dataclasses.replace(site, file_path="app/m.py") for site in sites]
    more = [
        dataclasses.replace(
            site,
            pattern_id=make_pattern_id(f"more {n}"),
            before_code=site.before_code.replace("load", "read"),
            after_code=site.after_code.replace("load", "read"),
            solution_hash="",  # worked out again from the new code
        )
        for n, site in enumerate(one_file[:1])
    ]
    assert _find(tmp_path / "c", one_file + more, DOCUMENT) == []
    assert len(_find(tmp_path / "d", one_file, DOCUMENT)) == 1


def test_a_stale_fix_is_still_offered_in_the_editor(tmp_path: Path) -> None:
    # decayAfterDays gates injection; in the editor age only ranks a fix that still matches.
    old = dataclasses.replace(_pattern("guard"), repository="/w", date="2019-01-01 10:00:00")
    newer = dataclasses.replace(
        _pattern("later", before="x = 1\n", after="x = 2\n"),
        repository="/w",
        date="2024-01-01 10:00:00",
    )
    settings = Settings(db_path=tmp_path / "p.db", similarity=0.0, decay_after_days=90)
    with PatternMemory.open(settings) as memory:
        memory.store.upsert(
            [(p, p.commit_msg) for p in (old, newer)], "local", "2099-01-01 00:00:00"
        )
        stored = memory.get(old.pattern_id)
        assert stored is not None and stored.stale
        assert all(
            h.stored.pattern.pattern_id != old.pattern_id for h in memory.search_code(DOCUMENT)
        )
        fixes = FixFinder.create().find(
            memory,
            settings,
            DOCUMENT,
            language="python",
            cancel=threading.Event(),
            path="/w/app/x.py",
        )
    assert [fix.pattern_id for fix in fixes] == [old.pattern_id]


# The fixed site and an unfixed twin in one file: the ByteChunker / TextChunker case of httpx
# (420911bc fixed one `decode`, 1e110964 later fixed the other).
CHUNKERS_BEFORE = textwrap.dedent(
    """\
    class ByteChunker:
        def decode(self, content):
            if self._chunk_size is None:
                return [content]
            return self._chunks(content)
    """
)
CHUNKERS_AFTER = CHUNKERS_BEFORE.replace("return [content]", "return [content] if content else []")


def test_a_fix_undone_in_its_own_file_is_not_flagged_there(tmp_path: Path) -> None:
    learned = _pattern("empty chunks", CHUNKERS_BEFORE, CHUNKERS_AFTER, path="httpx/_decoders.py")
    # Changed back later (nothing the fix wrote is left in its file): no diagnostic there.
    assert _find(tmp_path / "a", [learned], CHUNKERS_BEFORE, "/w/httpx/_decoders.py") == []
    # The same code in another file is flagged as before.
    other = _find(tmp_path / "b", [learned], CHUNKERS_BEFORE, "/w/httpx/_other.py")
    assert len(other) == 1 and other[0].shown


def test_a_twin_the_fix_missed_in_its_own_file_is_flagged(tmp_path: Path) -> None:
    learned = _pattern("empty chunks", CHUNKERS_BEFORE, CHUNKERS_AFTER, path="httpx/_decoders.py")
    twin = CHUNKERS_BEFORE.replace("ByteChunker", "TextChunker")
    document = CHUNKERS_AFTER + "\n\n" + twin  # the fixed site is still fixed
    fixes = _find(tmp_path, [learned], document, "/w/httpx/_decoders.py")
    assert len(fixes) == 1 and fixes[0].shown
    assert fixes[0].match.start > document.index("class TextChunker")


# cobra's "fix bug with PersistentPreRunE": the pre-run loop called the post-run hook; the
# fix left the very same line standing, correctly, in the post-run loop of its own hunk.
HOOKS_BEFORE = textwrap.dedent(
    """\
    def execute(self, args):
        for parent in self.parents():
            if parent.pre_run_hook is not None:
                result = parent.post_run_hook(self, args, strict=True)
                break
        self.run(args)
        for parent in self.parents():
            if parent.post_run_hook is not None:
                result = parent.post_run_hook(self, args, strict=True)
                break
    """
)
HOOKS_AFTER = HOOKS_BEFORE.replace("post_run_hook(self", "pre_run_hook(self", 1)
HOOKS_DOCUMENT = textwrap.dedent(
    """\
    def start(self, args):
        if self.pre_run_hook is not None:
            self.pre_run_hook(self, args)


    def finish(self, args):
        for parent in self.parents():
            if parent.post_run_hook is not None:
                result = parent.post_run_hook(self, args, strict=True)
                break
    """
)


def test_a_fix_that_left_its_before_code_standing_is_not_flagged(tmp_path: Path) -> None:
    learned = _pattern("pre-run hook", HOOKS_BEFORE, HOOKS_AFTER, path="app/command.py")
    assert _find(tmp_path / "a", [learned], HOOKS_DOCUMENT) == []
    # The same fix without the correct twin in its hunk says nothing against the line: found.
    run = "    self.run(args)\n"
    alone_before, alone_after = HOOKS_BEFORE.split(run)[0], HOOKS_AFTER.split(run)[0]
    alone = _pattern("pre-run hook", alone_before, alone_after)
    assert len(_find(tmp_path / "b", [alone], HOOKS_DOCUMENT)) == 1


def test_a_value_the_document_discards_is_not_matched_by_a_name(tmp_path: Path) -> None:
    # The learned code keeps `count`; `rows, _ = ...` discards it: another use of the call.
    learned = _pattern(
        "query timeout",
        "def load(sql_text, params):\n    rows, count = db.query(sql_text, params)\n",
        "def load(sql_text, params):\n    rows, count = db.query(sql_text, params, timeout=5)\n",
    )
    discarding = "def fetch(statement, args):\n    rows, _ = db.query(statement, args)\n"
    assert _find(tmp_path / "a", [learned], discarding) == []
    keeping = "def fetch(statement, args):\n    rows, total = db.query(statement, args)\n"
    assert len(_find(tmp_path / "b", [learned], keeping)) == 1


def test_a_fix_that_only_swaps_a_renamed_name_is_not_matched(tmp_path: Path) -> None:
    # cobra "cmd: Fix #612": the loop ran over the wrong variable. Under renaming, a loop
    # over another variable says nothing about which one it should be.
    before = textwrap.dedent(
        """\
        def is_command_dir(name):
            for candidate in command_dirs:
                if name == candidate:
                    return True
            return False
        """
    )
    after = before.replace("command_dirs", '("cmd", "cmds", "command")')
    learned = _pattern("command dirs", before, after)
    document = textwrap.dedent(
        """\
        def has_flag(flag):
            for known in flags:
                if flag == known:
                    return True
            return False
        """
    )
    assert _find(tmp_path / "a", [learned], document) == []
    # The learned code itself (no renaming) is still found.
    assert len(_find(tmp_path / "b", [learned], before)) == 1


def test_a_deleted_block_back_in_its_own_file_is_still_flagged(tmp_path: Path) -> None:
    # express deleted a duplicate route registration in examples/mvc/lib/boot.js; the line
    # came back and was fixed again: a deletion's code back in its file may be a regression.
    before = textwrap.dedent(
        """\
        def complete(values, directive):
            if directive & NO_FILE_COMPLETION:
                if not values:
                    print("")
                    return
            for value in values:
                print(value)
        """
    )
    after = before.replace(
        "    if directive & NO_FILE_COMPLETION:\n        if not values:\n"
        '            print("")\n            return\n',
        "",
    )
    learned = _pattern("no empty completion", before, after, path="app/complete.py")
    own = _find(tmp_path / "a", [learned], before, "/w/app/complete.py")
    assert len(own) == 1 and own[0].shown
    other = _find(tmp_path / "b", [learned], before, "/w/app/other.py")
    assert len(other) == 1 and other[0].shown


def test_an_unwrapping_fix_undone_in_its_own_file_is_not_flagged_there(tmp_path: Path) -> None:
    # jinja's "Pessimistic locking for LRU cache" dropped a try/except around a call: what
    # it wrote (the bare call) stands inside the before-code too, which is no sign of the fix.
    before = textwrap.dedent(
        """\
        def __setitem__(self, key, value):
            with self._lock:
                if key in self._mapping:
                    try:
                        self._remove(key)
                    except ValueError:
                        pass
                self._mapping[key] = value
        """
    )
    after = before.replace(
        "            try:\n                self._remove(key)\n"
        "            except ValueError:\n                pass\n",
        "            self._remove(key)\n",
    )
    assert after != before
    learned = _pattern("pessimistic locking", before, after, path="jinja2/utils.py")
    assert _find(tmp_path / "a", [learned], before, "/w/src/jinja2/utils.py") == []
    # The fixed method still there: the other site is a twin, flagged.
    twin = before.replace("__setitem__(self, key, value)", "__delitem__(self, key, value)")
    fixes = _find(tmp_path / "b", [learned], after + "\n" + twin, "/w/src/jinja2/utils.py")
    assert len(fixes) == 1 and fixes[0].shown


def test_a_deleted_duplicate_is_flagged_though_its_twin_stays(tmp_path: Path) -> None:
    # express "Line 40 removed. Fixed!": a route registered twice, the first call deleted;
    # the identical call left standing is the point of the fix, not a sign against it.
    before = textwrap.dedent(
        """\
        def register(app, handlers, prefix):
            for name, handler in handlers.items():
                if name == "show":
                    path = "/" + name + "/<id>"
                    app.add_url_rule(path, view_func=handler, methods=["GET"])
                path = prefix + path
                app.add_url_rule(path, view_func=handler, methods=["GET"])
        """
    )
    after = before.replace(
        '            app.add_url_rule(path, view_func=handler, methods=["GET"])\n', "", 1
    )
    assert after != before
    learned = _pattern("duplicate route", before, after, path="examples/boot.py")
    fixes = _find(tmp_path, [learned], before, "/w/examples/other.py")
    first_call = before.index("app.add_url_rule")
    assert any(fix.shown and fix.match.start == first_call for fix in fixes)


CACHE_KEY_BEFORE = textwrap.dedent(
    """\
    def cache_key(self):
        version_str = ",".join(self.versions)
        if len(version_str) > MAX_PART:
            version_str = sha256(version_str.encode()).hexdigest()[:MAX_PART]
        magics = ",".join(self.magics)
        if len(magics) > MAX_PART:
            magics = sha256(magics.encode()).hexdigest()[:MAX_PART]
        return version_str + "." + magics
    """
)
# black's "Fix some shenanigans with the cache file": the magics are hashed always now, the
# versions still only when long.
CACHE_KEY_AFTER = CACHE_KEY_BEFORE.replace(
    "    if len(magics) > MAX_PART:\n        magics = sha256",
    "    magics = sha256",
)
CELL_KEY_DOCUMENT = textwrap.dedent(
    """\
    def cell_key(self):
        label = ",".join(self.cells)
        if len(label) > MAX_PART:
            label = sha256(label.encode()).hexdigest()[:MAX_PART]
        return label
    """
)


def test_a_fix_that_left_a_renamed_look_alike_standing_is_not_flagged(tmp_path: Path) -> None:
    learned = _pattern("hash magics", CACHE_KEY_BEFORE, CACHE_KEY_AFTER, path="app/mode.py")
    assert _find(tmp_path / "a", [learned], CELL_KEY_DOCUMENT) == []
    # Without the version's twin in its hunk the same fix is found in the look-alike.
    twin = (
        '    version_str = ",".join(self.versions)\n    if len(version_str) > MAX_PART:\n'
        "        version_str = sha256(version_str.encode()).hexdigest()[:MAX_PART]\n"
    )
    alone = _pattern(
        "hash magics", CACHE_KEY_BEFORE.replace(twin, ""), CACHE_KEY_AFTER.replace(twin, "")
    )
    assert len(_find(tmp_path / "b", [alone], CELL_KEY_DOCUMENT)) == 1


def _feature_table(version: str, *, debug: bool) -> str:
    features = ["F_STRINGS", *(["DEBUG_F_STRINGS"] if debug else []), "NUMERIC", "TRAILING"]
    return f"    Version.{version}: {{\n" + "".join(f"        Feature.{f},\n" for f in features)


def test_look_alikes_a_fix_went_past_in_its_own_file_are_not_flagged(tmp_path: Path) -> None:
    # black added DEBUG_F_STRINGS to the tables of Python 3.8 to 3.11 and, on purpose, not
    # to those of 3.6 and 3.7: a commit that made one edit at several sites of a file went
    # through its look-alikes there.
    def sites(count: int) -> list[Pattern]:
        return [
            dataclasses.replace(
                _pattern(
                    f"table {version}",
                    before=_feature_table(version, debug=False) + "    },\n",
                    after=_feature_table(version, debug=True) + "    },\n",
                    path="app/mode.py",
                    message="Use debug f-strings for feature detection",
                ),
                commit="d3b06" * 8,
            )
            for version in ("PY38", "PY39", "PY310")[:count]
        ]

    tables = [_feature_table("PY37", debug=False)] + [
        _feature_table(version, debug=True) for version in ("PY38", "PY39", "PY310")
    ]
    document = "FEATURES = {\n" + "    },\n".join(tables) + "    },\n}\n"
    assert _find(tmp_path / "a", sites(3), document, "/w/app/mode.py") == []
    # In another file the same look-alike was never looked at: flagged.
    assert len(_find(tmp_path / "b", sites(3), document, "/w/app/other.py")) == 1
    # Two sites are no survey: the one left in the fix's own file is a twin it missed.
    assert len(_find(tmp_path / "c", sites(2), document, "/w/app/mode.py")) == 1


SETSTATE_BEFORE = textwrap.dedent(
    """\
    def __setstate__(self, state):
        for attr, value in state.items():
            setattr(self, attr, value)

        self.init_poolmanager(self._pool_connections, self._pool_maxsize)
    """
)
# requests' "Prevent error when using proxies after picking an Adapter".
SETSTATE_AFTER = SETSTATE_BEFORE.replace(
    "    for attr", "    self.proxy_manager = {}\n    self.config = {}\n\n    for attr"
)


def test_a_fix_about_its_objects_own_state_needs_that_state(tmp_path: Path) -> None:
    learned = _pattern("reset proxies", SETSTATE_BEFORE, SETSTATE_AFTER, path="app/adapters.py")
    response = textwrap.dedent(
        """\
        class Response:
            def __setstate__(self, state):
                for name, value in state.items():
                    setattr(self, name, value)

                setattr(self, "raw", None)
        """
    )
    # A Response has no proxy manager nor config to reset.
    assert _find(tmp_path / "a", [learned], response) == []
    adapter = response.replace("class Response:", "class Adapter:") + textwrap.dedent(
        """\

            def proxy_for(self, url):
                return self.proxy_manager.get(url, self.config)
        """
    )
    assert len(_find(tmp_path / "b", [learned], adapter)) == 1
