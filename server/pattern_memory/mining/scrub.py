"""Secret scrubbing: credentials found in text are replaced by `[REDACTED:<kind>]`.

Reusable by anything that lets text leave the machine or enter the store (mining, team sync,
forge). Rules recognise well-known token formats (cloud keys, forge tokens, JWTs, private key
blocks) and secrets written as literal values: passwords, tokens and keys in assignments, and
passwords in URLs. Only the secret part is replaced, so the code around it stays readable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

REDACTED = "[REDACTED:{kind}]"

# (kind, pattern, group holding the secret: 0 = the whole match)
_RULES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
            re.DOTALL,
        ),
        0,
    ),
    (
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b"),
        0,
    ),
    (
        "aws_secret_key",
        re.compile(
            r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        1,
    ),
    (
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        0,
    ),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), 0),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), 0),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), 0),
    ("openai_key", re.compile(r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,}"), 0),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    (
        "url_password",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@\"']+:([^/\s@\"']{1,200})@"),
        1,
    ),
    (
        # password = "hunter22", "passwd": '...', DB_PASSWORD=... (env files): any literal
        "password",
        re.compile(
            r"(?i)(?:passw(?:or)?d|passwd|passphrase|\bpwd)[\w.-]*[\"']?"
            r"(?:\s*(?::=|=>|[:=])\s*[\"']([^\"'\s]{4,200})[\"']"
            r"|(?:=|\s*:\s*)([^\s\"'#,;(){}\[\]]{4,200})\s*$)",
            re.MULTILINE,
        ),
        -1,
    ),
    (
        # api_key = "...", "client_secret": "...", AUTH_TOKEN=...: a long literal that mixes
        # letters and digits (so that token_type = "identifier" is left alone)
        "assigned_secret",
        re.compile(
            r"(?i)(?:secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
            r"auth[_-]?key|credentials?)[\w.-]*[\"']?"
            r"(?:\s*(?::=|=>|[:=])\s*[\"']((?=[^\"'\s]*\d)(?=[^\"'\s]*[A-Za-z])[^\"'\s]{12,400})[\"']"
            r"|(?:=|\s*:\s*)((?=\S*\d)(?=\S*[A-Za-z])[^\s\"'#,;(){}\[\]]{12,400})\s*$)",
            re.MULTILINE,
        ),
        -1,
    ),
)
# Values that are clearly not secrets: references, templates, placeholders, type names. A
# bare (unquoted) value counts only in the `KEY=value` and `key: value` forms of environment
# and configuration files; in code, `password = new_password` names a variable.
_NOT_A_SECRET = re.compile(
    r"^(?:\$|\{|%|<|\*+$|x+$|\.\.\.|None$|null$|nil$|true$|false$|os\.|env\.|process\.env|"
    r"self\.|settings\.|config\.|getenv|environ|your[_-]|changeme$|example|"
    r"(?:str|bytes|int|bool|string|String|SecretStr|Optional|Any)$)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    line: int  # 1-based line of the text where the secret starts


@dataclass(frozen=True, slots=True)
class ScrubResult:
    text: str
    findings: tuple[Finding, ...]

    @property
    def found(self) -> bool:
        return bool(self.findings)


# A rule runs only on text that contains one of its literal triggers (lower case): a substring
# test is far cheaper than a regular expression, and most code contains no trigger at all.
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "private_key": ("private key",),
    "aws_access_key": ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva"),
    "aws_secret_key": ("secret",),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": ("glpat-",),
    "slack_token": ("xox",),
    "stripe_key": ("_live_", "_test_"),
    "google_api_key": ("aiza",),
    "openai_key": ("sk-",),
    "npm_token": ("npm_",),
    "jwt": ("eyj",),
    "url_password": ("://",),
    "password": ("pass", "pwd"),
    "assigned_secret": ("secret", "token", "key", "credential"),
}

_ALL_TRIGGERS = tuple(sorted({t for triggers in _TRIGGERS.values() for t in triggers}))
_MULTILINE_KINDS = frozenset({"private_key"})


def _trigger_lines(text: str, lowered: str, triggers: set[str]) -> list[tuple[int, int]]:
    """(start, end) offsets of the lines of `text` that contain one of `triggers`."""
    found: set[tuple[int, int]] = set()
    for trigger in triggers:
        position = lowered.find(trigger)
        while position >= 0:
            start = text.rfind("\n", 0, position) + 1
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            found.add((start, end))
            position = lowered.find(trigger, end)
    return sorted(found)


def scrub_text(text: str) -> ScrubResult:
    """`text` with every recognised secret replaced, and what was found where."""
    lowered = text.lower()
    triggered = {trigger for trigger in _ALL_TRIGGERS if trigger in lowered}
    if not triggered:
        return ScrubResult(text, ())
    spans: list[tuple[int, int, str]] = []
    lines = _trigger_lines(text, lowered, triggered)
    for kind, pattern, group in _RULES:
        if triggered.isdisjoint(_TRIGGERS[kind]):
            continue
        # Every rule but the private key block matches within one line: run it only on the
        # lines that hold a trigger, not over the whole text.
        windows = [(0, len(text))] if kind in _MULTILINE_KINDS else lines
        for start, end in windows:
            for match in pattern.finditer(text, start, end):
                # -1: the quoted value (group 1), else the bare one (group 2)
                index = group if group >= 0 else (1 if match.group(1) is not None else 2)
                value = match.group(index)
                if value is None:
                    continue
                if group < 0 and _NOT_A_SECRET.match(value):
                    continue
                spans.append((match.start(index), match.end(index), kind))
    if not spans:
        return ScrubResult(text, ())
    spans.sort()
    pieces: list[str] = []
    findings: list[Finding] = []
    position = 0
    for start, end, kind in spans:
        if start < position:
            continue  # inside a secret already redacted
        pieces.append(text[position:start])
        pieces.append(REDACTED.format(kind=kind))
        findings.append(Finding(kind, text.count("\n", 0, start) + 1))
        position = end
    pieces.append(text[position:])
    return ScrubResult("".join(pieces), tuple(findings))


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PSEUDONYM_DOMAIN = "anonymized.invalid"


def pseudonym(email: str) -> str:
    """A stable stand-in for an email address: the same address (in any letter case) always
    gives the same pseudonym, and the pseudonym does not show the address. It is a plain hash,
    so someone who already guesses an address can confirm the guess."""
    digest = hashlib.sha256(
        b"pattern-memory-author\x00" + email.strip().lower().encode()
    ).hexdigest()
    return f"author-{digest[:10]}@{PSEUDONYM_DOMAIN}"


def anonymize_emails(text: str) -> str:
    """Every email address in `text` (e.g. `Signed-off-by:` lines) replaced by its pseudonym."""
    return _EMAIL.sub(lambda match: pseudonym(match.group(0)), text)
