"""Text token counts without calling the API: the `estimate` command's prompt size."""

from __future__ import annotations

import math


def text_tokens(text: str) -> int:
    """Rough token count (4 characters a token), like Gemini's for English text."""
    return math.ceil(len(text) / 4)
