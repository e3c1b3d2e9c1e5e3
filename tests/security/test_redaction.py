"""Redaction: every secret in a realistic corpus is masked; realistic non-secrets survive.

Secrets are assembled from parts at run time so this file itself does not trip
secret scanners; the values are made up but have the real formats.
"""

from __future__ import annotations

import logging

import pytest

from fleet.context import RedactingFilter, redact

R = "9fQ2xLm7Pz4Kw8Vb3Nc6Rt1Yh5Jd0Gs"  # filler with the alphabet real keys use

SECRETS: list[tuple[str, str]] = [  # (text, the secret that must disappear)
    (f"OPENAI_API_KEY is sk-{R}T3BlbkFJ{R[:12]}", f"sk-{R}"),
    (f"client = OpenAI(api_key='sk-proj-{R}_{R[:10]}-abc')", f"sk-proj-{R}"),
    (f"anthropic key sk-ant-api03-{R}{R}", f"{R}{R}"),
    ("aws_access_key_id = " + "AKIA" + "IOSFODNN7Q2XZ4LB", "AKIA" + "IOSFODNN7Q2XZ4LB"),
    (
        "export AWS_SECRET_ACCESS_KEY=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG",
    ),
    ("git clone https://" + "ghp_" + R + "abcde" + "@github.com/acme/app.git", "ghp_" + R),
    ("GH token: " + "github_pat_" + "11ABCDEFG0" + R + "_" + R, "github_pat_11ABCDEFG0"),
    ("slack: " + "xox" + "b-123456789012-1234567890123-" + R[:24], "-1234567890123-" + R[:24]),
    (
        "webhook https://hooks.slack.com/services/" + "T0ABC1234/B0DEF5678/" + R[:24],
        "B0DEF5678/" + R[:24],
    ),
    ("maps key AIza" + "SyD-" + R + "x_y", "SyD-" + R),
    ("stripe.api_key = '" + "sk_" + "live_" + "51H" + R + "'", "51H" + R),
    ("STRIPE_KEY=" + "rk_" + "test_" + "4eC39Hq" + R[:20], "4eC39Hq" + R[:20]),
    (
        "curl -H 'Authorization: Bearer 7f9c2ba4e88f827d616045507605853e'",
        "7f9c2ba4e88f827d616045507605853e",
    ),
    (
        "Authorization: Basic dXNlcjpodW50ZXIyLXN1cGVyLXNlY3JldA==",
        "dXNlcjpodW50ZXIyLXN1cGVyLXNlY3JldA==",
    ),
    (
        "cookie eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    ("DATABASE_URL=postgres://app:Xk9#mP2vQ@db.internal:5432/orders", "Xk9#mP2vQ"),
    ("connect mongodb+srv://admin:s3cr3tPassw0rd@cluster0.mongodb.net/test", "s3cr3tPassw0rd"),
    ("redis://:hunter2hunter2@cache:6379/0", "hunter2hunter2"),
    (
        "Server=tcp:db.example.com;Database=orders;User Id=app;Password=P@ssw0rd!2024;",
        "P@ssw0rd!2024",
    ),
    ("DB_PASSWORD=hunter22", "hunter22"),
    ("SECRET=Zm9vYmFyYmF6cXV4", "Zm9vYmFyYmF6cXV4"),
    ("TOKEN='tok_9a8b7c6d5e4f'", "tok_9a8b7c6d5e4f"),
    ('  export JWT_SECRET="super-long-signing-secret-value"', "super-long-signing-secret-value"),
    ('config = {"password": "correct-horse-battery-staple"}', "correct-horse-battery-staple"),
    ("password: 'Tr0ub4dor&3'", "Tr0ub4dor&3"),
    ("client_secret=8b5e1f0a9c7d4e2f6a3b", "8b5e1f0a9c7d4e2f6a3b"),
    ("SENTRY_DSN=https://abc123def456@o1.ingest.sentry.io/42", "abc123def456"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7b"
        + R
        + "\nQ2xL"
        + R
        + "==\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA7b",
    ),
    (
        "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"
        + R
        + "\n-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAA",
    ),
    (
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"
        + R
        + "\n(truncated)",
        "MIGHAgEAMBMGByqGSM49",
    ),
]

AWS_KEY = "AKIA" + "IOSFODNN7Q2XZ4LB"

NON_SECRETS = [
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed the flaky test",
    "merged abc1234 into main; see e83c5163316f89bfbde7d9ab23ca2e25604af290",
    "request id 123e4567-e89b-12d3-a456-426614174000 timed out",
    "token_id = 3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "pip install ray==2.60.0 pydantic>=2.14 redis~=8.1",
    "python 3.11.9, node v20.11.1, image sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    'ETag: W/"5e8f3c2a1b9d7e6f"; object key uploads/2024/05/report.pdf',
    "max_tokens: 256, budget_tokens: 1500, tokens=812",
    "tokenizer = GGUFTokenizer(path)",
    "password = os.environ['DB_PASSWORD']",
    "token = self.token or get_token()",
    "the password field is required; use PASSWORD=${DB_PASSWORD} in compose",
    "See https://docs.python.org/3/library/secrets.html and https://github.com/acme/app/pull/42",
    "base64 payload aGVsbG8gd29ybGQ= decodes to hello world",
    "trace 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "def test_rejects_bad_token(client): assert client.post('/login').status_code == 401",
    "Use the token bucket algorithm for rate limiting with a secret sauce of retries",
    "PASS_RATE=0.95 and MAX_TOKENS=4096 in .env",
    "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata:\n  name: fleet",
    "FAILED tests/test_orders.py::test_case_03 - AssertionError: expected 400 got 500",
    "story-synth:decision.made:D12 by developer-1, qa-1",
    "skip-worktree; task-queue-latency; desk-lamp",
    "Authorization header is missing: send a bearer token",
    "BEGIN PUBLIC KEY is fine to share",
]


@pytest.mark.parametrize(
    ("text", "secret"), SECRETS, ids=[f"secret{i}" for i in range(len(SECRETS))]
)
def test_every_secret_in_the_corpus_is_masked(text, secret):
    masked, count = redact(text)
    assert secret not in masked, masked
    assert count >= 1 and "[REDACTED:" in masked


def test_corpus_recall_is_total_and_no_false_positives():
    recall = sum(redact(t)[1] > 0 and s not in redact(t)[0] for t, s in SECRETS) / len(SECRETS)
    false = [t for t in NON_SECRETS if redact(t) != (t, 0)]
    assert recall == 1.0
    assert false == []


def test_redaction_is_idempotent_and_keeps_surrounding_text():
    text = "deploy with DB_PASSWORD=hunter22 on commit 9fceb02d0ae598e95dc970b74767f19372d61af8"
    once, n = redact(text)
    assert n == 1 and redact(once) == (once, 0)
    assert once.startswith("deploy with DB_PASSWORD=") and once.endswith(
        "9fceb02d0ae598e95dc970b74767f19372d61af8"
    )


def test_logging_filter_masks_records_including_args_and_tracebacks():
    logger = logging.getLogger("fleet.test.redaction")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.warning("connecting with %s", "postgres://app:Xk9mP2vQzz@db:5432/x")
        try:
            raise ValueError(f"bad key {AWS_KEY}")
        except ValueError:
            logger.exception("failed")
        logger.info("nothing to hide %d", 42)
    finally:
        logger.removeHandler(handler)
    joined = "\n".join(records)
    assert "Xk9mP2vQzz" not in joined and "IOSFODNN7Q2XZ4LB" not in joined
    assert "[REDACTED:url_password]" in joined and "[REDACTED:aws_access_key]" in joined
    assert records[-1] == "nothing to hide 42"
