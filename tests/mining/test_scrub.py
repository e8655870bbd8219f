from __future__ import annotations

import pytest

from pattern_memory.mining.scrub import anonymize_emails, pseudonym, scrub_text

# Planted secrets (well-known example values or random-looking strings, none real).
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
SLACK = "xoxb-123456789012-abcdefABCDEF"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
GOOGLE = "AIzaSyA1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabcdef\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f'key_id = "{AWS_KEY}"', AWS_KEY, "aws_access_key"),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws_secret_key"),
        (f'headers = {{"Authorization": "token {GITHUB}"}}', GITHUB, "github_token"),
        (f"Authorization: Bearer {JWT}", JWT, "jwt"),
        (f"SLACK = '{SLACK}'", SLACK, "slack_token"),
        (f"stripe.api = '{STRIPE}'", STRIPE, "stripe_key"),
        (f"maps_key = '{GOOGLE}'", GOOGLE, "google_api_key"),
        (f"KEY = '''\n{PRIVATE_KEY}\n'''", "MIIEpAIBAAKCAQEA7", "private_key"),
        ('password = "hunter22"', "hunter22", "password"),
        ('db.connect(passwd="s3cr3t-pw")', "s3cr3t-pw", "password"),
        ("DB_PASSWORD=correcthorse", "correcthorse", "password"),
        ("  password: correcthorse", "correcthorse", "password"),
        ('url = "postgres://admin:Tr0ub4dor@db.internal:5432/app"', "Tr0ub4dor", "url_password"),
        ('API_KEY = "a8f5f167f44f4964e6c998dee827110c"', "a8f5f167f44f4964e6c998dee827110c", None),
        (
            'client_secret: "9d4e1e23bd5b727046a9e3b4b7db57bd"',
            "9d4e1e23bd5b727046a9e3b4b7db57bd",
            None,
        ),
    ],
)
def test_secrets_are_redacted(text: str, secret: str, kind: str | None) -> None:
    result = scrub_text(text)
    assert secret not in result.text
    assert "[REDACTED:" in result.text
    assert result.found
    if kind is not None:
        assert kind in {finding.kind for finding in result.findings}


@pytest.mark.parametrize(
    "text",
    [
        "password = new_password",
        'password = os.environ["DB_PASSWORD"]',
        "password = self.password",
        "def login(password: str) -> None:",
        'token_type = "identifier"',
        'tokens = ["if", "else"]',
        'api_key = os.getenv("API_KEY")',
        'password = "{password}"',
        "url = 'https://example.com/path?q=1'",
        "prefix = 'sk'",
    ],
)
def test_ordinary_code_is_left_alone(text: str) -> None:
    result = scrub_text(text)
    assert result.text == text
    assert not result.found


def test_only_the_secret_is_replaced_and_lines_are_reported() -> None:
    text = 'import os\n\nPASSWORD = "hunter22"\nKEY = "' + AWS_KEY + '"\n'
    result = scrub_text(text)
    assert result.text == (
        'import os\n\nPASSWORD = "[REDACTED:password]"\nKEY = "[REDACTED:aws_access_key]"\n'
    )
    assert [(f.kind, f.line) for f in result.findings] == [
        ("password", 3),
        ("aws_access_key", 4),
    ]


def test_pseudonyms_are_stable_and_hide_the_address() -> None:
    first = pseudonym("Dev@Example.com")
    assert first == pseudonym("dev@example.com")
    assert first != pseudonym("other@example.com")
    assert "dev" not in first and first.endswith("@anonymized.invalid")
    assert anonymize_emails("Signed-off-by: Dev <dev@example.com>") == (
        f"Signed-off-by: Dev <{first}>"
    )


KEY_LINES = [f"MIIEpAIBAAKCAQEA{digit * 43}" for digit in "123456"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # The text starts partway through the key: only its last lines and END are there.
        ("\n".join(KEY_LINES[3:]) + '\n-----END RSA PRIVATE KEY-----"""\nVALUE = 1', "VALUE = 1"),
        # ... or stops partway: BEGIN and the first lines.
        ('KEY = """-----BEGIN RSA PRIVATE KEY-----\n' + "\n".join(KEY_LINES[:2]), 'KEY = """'),
        # Indented in a string literal joined over lines.
        (
            'KEY = (\n    "'
            + '\\n"\n    "'.join(KEY_LINES)
            + '\\n"\n    "-----END PRIVATE KEY-----"\n)',
            "KEY = (",
        ),
        # A YAML block scalar holding the base64 body without its PEM lines.
        (
            "data:\n  tls.key: |\n    " + "\n    ".join(KEY_LINES) + "\nkind: Secret",
            "kind: Secret",
        ),
        # A Kubernetes secret: the PEM file base64-encoded once more.
        ("  tls.key: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF", "tls.key: "),
    ],
)
def test_partial_private_keys_are_redacted(text: str, kept: str) -> None:
    result = scrub_text(text)
    assert "MIIEpAIBAAKCAQEA" not in result.text
    assert "LS0tLS1CRUdJTi" not in result.text
    assert "PRIVATE KEY" not in result.text
    assert kept in result.text
    assert {finding.kind for finding in result.findings} == {"private_key"}


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        ('REDIS = "redis://:s3cretpw@host:6379"', "s3cretpw", "url_password"),
        (
            'HEADERS = {"Authorization": "Bearer abcdef0123456789abcdef0123456789"}',
            "abcdef0123456789abcdef0123456789",
            "authorization",
        ),
        (
            'AZ = "DefaultEndpointsProtocol=https;AccountName=foo;'
            'AccountKey=abc123def456ghi789jkl012mno345pqr678stu9==;"',
            "abc123def456ghi789jkl012mno345pqr678stu9",
            "azure_key",
        ),
        ("export PGPASSWORD=hunter2; psql -h db", "hunter2", "password"),
        ("PGPASSWORD=hunter2 psql -h db", "hunter2", "password"),
        ('    return db.connect(password="hunter 22")', "hunter 22", "password"),
        (
            'HF = "hf_' + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567" + '"',
            "aBcDeFgHiJkLmNoPqRsTuVwXyZ",
            None,
        ),
        (
            'SG = "SG.'
            + "abcdefghij1234567890AB.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
            + '"',
            "abcdefghij1234567890AB",
            "sendgrid_key",
        ),
        (
            'URL = "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/' + "x" * 24 + '"',
            "T0A1B2C3D/B0A1B2C3D",
            "webhook_url",
        ),
    ],
)
def test_more_secret_forms_are_redacted(text: str, secret: str, kind: str | None) -> None:
    result = scrub_text(text)
    assert secret not in result.text
    assert result.found
    if kind is not None:
        assert kind in {finding.kind for finding in result.findings}


@pytest.mark.parametrize(
    "text",
    [
        "password = get_password()",
        'token = request.headers["X"]',
        "client.login(password=new_password)",
        "if password==expected:",
        "password_hash = make_password(password)",
        'auth = "Bearer " + token',
        'headers["Authorization"] = f"Bearer {token}"',
        'raise AuthError("Bearer authentication required")',
        "echo $PGPASSWORD",
        "PGPASSWORD=$(cat /run/secrets/db) psql",
        'label = "Password"',
        "msg.send(sg.name)",
        "key_map: |\n    move_left\n    move_right",
    ],
)
def test_code_near_the_new_rules_is_left_alone(text: str) -> None:
    result = scrub_text(text)
    assert result.text == text
    assert not result.found
