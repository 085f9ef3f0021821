"""The Gemini models this package accepts, and what each one allows.

Thinking rules: <https://ai.google.dev/gemini-api/docs/thinking> (2.5 budgets, Gemini 3 levels;
reviewed 2026-12-02 through third-party copies of the page and API error reports, see README).
Every model here must have a row in `pricing.json`; a test checks both ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Same model, same price: a pinned version, the -preview of a model now GA, a tool-use variant.
VARIANT_SUFFIX = re.compile(r"-(\d{3}|preview|customtools)$")
FLASH_LEVELS = ("minimal", "low", "medium", "high")
# "minimal" is not listed (or not confirmed) for these; "low", "medium" and "high" are.
NO_MINIMAL = ("low", "medium", "high")


@dataclass(frozen=True)
class GeminiModel:
    """One model id: how it counts image tokens and which thinking settings the API takes."""

    id: str
    generation: int
    budget_range: tuple[int, int] | None = None
    """Gemini 2.5: the thinking_budget values accepted besides -1 (dynamic) and 0."""
    thinking_off: bool = False
    """Gemini 2.5 Flash / Flash-Lite: a budget of 0 turns thinking off."""
    levels: tuple[str, ...] = ()
    """Gemini 3: the thinking_level values accepted, lowest first."""
    accepts_budget: bool = True
    """False where thinking_level replaced thinking_budget (Gemini 3.5 and later)."""


KNOWN_MODELS = {
    m.id: m
    for m in (
        GeminiModel("gemini-2.5-pro", 2, budget_range=(128, 32768)),
        GeminiModel("gemini-2.5-flash", 2, budget_range=(1, 24576), thinking_off=True),
        GeminiModel("gemini-2.5-flash-lite", 2, budget_range=(512, 24576), thinking_off=True),
        GeminiModel("gemini-3-flash-preview", 3, levels=FLASH_LEVELS),
        GeminiModel("gemini-3.1-pro-preview", 3, levels=NO_MINIMAL),
        GeminiModel("gemini-3.1-flash-lite", 3, levels=FLASH_LEVELS),
        GeminiModel("gemini-3.5-flash", 3, levels=FLASH_LEVELS, accepts_budget=False),
        GeminiModel("gemini-3.5-flash-lite", 3, levels=NO_MINIMAL, accepts_budget=False),
        GeminiModel("gemini-3.6-flash", 3, levels=FLASH_LEVELS, accepts_budget=False),
        GeminiModel("gemini-3.7-flash", 3, levels=NO_MINIMAL, accepts_budget=False),
        GeminiModel("gemini-3.8-flash", 3, levels=NO_MINIMAL, accepts_budget=False),
    )
}


def find_model(name: str) -> GeminiModel | None:
    """The model for `name`; a `models/` prefix and a variant suffix (`-001`, `-customtools`) are ignored."""
    bare = name.removeprefix("models/")
    return KNOWN_MODELS.get(bare) or KNOWN_MODELS.get(VARIANT_SUFFIX.sub("", bare))


def model_info(name: str) -> GeminiModel:
    """Like `find_model`, but an unknown model is an error that lists the known ones."""
    model = find_model(name)
    if model is None:
        raise KeyError(f"unknown Gemini model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    return model
