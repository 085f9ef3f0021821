"""Recognises crop risks with Google Gemini: structured output, cost accounting, evaluation.

The local stand-in for Gemini's REST API (tests, demos) is dev-only: `agrorisk_devtools.gemini_standin`.
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
