from __future__ import annotations

from pathlib import Path

import pytest

from pattern_memory.errors import SettingsError
from pattern_memory.settings import DiagnosticSeverity, ForgeDetector, Settings, load_settings


def test_defaults_are_the_seeds() -> None:
    s = Settings()
    assert (s.max_injected, s.min_success_rate, s.forge_on_success) == (5, 0.6, True)
    assert (s.decay_after_days, s.similarity) == (90, 0.6)
    assert s.diagnostic_severity is DiagnosticSeverity.HINT


def test_layers_file_repo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user.yaml"
    user.write_text("patterns:\n  maxInjected: 3\n  minSuccessRate: 0.85\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".pattern-memory.yaml").write_text("patterns:\n  maxInjected: 8\n")
    monkeypatch.setenv("PATTERN_MEMORY_CONFIG", str(user))
    s = load_settings(repo, environ={"PATTERN_MEMORY_SIMILARITY": "0.7"})
    assert s.max_injected == 8  # repository beats user
    assert s.min_success_rate == 0.85  # user beats default
    assert s.similarity == 0.7  # environment
    s = load_settings(repo, environ={}, overrides={"maxInjected": 2})
    assert s.max_injected == 2


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"maxInjected": 0}, "maxInjected"),
        ({"maxInjected": "many"}, "maxInjected"),
        ({"minSuccessRate": 1.5}, "minSuccessRate"),
        ({"forgeOnSuccess": "perhaps"}, "forgeOnSuccess"),
        ({"diagnosticSeverity": "loud"}, "diagnosticSeverity"),
        ({"teamUrl": "ftp://x"}, "teamUrl"),
        ({"maxInjectd": 3}, "maxInjectd"),
    ],
)
def test_invalid_values_name_the_key(options: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError, match=key) as info:
        Settings().merge(options, "test")
    assert info.value.key == key


def test_lenient_merge_keeps_previous_values_and_returns_errors() -> None:
    merged, errors = Settings().merge({"maxInjected": -1, "similarity": 0.9}, "lsp", strict=False)
    assert merged.max_injected == 5 and merged.similarity == 0.9
    assert [e.key for e in errors] == ["maxInjected"]


def test_bad_yaml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("patterns: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        Settings().with_file(bad)
    bad.write_text("other: 1\n")
    with pytest.raises(SettingsError, match="patterns"):
        Settings().with_file(bad)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        # cattrs alone would coerce each of these into the field's type.
        ({"maxInjected": 1.5}, "must be a whole number"),
        ({"maxInjected": True}, "must be a whole number"),
        ({"userId": 3}, "must be a string"),
        ({"diagnostics": 1}, "must be true or false"),
        ({"similarity": [0.5]}, "must be a number"),
        # The constraints in the fields' Annotated types.
        ({"maxInjected": "51"}, "must be between 1 and 50, got 51"),
        ({"userId": "  "}, "must be a non-empty string"),
        ({"teamUrl": "ftp://x"}, "must be an http:// or https:// URL, or empty"),
        ({"forgeDetector": "gpt"}, "must be one of learned, regex, llm"),
        ({"similarity": 10**400}, "must be a number of a float's range"),
        ({"maxInjected": 10**40}, "must be between 1 and 50, got 100000000000... (too large)"),
    ],
)
def test_values_are_checked_not_coerced(options: dict[str, object], problem: str) -> None:
    merged, errors = Settings().merge(options, "lsp", strict=False)
    assert merged == Settings()
    assert [str(error) for error in errors] == [
        f"setting {next(iter(options))!r} (in lsp): {problem}"
    ]


def test_environment_strings_become_typed_values() -> None:
    merged = Settings().with_env(
        {
            "PATTERN_MEMORY_MAX_INJECTED": " 3 ",
            "PATTERN_MEMORY_SIMILARITY": "0.75",
            "PATTERN_MEMORY_DIAGNOSTICS": "off",
            "PATTERN_MEMORY_DIAGNOSTIC_SEVERITY": "Warning",
            "PATTERN_MEMORY_FORGE_DETECTOR": "REGEX",
            "PATTERN_MEMORY_TEAM_URL": "https://team.example/",
            "PATTERN_MEMORY_USER_ID": " alice ",
        }
    )
    assert (merged.max_injected, merged.similarity, merged.diagnostics) == (3, 0.75, False)
    assert merged.diagnostic_severity is DiagnosticSeverity.WARNING
    assert merged.forge_detector is ForgeDetector.REGEX
    assert (merged.team_url, merged.user_id) == ("https://team.example", "alice")


def test_options_round_trip() -> None:
    s = Settings()
    again, errors = Settings().merge(s.to_options(), "round trip", strict=False)
    assert errors == [] and again == s


def test_a_repositorys_file_cannot_redirect_data_or_turn_anonymization_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user.yaml"
    user.write_text("patterns:\n  anonymizeAuthors: true\n  dbPath: /home/me/p.db\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".pattern-memory.yaml").write_text(
        "patterns:\n  anonymizeAuthors: false\n  dbPath: /tmp/stolen.db\n"
        "  teamUrl: https://evil.example\n  userId: someone\n  includeTeam: true\n"
        "  maxInjected: 2\n"
    )
    monkeypatch.setenv("PATTERN_MEMORY_CONFIG", str(user))
    s = load_settings(repo, environ={})
    assert s.anonymize_authors is True
    assert s.db_path == Path("/home/me/p.db")
    assert (s.team_url, s.user_id, s.include_team) == (None, "local", False)
    assert s.max_injected == 2  # behaviour may still be tuned per repository


def test_a_repositorys_file_may_turn_anonymization_on(tmp_path: Path) -> None:
    (tmp_path / ".pattern-memory.yaml").write_text("patterns:\n  anonymizeAuthors: true\n")
    assert load_settings(tmp_path, environ={}).anonymize_authors is True


def test_yaml_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("patterns:\n  maxHunkLines: [1\n")
    with pytest.raises(SettingsError) as info:
        Settings().with_file(bad)
    assert "\n" not in str(info.value) and "line" in str(info.value)
