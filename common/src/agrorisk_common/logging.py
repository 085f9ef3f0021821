"""One logging setup for every service: readable lines, secrets redacted."""

from __future__ import annotations

import logging
import os
import re

_SECRET_PATTERNS = (
    re.compile(r"(?i)((?:api[_-]?key|secret[_-]?key|password|token|authorization)\s*[=:]\s*)(\S+)"),
    re.compile(r"(?i)(x-goog-api-key['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}]+)"),
    re.compile(r"(key=)([A-Za-z0-9_\-]{16,})"),
)


QUIET_CLIENT_LOGGERS = ("httpx", "httpcore")


def redact(text: str) -> str:
    """The text with anything that looks like a key, token or password replaced by ***."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str | int | None = None) -> None:
    """Root logging to stderr at `level` (default `$AGRORISK_LOG_LEVEL` or INFO), secrets redacted."""
    level = level or os.environ.get("AGRORISK_LOG_LEVEL", "INFO")
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if isinstance(level, int) else level.upper())
    # httpx logs every request it sends at INFO: noise in a service's log and CPU in a load test.
    for name in QUIET_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
