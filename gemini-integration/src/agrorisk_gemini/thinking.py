"""How much a model thinks: the one setting (`thinking_budget`) turned into what each family accepts.

Gemini 2.5 takes `thinking_budget` (2.5 Pro: 128–32768 and never 0; Flash: 0–24576; Flash-Lite:
0 or 512–24576). Gemini 3 takes `thinking_level` and cannot turn thinking off, so a budget of 0
becomes the model's lowest level. Rules: <https://ai.google.dev/gemini-api/docs/thinking>.
`thinking_refusal` is the API's side of the same rules, for the local stand-in.
"""

from __future__ import annotations

from typing import Any

from google.genai import types

from agrorisk_gemini.models import GeminiModel, model_info

# Budgets up to these many tokens ask for "low" / "medium"; more asks for "high" (our convention).
LOW_BUDGET = 1024
MEDIUM_BUDGET = 8192
LEVEL_ORDER = ("minimal", "low", "medium", "high")
THINKING_ONLY = "Budget 0 is invalid. This model only works in thinking mode."
LEVEL_UNSUPPORTED = "Thinking level is not supported for this model."


def thinking_config(model: str, budget: int | None) -> types.ThinkingConfig | None:
    """The ThinkingConfig to send so that `model` thinks about `budget` tokens (None: model default).

    0 means as little as the model allows and -1 lets the model decide; a budget outside a 2.5
    model's range is clamped into it. Nothing is sent that the API would refuse for this model.
    """
    spec = model_info(model)
    if budget is None or (budget == -1 and spec.levels):
        return None
    if spec.levels:
        return types.ThinkingConfig(thinking_level=types.ThinkingLevel(_level_for(spec, budget).upper()))
    if budget == -1 or (budget == 0 and spec.thinking_off):
        return types.ThinkingConfig(thinking_budget=budget)
    assert spec.budget_range is not None  # every known model has thinking levels or a budget range
    low, high = spec.budget_range
    return types.ThinkingConfig(thinking_budget=min(max(budget, low), high))


def _level_for(spec: GeminiModel, budget: int) -> str:
    """The lowest level the model accepts at or above the one this budget asks for."""
    if budget == 0:
        wanted = "minimal"
    elif budget <= LOW_BUDGET:
        wanted = "low"
    else:
        wanted = "medium" if budget <= MEDIUM_BUDGET else "high"
    at_or_above = LEVEL_ORDER[LEVEL_ORDER.index(wanted) :]
    return next((level for level in at_or_above if level in spec.levels), spec.levels[-1])


def thinking_refusal(model: GeminiModel, config: dict[str, Any]) -> str | None:
    """The message of the 400 the real API answers to this REST `thinkingConfig`, or None if accepted.

    THINKING_ONLY, LEVEL_UNSUPPORTED and the out-of-range message are the API's own words (seen in
    error reports); the wording of the other refusals is modelled on them.
    """
    # Proto JSON takes either spelling; google-genai sends the snake_case one inside thinkingConfig.
    budget = config.get("thinkingBudget", config.get("thinking_budget"))
    level = config.get("thinkingLevel", config.get("thinking_level"))
    if level is not None and budget is not None:
        return "thinking_budget and thinking_level cannot be set in the same request."
    if level is not None:
        if not model.levels:
            return LEVEL_UNSUPPORTED
        if str(level).lower() not in model.levels:
            return f"Thinking level {level} is not supported for this model."
        return None
    if budget is None:
        return None
    if not model.accepts_budget:
        return "Thinking budget is not supported for this model. Use thinking level instead."
    if budget == -1:
        return None
    if budget == 0:
        return None if model.thinking_off else THINKING_ONLY
    if model.budget_range and not model.budget_range[0] <= budget <= model.budget_range[1]:
        low, high = model.budget_range
        return f"The thinking budget {budget} is invalid. Please choose a value between {low} and {high}."
    return None
