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
