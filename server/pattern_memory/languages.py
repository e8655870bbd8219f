"""Language names: the project's name for a file's language (the miner's names, which
patterns carry), and editor language ids, fence names and suffixes mapped onto them.

Core: mining, matching, the language server and the assistants all use these names.
"""

from __future__ import annotations

from pathlib import PurePosixPath

LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyx": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".go": "go", ".rs": "rust", ".java": "java", ".kt": "kotlin", ".kts": "kotlin",
    ".scala": "scala", ".swift": "swift", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "csharp", ".rb": "ruby", ".php": "php", ".lua": "lua", ".pl": "perl",
    ".pm": "perl", ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".sql": "sql",
    ".r": "r", ".dart": "dart", ".ex": "elixir", ".exs": "elixir", ".erl": "erlang",
    ".hs": "haskell", ".ml": "ocaml", ".clj": "clojure", ".vue": "vue", ".svelte": "svelte",
    ".html": "html", ".css": "css", ".scss": "scss", ".yaml": "yaml", ".yml": "yaml",
    ".toml": "toml", ".ini": "ini", ".cfg": "ini", ".tf": "terraform",
}  # fmt: skip
_FILE_NAMES = {"Dockerfile": "dockerfile", "Makefile": "make", "Rakefile": "ruby"}


def language_of(path: str) -> str:
    """The language by file name; "" when it is not source code we mine."""
    name = PurePosixPath(path).name
    if name in _FILE_NAMES:
        return _FILE_NAMES[name]
    return LANGUAGES.get(PurePosixPath(name).suffix.lower(), "")


# The miner's language names are the names patterns carry.
KNOWN_LANGUAGES = frozenset(LANGUAGES.values()) | frozenset({"dockerfile", "make"})
# Editor language ids (VS Code's languageId, Neovim's filetype) and Markdown fence names that
# are neither a miner's name nor a file suffix the miner knows.
_ALIASES = {
    "javascriptreact": "javascript",
    "typescriptreact": "typescript",
    "shellscript": "shell",
    "zsh": "shell",
    "python3": "python",
    "golang": "go",
    "c++": "cpp",
    "c#": "csharp",
    "dosini": "ini",
    "hcl": "terraform",
    "makefile": "make",
}


def spellings(language: str) -> frozenset[str]:
    """The lower-cased names that normalize_language maps to `language` (a miner's name):
    itself, its editor ids and its suffixes, with and without the dot."""
    names = {language}
    names.update(alias for alias, name in _ALIASES.items() if name == language)
    names.update(
        s for suffix, name in LANGUAGES.items() if name == language for s in (suffix, suffix[1:])
    )
    return frozenset(n for n in names if normalize_language(n) == language)


def normalize_language(language: str) -> str:
    """Editor language ids, fence names and file suffixes to the miner's language name
    ("py", ".pyi", "python" -> "python"; "typescriptreact", "tsx" -> "typescript");
    a name it does not know comes back lower-cased."""
    lang = language.strip().lower()
    if lang in KNOWN_LANGUAGES:
        return lang
    if lang in _ALIASES:
        return _ALIASES[lang]
    return language_of("file." + lang.lstrip(".")) or lang
