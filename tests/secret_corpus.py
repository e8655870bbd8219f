# ruff: noqa: E501  (realistic lines of code and configuration are long)
"""Realistic planted secrets (random values, none real) and ordinary code that must survive
scrubbing. Used by the scrubber's tests and by the end-to-end test that commits the secrets
to a real repository and looks for them in everything the tool writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Planted:
    name: str
    text: str  # a file's content, a commit message or an assistant's answer
    secret: str  # what must never come out
    where: str = "file"  # "file", "message" (a commit message) or "answer" (forge input)


AWS_SECRET_PROSE = "e29bA7/Jue/PjFUf1rTW1KH6wMUr6Ex9Q/CNycLa"
AWS_SECRET_ANSWER = "EryMUEO538iPuC0Eee+MjktXVtom4vyS315FJswp"
KEY_BODY = [
    "CgwmUxMfY2jSy+uvZ7Qeww1tYmYpEn2NLmS8FLbuXDm8mZBKTiydjZec3RwgTP8v",
    "cAqLzFFX1dqapdhwpXib3x1gvgW66QxeZ6+UjrHGwl6btJkNsnpKQaH2shhhBbBs",
    "N1tdVo9M77wsdZt5wR8tf+Xv8JB/TWtOOqh6gQgWkeqebU3C9lniU62NwqZyEtWB",
    "+XyitqjY6lAb6wvUXAFQMHth+1TRaPLg0K6vo12lp7ujWkaH9k1o09CYc46/1Mt5",
]
_KEY = "\n".join(KEY_BODY)
_PEM = f"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu3{KEY_BODY[0][:40]}\n{_KEY}\n-----END RSA PRIVATE KEY-----"

PLANTED: tuple[Planted, ...] = (
    # The six classes that leaked before entropy-based detection (issue 10).
    Planted(
        "aws secret in prose (commit message)",
        "fix: rotate the leaked credentials\n\nThe AWS secret access key "
        f"{AWS_SECRET_PROSE} was pasted in the CI log; it is revoked now.",
        AWS_SECRET_PROSE,
        "message",
    ),
    Planted(
        "aws secret in prose (answer)",
        "The bug was that the client read the wrong profile. Your secret key "
        f"{AWS_SECRET_ANSWER} was taken from ~/.aws/credentials instead of the environment; "
        "the fix is to pass `profile_name` to `boto3.Session` explicitly.",
        AWS_SECRET_ANSWER,
        "answer",
    ),
    Planted(
        "api_key in a quoted URL",
        'resp = requests.get("https://api.weather.example/v1/forecast?city=Oslo'
        '&api_key=rDtkQP80lXlEXwuBoaITcv5upfqCzLky&units=metric")\n',
        "rDtkQP80lXlEXwuBoaITcv5upfqCzLky",
    ),
    Planted(
        "mysql -p",
        "#!/bin/sh\nset -e\nmysqldump -u backup -pQv7!63FR5pVH --single-transaction shop > shop.sql\n",
        "Qv7!63FR5pVH",
    ),
    Planted(
        "password in a comment",
        "def connect():\n    # staging admin password is Wint3r-2024!x (ask ops before rotating)\n"
        "    return Client(host=STAGING_HOST)\n",
        "Wint3r-2024!x",
    ),
    Planted(
        "password as a positional argument",
        "def send_alert(body):\n    smtp = smtplib.SMTP_SSL('smtp.corp.example', 465)\n"
        "    smtp.login('alerts@corp.example', 'Mx9#kLp2vQ')\n    smtp.sendmail(FROM, TO, body)\n",
        "Mx9#kLp2vQ",
    ),
    Planted(
        "key split by concatenation",
        'STRIPE_KEY = "sk_live_" + "6rHEMFekFRD5ziAILwIyFSkJ"\n',
        "6rHEMFekFRD5ziAILwIyFSkJ",
    ),
    Planted(
        "private key middle lines",
        f'BODY = """\n{_KEY}\n"""\nPEM = wrap_pem(BODY, "RSA PRIVATE KEY")\n',
        KEY_BODY[1],
    ),
    # Forms the rules found before.
    Planted(
        "aws access key",
        'AWS_ACCESS_KEY_ID = "AKIAZ7QW3RT5YU8IOP2L"\n',
        "AKIAZ7QW3RT5YU8IOP2L",
    ),
    Planted(
        "aws secret assigned",
        "[default]\naws_secret_access_key = lpktgJY07doKVe8AmKKC6Z3Lbzmv24KmH7ZKWX91\n",
        "lpktgJY07doKVe8AmKKC6Z3Lbzmv24KmH7ZKWX91",
    ),
    Planted(
        "github token in a message",
        "fix: deploy script\n\nUsed ghp_Cg9A1c3aCIedwfjgMD1ZFiD3BXG7CvUq5YSD to test it.",
        "ghp_Cg9A1c3aCIedwfjgMD1ZFiD3BXG7CvUq5YSD",
        "message",
    ),
    Planted(
        "gitlab token",
        'GITLAB = "glpat-BvPH6HjVpuNcRmP5LK1O"\n',
        "glpat-BvPH6HjVpuNcRmP5LK1O",
    ),
    Planted(
        "slack bot token",
        "SLACK_BOT = 'xoxb-284019273641-913827364510-IUxZUz6Yk9MAUKeM2U1t'\n",
        "xoxb-284019273641-913827364510-IUxZUz6Yk9MAUKeM2U1t",
    ),
    Planted(
        "slack webhook",
        'HOOK = "https://hooks.slack.com/services/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"\n',
        "T04QW8E2L/B05R7TY1U/IUxZUz6Yk9MAUKeM2U1tbLuP",
    ),
    Planted(
        "stripe key",
        "stripe.api_key = 'sk_live_51HxQvT2eZvKYlo2Cq0sPdGmRbN8'\n",
        "sk_live_51HxQvT2eZvKYlo2Cq0sPdGmRbN8",
    ),
    Planted(
        "google api key",
        'MAPS = "AIzaSyD4x9Kq2LmN7pR8sT1uV3wX5yZ6aB0cDeF"\n',
        "AIzaSyD4x9Kq2LmN7pR8sT1uV3wX5yZ6aB0cDeF",
    ),
    Planted(
        "openai key",
        "client = OpenAI(api_key='sk-proj-A3y3ZPmeXBZf0dwqxDBWmOVsDSsGFG6qzCOvwUrE5C2ELEfS')\n",
        "A3y3ZPmeXBZf0dwqxDBWmOVsDSsGFG6qzCOvwUrE5C2ELEfS",
    ),
    Planted(
        "huggingface token",
        "login(token='hf_EbZh9sB22pTs4fcM6JX9g0skQEjxMz6Ymw')\n",
        "hf_EbZh9sB22pTs4fcM6JX9g0skQEjxMz6Ymw",
    ),
    Planted(
        "npm token",
        "//registry.npmjs.org/:_authToken=npm_lfLmBngRt49D3VWS0HUBCQVJnrMxhOYOanBN\n",
        "npm_lfLmBngRt49D3VWS0HUBCQVJnrMxhOYOanBN",
    ),
    Planted(
        "jwt",
        'HEADERS = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MjQyIn0'
        '.N1tdVo9M77wsdZt5wR8tf_Xv8JB"}\n',
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MjQyIn0.N1tdVo9M77wsdZt5wR8tf_Xv8JB",
    ),
    Planted(
        "bearer token",
        "curl -H 'Authorization: Bearer 7Fq2xLm9Pz4Rt8Wv1Ks6Yb3N' https://api.example.com/v2/me\n",
        "7Fq2xLm9Pz4Rt8Wv1Ks6Yb3N",
    ),
    Planted(
        "postgres url password",
        'DATABASE_URL = "postgresql://app:Gq8vT2mZx4@db.internal:5432/app"\n',
        "Gq8vT2mZx4",
    ),
    Planted(
        "password assignment",
        'def admin():\n    password = "Sunflower-77-Orbit"\n    return password\n',
        "Sunflower-77-Orbit",
    ),
    Planted(
        "env file password",
        "DB_HOST=db.internal\nDB_PASSWORD=tangerine88lantern\n",
        "tangerine88lantern",
    ),
    Planted(
        "exported PGPASSWORD",
        "export PGPASSWORD=Kx7vPq2Lm; psql -h db -U app -c 'select 1'\n",
        "Kx7vPq2Lm",
    ),
    Planted(
        "full private key",
        f'KEY = """{_PEM}"""\n',
        KEY_BODY[2],
    ),
    Planted(
        "azure connection string",
        'CONN = "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey='
        'QSLdcKx37zuMOkXkhMY3wkbU6IGZwfzCK4wdj73CTENCUCMlw0B00v9JGDymgBPjc73lOOmKB6Y5xJy9dMdkt9==;"\n',
        "QSLdcKx37zuMOkXkhMY3wkbU6IGZwfzCK4wdj73CTENCUCMlw0B00v9JGDymgBPjc73lOOmKB6Y5xJy9dMdkt9",
    ),
    Planted(
        "--password on a command line",
        "docker login --username ci --password=Zr4tQw8Lp1 registry.example.com\n",
        "Zr4tQw8Lp1",
    ),
    Planted(
        "an unnamed token in prose",
        "fix: the nightly job\n\nThe deploy token changed to Hq3Lr8Zp2Wx7Nt5Kv9Ms4Bd; update the runner.",
        "Hq3Lr8Zp2Wx7Nt5Kv9Ms4Bd",
        "message",
    ),
    Planted(
        "SAS signature in a query string",
        'BLOB = "https://shop.blob.core.example/backups/db.gz?sv=2022-11-02&se=2026-01-01'
        '&sr=b&sp=r&sig=Lp9Kq2Vx7Zt4Rm8Wn3Hs6Fd1Gb5Jc0Ya%3D"\n',
        "Lp9Kq2Vx7Zt4Rm8Wn3Hs6Fd1Gb5Jc0Ya",
    ),
)

# Ordinary code: random-looking but not secret, or secret-sounding but holding no secret.
ORDINARY: tuple[str, ...] = (
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    'Fixes: 3f78685 ("token refresh loops on 401")',
    'revision = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"  # the key commit',
    "git rev-parse HEAD  # 9c1185a5c5e9fc54612808977ee8f548b2258d31 is the signing key fix",
    'request_id = "123e4567-e89b-12d3-a456-426614174000"',
    'token_id = uuid.UUID("9b2e4a7c-1f3d-4e5b-8a6c-0d9e8f7a6b5c")',
    "assert api_key_uuid == '0f8fad5b-d9cb-469f-a165-70867728950e'",
    'PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")',
    'assert b64encode(b"hello world") == b"aGVsbG8gd29ybGQ="',
    "    encoded_key = base64.urlsafe_b64encode(b'test-key-material')",
    'sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"',
    '    {file = "httpx-0.27.0-py3-none-any.whl", hash = "sha256:71d5465162c13681bff01ad59b2cc68dd838ea1f10e51574bac27103f00c91a5"},',
    "certifi==2024.2.2 --hash=sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1",
    '      "integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==",',
    '      "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz",',
    "def test_refresh_token_is_rotated_after_expiry_and_reused_only_once():",
    "class TokenRefreshHandlerFactoryV2(BaseAuthHandler):",
    'API_KEY_HEADER_NAME = "X-Api-Key"',
    "    secret_key_setting_name = 'DJANGO_SECRET_KEY_FILE'",
    'url = "https://example.com/search?q=python+asyncio&page=2&per_page=50"',
    'ISSUES = "https://api.github.com/repos/encode/httpx/issues?state=open&sort=created"',
    'DOCS = "https://docs.python.org/3/library/secrets.html#secrets.token_urlsafe"',
    'ITEMS = "/api/v1/items?sort_key=created_at&order=desc"',
    'login_url = "/accounts/login/?next=/dashboard/"',
    "    raise ValueError('password is required')",
    "# The password must contain at least 8 characters.",
    "def check_password(raw_password: str, encoded: str) -> bool:",
    "    user.set_password(form.cleaned_data['password1'])",
    "    log_in_user(request, 'welcome')",
    '    client.login(username="admin", password=password)',
    "mysql -u root -p shop < dump.sql",
    "mysql -h db.internal -P 3306 -u app -p",
    "pg_dump --password-file /run/secrets/pg shop",
    "    key = (self.scheme, self.host, self.port)  # connection pool key",
    "    cache_key = f'{user_id}:{resource}'",
    'TOKEN_PATTERN = r"[A-Za-z0-9_]+"',
    "    auth = httpx.BasicAuth(username=user, password=pw)",
    '    headers = {"Authorization": f"Bearer {token}"}',
    "    tokens = tokenizer.encode('The quick brown fox jumps over the lazy dog')",
    "VERSION_KEY = 'v2.14.0-rc1'",
    "    assert response.json()['token_type'] == 'bearer'",
    "    os.environ['AWS_SECRET_ACCESS_KEY'] = 'testing'  # moto fixture",
    "user_agent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0'",
    "LOREM = 'TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2Npbmc='",
    "    data = b'\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR'",
)
