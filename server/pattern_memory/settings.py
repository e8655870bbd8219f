"""Typed settings, parsed once.

One frozen `Settings` object carries every option under the seed's names. Values come in
layers, each overriding the one before:

1. defaults (below),
2. the user's file: `$PATTERN_MEMORY_CONFIG` or `~/.config/pattern-memory/config.yaml`,
3. the repository's file: `<repo>/.pattern-memory.yaml`,
4. environment variables `PATTERN_MEMORY_<NAME>` (e.g. `PATTERN_MEMORY_MAX_INJECTED=3`),
5. editor options (LSP `initializationOptions` / `workspace/didChangeConfiguration`).

Files use the seed's form, a `patterns:` mapping with camelCase keys; editors send the same
camelCase keys. An invalid value is a `SettingsError` naming the key; `Settings.merge` with
`strict=False` instead keeps the previous value and returns the errors so that a language
server can report them and go on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, get_args, get_type_hints

import cattrs
import yaml

from .errors import SettingsError

ENV_PREFIX = "PATTERN_MEMORY_"
REPO_SETTINGS_FILE = ".pattern-memory.yaml"

log = logging.getLogger(__name__)

# A repository's own file comes with the code being mined: untrusted. It may tune behaviour,
# but not say where data goes or whose it is (a cloned repo must not redirect the database or
# the team server), and it may turn author anonymization on, never off.
REPO_FORBIDDEN_KEYS = frozenset({"dbPath", "userId", "includeTeam", "teamUrl"})
REPO_ONLY_ENABLES = frozenset({"anonymizeAuthors", "collective"})


class ForgeDetector(StrEnum):
    """How forging finds the fix an assistant answer states (assist/forge.find_fixes)."""

    LEARNED = "learned"  # the trained head over MiniLM embeddings, regex statements first
    REGEX = "regex"  # the seed's v1 regular expressions only: no model, lower recall
    # The proxy asks its upstream model to extract the fix as JSON (assist/llm_detect.py);
    # where there is no upstream (CLI, hooks, MCP) and on any failure: LEARNED.
    LLM = "llm"


class DiagnosticSeverity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    HINT = "hint"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pattern-memory"


def default_config_file() -> Path:
    explicit = os.environ.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pattern-memory" / "config.yaml"


def _default_db_path() -> Path:
    return default_data_dir() / "patterns.db"


# --- how a raw value (from YAML, JSON or an environment string) becomes an option -----------
# One cattrs converter structures every option into its field's type; a constraint beyond
# the type (bounds, a URL) rides in the field's `Annotated` metadata. Its hooks are strict
# where cattrs would coerce (cattrs makes 1.5 an int 1 and 7 the string "7") and lenient
# where an option may come from an environment variable (the string "3" is the number 3).


@dataclass(frozen=True)
class Between:
    """An option's inclusive bounds."""

    low: float
    high: float

    def check(self, value: Any) -> Any:
        if not self.low <= value <= self.high:
            shown = str(value) if len(str(value)) <= 20 else f"{str(value)[:12]}... (too large)"
            raise ValueError(f"must be between {self.low} and {self.high}, got {shown}")
        return value


class NonEmpty:
    """A text option that must hold something (kept stripped)."""

    def check(self, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty string")
        return value.strip()


class HttpUrl:
    """An http(s) URL kept without its trailing slash; empty means none."""

    def check(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, or empty")
        return value.rstrip("/")


def _structure_bool(raw: Any, _: type) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in {"true", "1", "yes", "on"}:
        return True
    if isinstance(raw, str) and raw.strip().lower() in {"false", "0", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _read_text(raw: Any, convert: Callable[[str], Any], problem: str) -> Any:
    """An environment's or a file's number as written ("3"); any other value as it is."""
    if not isinstance(raw, str):
        return raw
    try:
        return convert(raw.strip())
    except ValueError:
        raise ValueError(problem) from None


def _structure_int(raw: Any, _: type) -> int:
    raw = _read_text(raw, int, "must be a whole number")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError("must be a whole number")
    return raw


def _structure_float(raw: Any, _: type) -> float:
    raw = _read_text(raw, float, "must be a number")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("must be a number")
    try:
        return float(raw)
    except OverflowError:  # an integer of hundreds of digits
        raise ValueError("must be a number of a float's range") from None


def _structure_str(raw: Any, _: type) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    return raw


def _structure_path(raw: Any, _: type) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a file path")
    return Path(os.path.expandvars(raw.strip())).expanduser()


def _enum_hook(choice: type[StrEnum]) -> Callable[[Any, type], StrEnum]:
    def structure(raw: Any, _: type) -> StrEnum:
        try:
            return choice(str(raw).strip().lower())
        except ValueError:
            choices = ", ".join(member.value for member in choice)
            raise ValueError(f"must be one of {choices}") from None

    return structure


def _constrained_hook(annotated: Any, converter: cattrs.Converter) -> Callable[[Any, type], Any]:
    base, *constraints = get_args(annotated)
    structure_base = converter.get_structure_hook(base)

    def structure(raw: Any, _: type) -> Any:
        value = structure_base(raw, base)
        for constraint in constraints:
            value = constraint.check(value)
        return value

    return structure


def _option_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    for kind, hook in (
        (bool, _structure_bool),
        (int, _structure_int),
        (float, _structure_float),
        (str, _structure_str),
        (Path, _structure_path),
    ):
        converter.register_structure_hook(kind, hook)
    for choice in (ForgeDetector, DiagnosticSeverity):  # more specific than str: they win
        converter.register_structure_hook(choice, _enum_hook(choice))
    is_annotated = lambda kind: hasattr(kind, "__metadata__")  # noqa: E731  Annotated[...]
    converter.register_structure_hook_factory(is_annotated, _constrained_hook)
    return converter


_converter = _option_converter()


def _setting(key: str, default: Any = None, **kw: Any) -> Any:
    """A dataclass field with its camelCase key in the metadata."""
    if "default_factory" in kw:
        return field(default_factory=kw["default_factory"], metadata={"key": key})
    return field(default=default, metadata={"key": key})


@dataclass(frozen=True)
class Settings:
    # The seed's options (names and defaults as in the seed).
    max_injected: Annotated[int, Between(1, 50)] = _setting("maxInjected", 5)
    min_success_rate: Annotated[float, Between(0.0, 1.0)] = _setting("minSuccessRate", 0.6)
    forge_on_success: bool = _setting("forgeOnSuccess", True)
    decay_after_days: Annotated[int, Between(0, 36500)] = _setting("decayAfterDays", 90)  # 0: never
    similarity: Annotated[float, Between(0.0, 1.0)] = _setting("similarity", 0.6)
    forge_detector: ForgeDetector = _setting("forgeDetector", ForgeDetector.LEARNED)
    # Where patterns live and whose they are.
    db_path: Path = _setting("dbPath", default_factory=_default_db_path)
    user_id: Annotated[str, NonEmpty()] = _setting("userId", "local")
    include_team: bool = _setting("includeTeam", False)
    team_url: Annotated[str | None, HttpUrl()] = _setting("teamUrl", None)
    # The language server syncs with teamUrl this often (team/sync.py); 0: only on request.
    sync_interval_minutes: Annotated[int, Between(0, 10_080)] = _setting("syncIntervalMinutes", 15)
    # Mining.
    max_hunk_lines: Annotated[int, Between(1, 100_000)] = _setting("maxHunkLines", 200)
    anonymize_authors: bool = _setting("anonymizeAuthors", False)
    # The seed's v1.1 opt-in: what `sync` shares is anonymized and marked collective (no
    # author, commit or repository; relative paths): assist/privacy.anonymize.
    collective: bool = _setting("collective", False)
    # Editor.
    diagnostics: bool = _setting("diagnostics", True)
    diagnostic_severity: DiagnosticSeverity = _setting(
        "diagnosticSeverity", DiagnosticSeverity.HINT
    )
    index_on_start: bool = _setting("indexOnStart", True)
    # How much of a generalized match (renamed names, other literals) must be verbatim for
    # the editor to flag it. Separate from `similarity` (text search and injection) so that
    # neither tunes the other.
    renamed_match_score: Annotated[float, Between(0.0, 1.0)] = _setting("renamedMatchScore", 0.6)

    @classmethod
    def keys(cls) -> dict[str, str]:
        """camelCase key -> attribute name."""
        return {f.metadata["key"]: f.name for f in fields(cls)}

    def to_options(self) -> dict[str, Any]:
        """The settings as camelCase options (what an editor would send)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.metadata["key"]] = str(value) if isinstance(value, Path) else value
        return out

    def merge(
        self, options: Mapping[str, Any], source: str, *, strict: bool = True
    ) -> tuple[Settings, list[SettingsError]]:
        """A copy with `options` (camelCase keys) applied. Strict: the first bad key raises.
        Not strict: bad keys keep their current value and come back as errors."""
        by_key = {f.metadata["key"]: f for f in fields(self)}
        changes: dict[str, Any] = {}
        errors: list[SettingsError] = []
        for key, raw in options.items():
            spec = by_key.get(key)
            if spec is None:
                error = SettingsError(str(key), "unknown setting", source)
            else:
                try:
                    changes[spec.name] = _converter.structure(raw, _option_types()[spec.name])
                    continue
                except ValueError as exc:
                    error = SettingsError(key, str(exc), source)
            if strict:
                raise error
            errors.append(error)
        return replace(self, **changes), errors

    def with_env(self, environ: Mapping[str, str]) -> Settings:
        """Apply `PATTERN_MEMORY_<SNAKE_NAME>` variables (e.g. PATTERN_MEMORY_DB_PATH)."""
        options = {}
        for f in fields(self):
            name = ENV_PREFIX + f.name.upper()
            if name in environ:
                options[f.metadata["key"]] = environ[name]
        return self.merge(options, "environment")[0]

    def with_file(self, path: Path, *, repository: bool = False) -> Settings:
        """Apply a YAML file in the seed's `patterns:` form; a missing file changes nothing.
        `repository`: the file came with a repository, so it is held to REPO_FORBIDDEN_KEYS
        and REPO_ONLY_ENABLES."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self
        except OSError as exc:
            raise SettingsError(
                "patterns", f"cannot read file: {exc.strerror}", str(path)
            ) from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SettingsError(
                "patterns", f"not valid YAML: {_yaml_problem(exc)}", str(path)
            ) from None
        if document is None:
            return self
        if not isinstance(document, dict) or not isinstance(document.get("patterns"), dict):
            raise SettingsError("patterns", "expected a 'patterns:' mapping", str(path))
        options = dict(document["patterns"])
        if repository:
            for key in sorted(REPO_FORBIDDEN_KEYS & options.keys()):
                log.warning("%s: %r is ignored: only your own settings may set it", path, key)
                del options[key]
            for key in REPO_ONLY_ENABLES & options.keys():
                if getattr(self, Settings.keys()[key]) is True:
                    del options[key]  # already on: the repository may not turn it off
        return self.merge(options, str(path))[0]


@cache
def _option_types() -> dict[str, Any]:
    """Each option's attribute name -> its type, constraints included."""
    return get_type_hints(Settings, include_extras=True)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: what is wrong and where (PyYAML's own text spans several lines)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def load_settings(
    repo_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults <- user file <- repository file <- environment <- overrides (CLI flags)."""
    env = os.environ if environ is None else environ
    settings = Settings()
    settings = settings.with_file(default_config_file())
    if repo_path is not None:
        settings = settings.with_file(Path(repo_path) / REPO_SETTINGS_FILE, repository=True)
    settings = settings.with_env(env)
    if overrides:
        settings = settings.merge(overrides, "command line")[0]
    return settings
