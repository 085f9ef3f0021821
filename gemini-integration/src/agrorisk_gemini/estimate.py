"""Cost estimates before spending: tokens per image and USD per N photos for each way of asking."""

from __future__ import annotations

import math
from decimal import Decimal

from pydantic import BaseModel

from agrorisk_gemini.models import model_info
from agrorisk_gemini.pricing import CostMode, PriceTable, Usage

SMALL_IMAGE_MAX_SIDE = 384
TILE_SIDE = 768
TOKENS_PER_TILE = 258
MEDIA_RESOLUTION_TOKENS = {
    2: {"low": 64, "medium": 256},
    3: {"low": 280, "medium": 560, "high": 1120, "unspecified": 1120},
}


def image_tokens(model: str, width: int, height: int, media_resolution: str = "unspecified") -> int:
    """Input tokens one image costs on `model`, before the call (the real count is in usage_metadata).

    Gemini 2.x: 258 when both sides are <= 384 px, else 258 per 768x768 tile
    (<https://ai.google.dev/gemini-api/docs/tokens>); media resolution `low`/`medium` fix it at 64/256.
    Gemini 3: a fixed budget by media resolution, at most 280/560/1120 for low/medium/high, and high
    when unspecified (<https://ai.google.dev/gemini-api/docs/media-resolution#token-counts>).
    """
    fixed = MEDIA_RESOLUTION_TOKENS[model_info(model).generation]
    if media_resolution in fixed:
        return fixed[media_resolution]
    if width <= SMALL_IMAGE_MAX_SIDE and height <= SMALL_IMAGE_MAX_SIDE:
        return TOKENS_PER_TILE
    return math.ceil(width / TILE_SIDE) * math.ceil(height / TILE_SIDE) * TOKENS_PER_TILE


class Scenario(BaseModel):
    name: str
    mode: CostMode
    usage_per_image: Usage
    cache_storage_usd: Decimal | None = Decimal(0)
    """None where the model's storage price is not confirmed; total_usd then leaves it out."""
    total_usd: Decimal = Decimal(0)


def estimate_scenarios(
    prices: PriceTable,
    model: str,
    n_images: int,
    tokens_per_image: int,
    prompt_tokens: int,
    output_tokens: int = 80,
    thinking_tokens: int = 0,
    few_shot_examples: int = 0,
    cache_hours: float = 1.0,
) -> list[Scenario]:
    """USD for `n_images` photos: zero-shot, few-shot, with a context cache, and through the Batch API."""
    example_tokens = few_shot_examples * (tokens_per_image + 40)  # each example: photo + its JSON answer
    query = tokens_per_image + 5
    shared = prompt_tokens + example_tokens

    def usage(cached: int) -> Usage:
        return Usage(
            prompt_tokens=shared + query,
            candidates_tokens=output_tokens,
            thoughts_tokens=thinking_tokens,
            cached_tokens=cached,
        )

    label = f"few-shot ({few_shot_examples} examples)" if few_shot_examples else "zero-shot"
    plans = [
        (label, CostMode.STANDARD, usage(0), False),
        (f"{label} + batch", CostMode.BATCH, usage(0), False),
        (f"{label} + context cache", CostMode.STANDARD, usage(shared), True),
        (f"{label} + context cache + batch", CostMode.BATCH, usage(shared), True),
    ]
    scenarios = []
    for name, mode, per_image, cached in plans:
        storage = prices.cache_storage_cost(model, shared, cache_hours) if cached else Decimal(0)
        total = prices.cost(model, per_image, mode).total * n_images + (storage or 0)
        scenarios.append(
            Scenario(
                name=name, mode=mode, usage_per_image=per_image, cache_storage_usd=storage, total_usd=total
            )
        )
    return scenarios
