"""Cost estimates before spending: tokens per image and USD per N photos for each way of asking."""

from __future__ import annotations

import math
from decimal import Decimal

from pydantic import BaseModel

from agrorisk_gemini.pricing import CostMode, PriceTable, Usage

SMALL_IMAGE_MAX_SIDE = 384
TILE_SIDE = 768
TOKENS_PER_TILE = 258
MEDIA_RESOLUTION_TOKENS = {"low": 64, "medium": 256}


def image_tokens(width: int, height: int, media_resolution: str = "unspecified") -> int:
    """Tokens one image costs on Gemini 2.x: 258 when both sides <= 384 px, else 258 per 768x768 tile.

    `low`/`medium` media resolution fix the count at 64/256. Gemini 3 models count differently
    (a fixed budget per image by media resolution); the real count is in each call's usage_metadata.
    """
    if media_resolution in MEDIA_RESOLUTION_TOKENS:
        return MEDIA_RESOLUTION_TOKENS[media_resolution]
    if width <= SMALL_IMAGE_MAX_SIDE and height <= SMALL_IMAGE_MAX_SIDE:
        return TOKENS_PER_TILE
    return math.ceil(width / TILE_SIDE) * math.ceil(height / TILE_SIDE) * TOKENS_PER_TILE


class Scenario(BaseModel):
    name: str
    mode: CostMode
    usage_per_image: Usage
    cache_storage_usd: Decimal = Decimal(0)
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
        total = prices.cost(model, per_image, mode).total * n_images + storage
        scenarios.append(
            Scenario(
                name=name, mode=mode, usage_per_image=per_image, cache_storage_usd=storage, total_usd=total
            )
        )
    return scenarios
