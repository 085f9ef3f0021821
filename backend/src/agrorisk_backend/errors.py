"""The backend's refusals as values (`ApiError`), and the rule that no answer names a server path."""

from __future__ import annotations

import re

from agrorisk_common.logging import redact

# An absolute POSIX path that is not part of a URL (`http://h/x`, `s3://h/b`) or a relative path.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"(),;<>]+/)*([^\s/'\"(),;<>]+)/?")
_QUOTED_PATH = re.compile(r"(['\"])/(?:[^'\"\n]*/)?([^'\"\n/]*)\1")  # may hold spaces: '/a b/c.jpg'


class ApiError(Exception):
    """A request the backend refuses: HTTP status, a machine-readable kind, and a sentence for people.
    Raised by routes and services alike; the app answers it as `{"detail", "kind"}`."""

    def __init__(self, status: int, kind: str, detail: str):
        self.status, self.kind, self.detail = status, kind, detail
        super().__init__(detail)


def public_text(text: str) -> str:
    """Text fit for an API answer: secrets masked, every absolute server path cut to its last name
    (`no version v9 in /srv/agrorisk/registry` -> `no version v9 in registry`)."""
    text = _QUOTED_PATH.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}", redact(text))
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), text)
