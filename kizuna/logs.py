"""Structured logs: one JSON object per line on standard error, with secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

_STANDARD = set(vars(logging.makeLogRecord({})))
REDACTED = "[redacted]"
# the password of a URL (postgres://user:password@host/…)
_URL_PASSWORD = (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]*):[^@\s/'\"]*@"), r"\1:***@")

# Credentials that can reach a log line without Kizuna knowing them in advance: a library's
# exception or a refused request quoting a header, a URL or a token.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "Authorization: …", "'Authorization': '…'", "authorization=…" (the whole value, whatever the scheme)
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|bot|basic)\s+)?[^\s'\",;}]+"),
     rf"\1{REDACTED}"),
    # an HTTP credential on its own; long enough that prose ("a Bearer token") is left alone
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\bBot\s+[A-Za-z0-9._-]{20,}"), f"Bot {REDACTED}"),
    # a JWT (header.payload.signature, base64url, the header always starts {" → eyJ)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    _URL_PASSWORD,
    # Discord interaction tokens travel in webhook and callback URLs
    (re.compile(r"(/webhooks/\d+/)[^/\s?'\"]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/interactions/\d+/)[^/\s?'\"]+"), rf"\1{REDACTED}"),
    # an Ed25519 signature in hex (X-Signature-Ed25519)
    (re.compile(r"\b[0-9a-fA-F]{128}\b"), REDACTED),
)

# Settings whose values are secrets, by name; and the shortest value worth looking for (a one-letter
# "password" would blank every such letter in the logs).
_SECRET_NAMES = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET_LENGTH = 6


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***`` (for messages that name a database)."""
    return _URL_PASSWORD[0].sub(_URL_PASSWORD[1], url)


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The secret values among settings: variables named like secrets, and passwords inside URLs."""
    found: set[str] = set()
    for name, value in environ.items():
        value = (value or "").strip()
        if _SECRET_NAMES.search(name):
            found.add(value)
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.add(password)
    return sorted((s for s in found if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


class Redactor:
    """Removes known secret values and anything shaped like a credential from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [s for s in secrets if s]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", …extra fields, "exc"}``, redacted."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        entry.update({k: self.redact(v) if isinstance(v, str) else v
                      for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.redact(self.formatException(record.exc_info))
        # Extra fields that are not strings are only turned into text here.
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(level: str = "INFO", *, environ: Mapping[str, str] | None = None) -> None:
    """Send every log record to standard error as JSON, without the secrets found in ``environ``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(Redactor(secrets_in(environ or {}))))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    # The SDKs are chatty at INFO.
    for noisy in ("msrest", "msal", "urllib3", "aiohttp.access", "tortoise"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # asyncpg's pool logs a traceback each time it fails to reconnect; core.outage logs the outage once.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
