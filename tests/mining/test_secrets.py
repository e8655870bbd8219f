"""Secrets planted in a real history never reach the output, including one that a later
commit removes (its before-code still holds it) and one in a commit message."""

from __future__ import annotations

import json
from collections.abc import Callable

from pattern_memory.mining.scrub import pseudonym
from pattern_memory.patterns import Pattern, ProblemType, dump_jsonl_line
from tests.gitrepo import RepoBuilder

MinePatterns = Callable[..., list[Pattern]]  # fixture of tests/mining/conftest.py

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
PASSWORD = "Sup3r-S3cret-Pw"
DB_URL_PASSWORD = "Tr0ub4dor3"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----"
)

CONFIG = f'''import os


def connect():
    key_id = "{AWS_KEY}"
    password = "{PASSWORD}"
    url = "postgres://app:{DB_URL_PASSWORD}@db.internal/app"
    return open_connection(key_id, password, url)
'''
FIXED = """import os


def connect():
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    password = os.environ["DB_PASSWORD"]
    url = os.environ["DATABASE_URL"]
    return open_connection(key_id, password, url)
"""


def test_planted_secrets_never_leave_the_miner(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    repo_builder.commit("Add database connection", {"db.py": CONFIG})
    repo_builder.commit(
        f"Add deploy key\n\nUses token {GITHUB} for now",
        {"deploy.py": f'KEY = """\n{PRIVATE_KEY}\n"""\n\n\ndef deploy():\n    return KEY\n'},
    )
    repo_builder.commit("fix: read credentials from the environment", {"db.py": FIXED})
    patterns = mined_patterns(repo_builder.path)
    output = "".join(dump_jsonl_line(p) for p in patterns)
    for secret in (AWS_KEY, GITHUB, PASSWORD, DB_URL_PASSWORD, "b3BlbnNzaC1rZXktdjEAAAAA"):
        assert secret not in output
    removal = next(p for p in patterns if p.problem_type is ProblemType.BUG_FIX)
    assert removal.before_code == (
        "def connect():\n"
        '    key_id = "[REDACTED:aws_access_key]"\n'
        '    password = "[REDACTED:password]"\n'
        '    url = "postgres://app:[REDACTED:url_password]@db.internal/app"\n'
        "    return open_connection(key_id, password, url)"
    )
    assert removal.after_code == FIXED.split("\n\n\n", 1)[1].rstrip("\n")
    message = next(p.commit_msg for p in patterns if p.file_path == "deploy.py")
    assert message == "Add deploy key\n\nUses token [REDACTED:github_token] for now"


def test_anonymized_authors(repo_builder: RepoBuilder, mined_patterns: MinePatterns) -> None:
    repo_builder.commit(
        "Add a\n\nSigned-off-by: Grace <grace@example.com>",
        {"a.py": "A = 1\n"},
        author="Grace Hopper <grace@example.com>",
    )
    [plain] = mined_patterns(repo_builder.path)
    assert plain.author == "grace@example.com"
    [hidden] = mined_patterns(repo_builder.path, anonymize_authors=True)
    assert hidden.author == pseudonym("grace@example.com")
    assert hidden.author.startswith("author-") and hidden.author.endswith("@anonymized.invalid")
    assert "grace@example.com" not in json.dumps(hidden.to_json_dict())
    assert hidden.pattern_id == plain.pattern_id


def test_a_hunk_that_starts_inside_a_private_key_leaks_none_of_it(
    repo_builder: RepoBuilder, mined_patterns: MinePatterns
) -> None:
    key_lines = [f"MIIEpAIBAAKCAQEA{digit * 43}" for digit in "123456"]
    key = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + "\n".join(key_lines)
        + "\n-----END RSA PRIVATE KEY-----"
    )
    repo_builder.commit("Initial import", {"settings.py": f'KEY = """{key}"""\nVALUE = 1\n'})
    repo_builder.commit("fix: value", {"settings.py": f'KEY = """{key}"""\nVALUE = 2\n'})
    [pattern] = mined_patterns(repo_builder.path)
    # git's three lines of context start inside the key: its BEGIN line is not in the hunk.
    assert pattern.before_lines is not None and pattern.before_lines.start > 2
    output = dump_jsonl_line(pattern)
    assert "MIIEpAIBAAKCAQEA" not in output and "PRIVATE KEY" not in output
    assert pattern.before_code == '[REDACTED:private_key]"""\nVALUE = 1'
    assert pattern.after_code == '[REDACTED:private_key]"""\nVALUE = 2'
