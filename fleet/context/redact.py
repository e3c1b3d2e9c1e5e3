"""Secret redaction for everything that enters a prompt, an event or a log line.

``redact(text) -> (text, count)`` masks credentials with ``[REDACTED:<kind>]``.
The rules are shape-based (known key prefixes, PEM blocks, credentials in URLs,
secret-named assignments), not entropy-based, so commit hashes, UUIDs, ids and
version strings survive. Redacting twice changes nothing (masks are not re-masked).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

MASK = "[REDACTED:{}]"

_SECRET_WORDS = (
    r"password|passwd|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|client[_-]?secret|auth[_-]?token|access[_-]?token|refresh[_-]?token|session[_-]?token|token|credentials?"
)
# a value worth masking: not a placeholder, not a mask, at least 8 visible characters
_VALUE = r"(?![\[$<*{%])[^\s\"'`,;()<>{}\[\]]{8,}"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_.]*")
_HARMLESS = {
    "true",
    "false",
    "none",
    "null",
    "changeme",
    "redacted",
    "required",
    "optional",
    "disabled",
    "enabled",
}

# (kind, pattern, group to mask or 0 for the whole match); order matters: specific before generic
_RULES: list[tuple[str, re.Pattern[str], int]] = [
    (
        "private_key",
        re.compile(
            # ((?: BLOCK)?) not ( BLOCK)?: a backreference to a group that did not take part never
            # matches, so the complete-block branch would never fire and the truncated-block branch
            # would swallow the ordinary lines after the key
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----.*?-----END \1PRIVATE KEY\2-----"
            r"|-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----[^\n]*(?:\n[A-Za-z0-9+/=:\-, ]+)+",
            re.S,
        ),
        0,
    ),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    (
        "openai_key",
        re.compile(
            r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-[a-z0-9]+-)?[A-Za-z0-9_-]{20,}"
        ),
        0,
    ),
    ("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), 0),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"), 0),
    (
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        0,
    ),
    ("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), 0),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}"), 0),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), 0),
    # a credential after an auth scheme has a digit; prose like "token internationalization" has none
    (
        "bearer",
        re.compile(
            r"(?i)\b(?:bearer|basic|token)\s+((?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}=*)"
        ),
        1,
    ),
    ("url_password", re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]*:([^\s@/]+)@"), 1),
    (
        "env_secret",
        re.compile(
            r"(?m)^[ \t]*(?:export[ \t]+)?[A-Z][A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|API_?KEY"
            r"|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?|DSN)[A-Z0-9_]*[ \t]*=[ \t]*[\"']?((?![\[$<*{%])[^\s\"'#]{4,})"
        ),
        1,
    ),
    (
        "assignment",
        re.compile(
            rf"(?i)(?:{_SECRET_WORDS})[\w-]*[\"']?[ \t]*(?::|=|=>|:=)[ \t]*([\"']?)({_VALUE})"
        ),
        2,
    ),
]


# cheap substring checks that gate each rule: most text holds no trigger, so most regexes never run
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "private_key": ("PRIVATE KEY",),
    "jwt": ("eyJ",),
    "openai_key": ("sk-",),
    "stripe_key": ("_live_", "_test_"),
    "aws_access_key": ("AKIA", "ASIA", "ABIA", "ACCA"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "slack_token": ("xox",),
    "slack_webhook": ("hooks.slack.com",),
    "google_api_key": ("AIza",),
    "bearer": ("bearer", "basic", "token"),
    "url_password": ("://",),
    "env_secret": ("=",),
    "assignment": ("pass", "pwd", "secret", "key", "token", "credential"),
}
_LOWERED = {"bearer", "assignment"}


def _harmless(m: re.Match[str], value: str, *, quoted: bool) -> bool:
    """Values of secret-named keys that are not secrets: numbers, flags, UUIDs, code."""
    if value.lower() in _HARMLESS or value.replace(".", "").isdigit() or _UUID.fullmatch(value):
        return True
    if quoted:
        return False
    # unquoted code: `token = self.token`, `tokenizer=GGUFTokenizer(...)`, `key: value_name`
    follows = m.string[m.end() : m.end() + 1]
    return follows == "(" or _IDENT.fullmatch(value) is not None


def _masker(kind: str, group: int, counter: list[int]) -> Callable[[re.Match[str]], str]:
    def repl(m: re.Match[str]) -> str:
        value = m.group(group)
        if kind in {"assignment", "env_secret"} and _harmless(
            m, value, quoted=kind == "env_secret" or bool(m.group(1))
        ):
            return m.group(0)
        counter[0] += 1
        if group == 0:
            return MASK.format(kind)
        start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
        whole = m.group(0)
        return whole[:start] + MASK.format(kind) + whole[end:]

    return repl


def redact(text: str) -> tuple[str, int]:
    """Mask every secret in ``text``; return the masked text and how many were masked."""
    if not text:
        return text, 0
    counter = [0]
    lowered = text.lower()
    for kind, pattern, group in _RULES:
        hay = lowered if kind in _LOWERED else text
        if any(t in hay for t in _TRIGGERS[kind]):
            text = pattern.sub(_masker(kind, group, counter), text)
            lowered = text.lower() if counter[0] else lowered
    return text, counter[0]


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message of every record.

    Attach it to a handler (``handler.addFilter(RedactingFilter())``) so that
    records from any library are masked before they are written.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        masked, count = redact(record.getMessage())
        if count:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)[0]
        return True
