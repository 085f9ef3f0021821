"""Recognises crop risks with Google Gemini: structured output, cost accounting, evaluation.

`agrorisk_gemini.testing.FakeGeminiServer` is a local stand-in for Gemini's REST API for tests.
"""

from agrorisk_gemini.client import NOT_CONFIGURED, GeminiDetector, GeminiResult
from agrorisk_gemini.pricing import CostMode, PriceTable, Usage
from agrorisk_gemini.settings import GeminiSettings

__all__ = [
    "NOT_CONFIGURED",
    "CostMode",
    "GeminiDetector",
    "GeminiResult",
    "GeminiSettings",
    "PriceTable",
    "Usage",
]
