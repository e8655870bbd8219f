"""Secret scrubbing: credentials found in text are replaced by `[REDACTED:<kind>]`.

Reusable by anything that lets text leave the machine or enter the store (mining, team sync,
forge). Rules recognise well-known token formats (cloud keys, forge tokens, JWTs, private key
blocks) and secrets written as literal values: passwords, tokens and keys in assignments, and
passwords in URLs. Only the secret part is replaced, so the code around it stays readable.

Secrets without a name or format of their own are found by their randomness: a token of 20+
characters mixing upper case, lower case and digits, whose Shannon entropy is close to that
of random text, on a line that names a credential (an AWS secret key written in prose), and
such a value in a URL's query string. Hex-only tokens (git hashes, checksums) and UUIDs do
not count: they are the commonest random-looking text in ordinary code. Also: credential
query parameters (`?api_key=...`), `mysql -p<password>` / `--password=...`, a password
stated in a comment or prose (`# the password is ...`), a password passed positionally to a
login call, a token split by concatenation (`"sk_live_" + "..."`) and the middle lines of a
PEM private key (64-character base64 lines) whose BEGIN/END lines are outside the text.
Scrubbing is idempotent: a `[REDACTED:...]` marker is never matched again.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

REDACTED = "[REDACTED:{kind}]"


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    # The group holding the secret: 0 = the whole match; -1 = group 1 (a quoted value) if it
    # matched, else group 2 (a bare value), both checked against _NOT_A_SECRET.
    group: int
    # Lower-case literals, one of which the text must contain for the rule to run: a
    # substring test is far cheaper than a regular expression, and most code has none.
    triggers: tuple[str, ...]
    # A rule that can match across lines runs over the whole text; the others only over the
    # lines that hold a trigger.
    multiline: bool = False
    # If set, picks the (start, end) spans to redact from a match (instead of `group`).
    spans: Callable[[re.Match[str]], list[tuple[int, int]]] | None = None


def _entropy(token: str) -> float:
    """Shannon entropy of the token's characters, in bits per character."""
    counts: dict[str, int] = {}
    for char in token:
        counts[char] = counts.get(char, 0) + 1
    size = len(token)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


_HEX_OR_UUID = re.compile(
    r"^(?:[0-9a-fA-F]+|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$"
)


# Words joined in CamelCase or snake_case (TokenRefreshHandlerV2): random text almost always
# has a lone lower-case letter or two between other characters.
_IDENTIFIER = re.compile(r"^(?:[A-Z][a-z]{2,}|[a-z]{3,}|[A-Z]{1,5}|[0-9]{1,4}|[_./-])+$")


def looks_random(token: str) -> bool:
    """A token that mixes upper case, lower case and digits and whose entropy is at least 80%
    of the most its length allows (capped at 4 bits per character: random base64 of 40
    characters has about 4.9); hex and UUIDs excepted."""
    if len(token) < 16 or _HEX_OR_UUID.match(token):
        return False
    if not (
        any(c.isdigit() for c in token)
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
    ):
        return False
    # snake_case or CamelCase identifiers: words, not noise. Random text rarely has a run of
    # eight lower-case letters.
    if re.search(r"[a-z]{8}", token) or _IDENTIFIER.match(token):
        return False
    return _entropy(token) >= min(4.0, 0.8 * math.log2(len(token)))


# A token-shaped run of characters: base64, base64url, and the usual token punctuation.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_.-])[A-Za-z0-9+/_-]{20,400}={0,2}(?![A-Za-z0-9+/=_-])")


def _random_tokens(match: re.Match[str]) -> list[tuple[int, int]]:
    """The random-looking tokens on a line that names a credential."""
    line = match.group(0)
    return [
        (match.start() + token.start(), match.start() + token.end())
        for token in _TOKEN.finditer(line)
        if looks_random(token.group(0).rstrip("="))
    ]


def _key_body(match: re.Match[str]) -> list[tuple[int, int]]:
    lines = re.findall(r"[A-Za-z0-9+/]{64}", match.group(0))
    random_lines = sum(looks_random(line) for line in lines)
    at_edge = match.start() == 0 or match.end() >= len(match.string.rstrip())
    if random_lines >= 2 or (random_lines == 1 and at_edge):
        return [(match.start(), match.end())]
    return []


_CREDENTIAL_PARAM = re.compile(
    r"(?i)(?:key|token|secret|passw(?:or)?d|pwd|pass|sig|signature|auth|credential|session)"
)


def _query_secrets(match: re.Match[str]) -> list[tuple[int, int]]:
    """A query parameter's value, if the parameter names a credential or the value looks
    random."""
    name, value = match.group(1), match.group(2)
    if value.startswith("[REDACTED") or _NOT_A_SECRET.match(value):
        return []
    # A credential's value holds a digit (sort_key=created_at is not one).
    # A value that is itself an escaped URL or path is looked at piece by piece.
    pieces = re.split(r"[^A-Za-z0-9+/_=-]+|/", unquote(value))
    if (_CREDENTIAL_PARAM.search(name) and any(c.isdigit() for c in value)) or any(
        looks_random(piece.rstrip("=")) for piece in pieces
    ):
        return [(match.start(2), match.end(2))]
    return []


_STRING_LITERAL = re.compile(r"(?P<q>[\"'])((?:(?!(?P=q))[^\\\n])+)(?P=q)")


def _positional_passwords(match: re.Match[str]) -> list[tuple[int, int]]:
    """In a login call, the string literals after the first argument (the user name); in a
    password function (set_password("...")), every string literal."""
    name, arguments = match.group(1).lower(), match.group(2)
    literals = list(_STRING_LITERAL.finditer(arguments))
    if "pass" not in name:
        if arguments.split(",", 1)[0].strip()[:1] not in ("'", '"') and literals:
            pass  # the user is a variable: every literal may be the password
        elif literals:
            literals = literals[1:]
    offset = match.start(2)
    return [
        (offset + literal.start(2), offset + literal.end(2))
        for literal in literals
        if not literal.group(2).startswith("[REDACTED")
        and arguments[: literal.start()].rstrip()[-1:] != "["  # a subscript: data['password1']
        and "=" not in arguments[: literal.start()].rsplit(",", 1)[-1]  # not a keyword argument
        and not _NOT_A_SECRET.match(literal.group(2))
        and len(literal.group(2)) >= 4
        and " " not in literal.group(2)
        and "://" not in literal.group(2)
        and "@" not in literal.group(2)  # an email address: the user
        and re.search(r"[\d!#$%&*+?^~-]", literal.group(2)) is not None  # not a plain word
    ]


_PEM_LABEL = r"-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
# One line of a key's base64 body, as a file or a string literal holds it: indentation,
# quotes, a `\n` escape, a `+` or `,` joining literals.
_KEY_BODY_LINE = r"[^\S\n]*[\"'+]?[^\S\n]*[A-Za-z0-9+/=]{16,}(?:\\n)?[\"']?[^\S\n]*[,+]?[^\S\n]*"
_TRIGGER_PEM = ("private key",)

_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
            re.DOTALL,
        ),
        0,
        _TRIGGER_PEM,
        multiline=True,
    ),
    _Rule(
        # The end of a key whose BEGIN line lies outside the text (a widened block that
        # starts partway through the key): the base64 lines above its END line, and the line.
        "private_key",
        re.compile(
            rf"(?m)^(?:{_KEY_BODY_LINE}\n)*[^\S\n]*[\"']?-----END [A-Z0-9 ]*PRIVATE KEY"
            r"(?: BLOCK)?-----"
        ),
        0,
        _TRIGGER_PEM,
        multiline=True,
    ),
    _Rule(
        # A key's base64 body in a YAML block scalar (`tls.key: |`) without its PEM lines.
        "private_key",
        re.compile(
            r"(?mi)^([^\S\n]*)[\w.-]*key[\w.-]*:[^\S\n]*[|>][-+]?[^\S\n]*\n\1[^\S\n]+"
            r"([A-Za-z0-9+/=]{16,}(?:[^\S\n]*\n\1[^\S\n]+[A-Za-z0-9+/=]{16,})*)"
        ),
        2,
        (": |", ": >"),  # the block scalar's indicator: rarer than "key" in code
        multiline=True,
    ),
    # A PEM file base64-encoded once more (Kubernetes secrets: `tls.key: LS0tLS1CRUdJTi...`).
    _Rule(
        "private_key", re.compile(r"\bLS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,}"), 0, ("ls0tls1crudjti",)
    ),
    _Rule(
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b"),
        0,
        ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva"),
    ),
    _Rule(
        "aws_secret_key",
        re.compile(
            r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        1,
        ("secret",),
    ),
    _Rule(
        "azure_key",
        re.compile(r"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{20,}=*)"),
        1,
        ("accountkey", "sharedaccesskey"),
    ),
    _Rule(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        0,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _Rule("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), 0, ("glpat-",)),
    _Rule("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0, ("xox",)),
    _Rule(
        # The path of an incoming webhook is its credential.
        "webhook_url",
        re.compile(
            r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9_/-]{16,})"
            r"|discord(?:app)?\.com/api/webhooks/([0-9]+/[A-Za-z0-9_-]{20,})"
        ),
        -1,
        ("hooks.slack.com", "/api/webhooks/"),
    ),
    _Rule(
        "stripe_key",
        re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        0,
        ("_live_", "_test_"),
    ),
    _Rule("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), 0, ("aiza",)),
    _Rule(
        "openai_key", re.compile(r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,}"), 0, ("sk-",)
    ),
    _Rule("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), 0, ("hf_",)),
    _Rule(
        "sendgrid_key",
        re.compile(r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,64}"),
        0,
        ("sg.",),
    ),
    _Rule("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0, ("npm_",)),
    _Rule(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        0,
        ("eyj",),
    ),
    _Rule(
        # `Authorization: Bearer <token>`, `Basic <credentials>`: a long value that mixes
        # letters and digits (so that "Bearer authentication" is left alone).
        "authorization",
        re.compile(
            r"(?i)\b(?:bearer|basic)[^\S\n]+"
            r"((?=[A-Za-z0-9._~+/=-]*\d)(?=[A-Za-z0-9._~+/=-]*[A-Za-z])[A-Za-z0-9._~+/=-]{16,})"
        ),
        1,
        ("bearer", "basic"),
    ),
    _Rule(
        # The user name may be empty: `redis://:password@host`.
        "url_password",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@\"']*:([^/\s@\"']{1,200})@"),
        1,
        ("://",),
    ),
    _Rule(
        # password = "hunter22", "passwd": 'two words', DB_PASSWORD=... (env files): any literal
        "password",
        re.compile(
            r"(?i)(?:passw(?:or)?d|passwd|passphrase|\bpwd)[\w.-]*[\"']?"
            r"(?:\s*(?::=|=>|[:=])\s*[\"']([^\"'\n]{4,200})[\"']"
            r"|(?:=|\s*:\s*)(?!=)([^\s\"'#,;(){}\[\]]{4,200})\s*$)",
            re.MULTILINE,
        ),
        -1,
        ("pass", "pwd"),
    ),
    _Rule(
        # A shell variable set for a command or exported: `export PGPASSWORD=hunter2; psql`,
        # `DB_PASS=hunter2 ./migrate` (upper-case names only: in code, `password=value` is
        # a keyword argument).
        "password",
        re.compile(
            r"(?<![A-Za-z0-9_])[A-Z0-9_]*PASS(?:WORD|WD|PHRASE)?[A-Z0-9_]*="
            r"([^\s\"'#;&|(){}\[\]<>`=][^\s\"'#;&|(){}\[\]<>`]{3,199})(?=[\s;&|]|$)"
        ),
        1,
        ("pass",),
    ),
    _Rule(
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
        ("secret", "token", "key", "credential"),
    ),
    _Rule(
        # A token split by concatenation: "sk_live_" + "4eC39...": the pieces after the
        # prefix (a known token prefix alone is not a secret).
        "split_secret",
        re.compile(
            r"([\"'])(?:[sr]k_live_|[sr]k_test_|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|"
            r"AKIA|ASIA|AIza|sk-(?:proj-|ant-)?|hf_|npm_|SG\.)\1"
            r"((?:[^\S\n]*\+?[^\S\n]*([\"'])[A-Za-z0-9_./+=-]{4,}\3)+)"
        ),
        2,
        (
            "_live_",
            "_test_",
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "glpat-",
            "xox",
            "akia",
            "asia",
            "aiza",
            "sk-",
            "hf_",
            "npm_",
            "sg.",
        ),
    ),
    _Rule(
        # mysql -pS3cret (no space: with one, -p prompts), mysqldump, mysqladmin, mariadb
        "cli_password",
        re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?(?<=\s)-p([^\s\"'`;|&)]+)"),
        1,
        ("mysql", "mariadb"),
    ),
    _Rule(
        # --password=S3cret, --password S3cret, --pass S3cret on a command line
        "cli_password",
        re.compile(
            r"(?<![\w-])--pass(?:word)?(?:=|[^\S\n]+)([^\s\"'`;|&<>=(){}\[\]][^\s\"'`;|&<>()]{2,199})"
        ),
        -1,
        ("--pass",),
    ),
    _Rule(
        # "# the admin password is Wint3r!2024", "password: hunter2 (staging)" in a comment
        # or in prose: a value holding a digit or a symbol (so that "password is required"
        # is left alone).
        "password",
        re.compile(
            r"(?i)\b(?:passw(?:or)?d|passwd|passphrase|pwd)s?\b[^\S\n]*"
            r"(?:(?:is|was|:|for[^\S\n]+\S+[^\S\n]+is)[^\S\n]*)+[\"'`]?"
            r"((?=[^\s\"'`]*[A-Za-z])(?=[^\s\"'`]*[\d!@#$%^&*~?])[^\s\"'`]*[^\s\"'`.,;:)])"
        ),
        -1,
        ("pass", "pwd"),
    ),
    _Rule(
        # smtp.login("alerts@corp.example", "Wint3r!2024"), auth=("admin", "S3cret"),
        # HTTPBasicAuth("u", "p"), user.set_password("...")
        "password",
        re.compile(
            r"(?i)((?:login|log_in|logon|signin|sign_in|authenticate|basicauth|set_password|"
            r"check_password|passwd)|\bauth)[^\S\n]*=?[^\S\n]*\(([^()\n]{3,400})\)"
        ),
        0,
        ("login", "log_in", "logon", "signin", "sign_in", "authenticate", "auth", "passw"),
        spans=_positional_passwords,
    ),
    _Rule(
        # A query parameter naming a credential (?api_key=..., &access_token=...), or whose
        # value looks random.
        "url_query_secret",
        re.compile(r"[?&;]([A-Za-z0-9_.\[\]-]{1,64})=([^&\s\"'#<>\\]{4,400})"),
        0,
        ("?",),  # a query string starts with one
        spans=_query_secrets,
    ),
    _Rule(
        # Random-looking tokens on a line that names a credential: an AWS secret key in prose
        # ("rotate the AWS secret access key wJalrXUtnF..."), an unnamed key in a comment.
        "high_entropy",
        re.compile(r"[^\n]+"),
        0,
        ("secret", "token", "key", "passw", "credential", "auth"),
        spans=_random_tokens,
    ),
    _Rule(
        # The middle of a PEM private key: 64-character base64 lines (PEM's line width; MIME
        # base64 uses 76) that look random, whose BEGIN/END lines are elsewhere: two or more,
        # or one at the start or end of the text (a hunk that begins or ends inside a key).
        "private_key",
        re.compile(
            r"(?m)^(?:[^\S\n]*[\"'+]?[^\S\n]*[A-Za-z0-9+/]{64}(?:\\n)?[\"']?[^\S\n]*[,+]?"
            r"[^\S\n]*(?:\n|\Z))+"
            r"(?:[^\S\n]*[\"'+]?[^\S\n]*[A-Za-z0-9+/]{4,63}={0,2}(?:\\n)?[\"']?(?=\n|\Z))?"
        ),
        0,
        (),
        multiline=True,
        spans=_key_body,
    ),
)
# Values that are clearly not secrets: references, templates, placeholders, type names. A
# bare (unquoted) value counts only in the `KEY=value` and `key: value` forms of environment
# and configuration files; in code, `password = new_password` names a variable.
_NOT_A_SECRET = re.compile(
    r"^(?:\$|\{|%|<|\*+$|x+$|\.\.\.|None$|null$|nil$|true$|false$|os\.|env\.|process\.env|"
    r"self\.|settings\.|config\.|getenv|environ|your[_-]|changeme$|example|"
    r"(?:str|bytes|int|bool|string|String|SecretStr|Optional|Any)$|\[REDACTED:)",
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


_ALL_TRIGGERS = tuple(sorted({t for rule in _RULES for t in rule.triggers}))
# The one rule without a trigger (a key's middle lines): a cheap test that the text holds a
# 64-character base64 run at all.
_MAYBE_KEY_BODY = re.compile(r"[A-Za-z0-9+/]{64}")


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
    maybe_key_body = _MAYBE_KEY_BODY.search(text) is not None
    if not triggered and not maybe_key_body:
        return ScrubResult(text, ())
    spans: list[tuple[int, int, int, str]] = []
    lines = _trigger_lines(text, lowered, triggered)
    # At one position the earlier rule wins: a JWT after `Bearer` is reported as a JWT.
    for order, rule in enumerate(_RULES):
        if triggered.isdisjoint(rule.triggers) if rule.triggers else not maybe_key_body:
            continue
        windows = [(0, len(text))] if rule.multiline else lines
        for start, end in windows:
            for match in rule.pattern.finditer(text, start, end):
                if rule.spans is not None:
                    spans.extend(
                        (first, order, last, rule.kind)
                        for first, last in rule.spans(match)
                        if not text.startswith("[REDACTED:", first)
                    )
                    continue
                group = rule.group
                if group < 0:  # the quoted value (group 1), else the bare one (group 2)
                    group = 1 if match.group(1) is not None else 2
                value = match.group(group)
                if value is None:
                    continue
                if rule.group < 0 and _NOT_A_SECRET.match(value.strip()):
                    continue
                spans.append((match.start(group), order, match.end(group), rule.kind))
    if not spans:
        return ScrubResult(text, ())
    spans.sort()
    pieces: list[str] = []
    findings: list[Finding] = []
    position = 0
    for start, _, end, kind in spans:
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
