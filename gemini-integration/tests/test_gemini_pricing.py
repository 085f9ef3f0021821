"""Cost: USD from usage_metadata and pricing.json, exactly; token estimates per image."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agrorisk_gemini.estimate import estimate_scenarios, image_tokens
from agrorisk_gemini.pricing import CostMode, PriceTable, Usage, default_price_table


def test_cost_matches_the_price_table_exactly():
    # gemini-2.5-flash: input 0.30, output (and thinking) 2.50, cached input 0.03 USD per 1M tokens.
    usage = Usage(prompt_tokens=1290, candidates_tokens=120, thoughts_tokens=200, cached_tokens=1000)
    cost = default_price_table().cost("gemini-2.5-flash", usage)
    assert cost.input_usd == Decimal("0.000087")  # (1290 - 1000) * 0.30 / 1e6
    assert cost.cached_input_usd == Decimal("0.00003")  # 1000 * 0.03 / 1e6
    assert cost.output_usd == Decimal("0.0003")  # 120 * 2.50 / 1e6
    assert cost.thinking_usd == Decimal("0.0005")  # 200 * 2.50 / 1e6
    assert cost.total == Decimal("0.000917")


def test_batch_mode_halves_fresh_input_and_output_but_not_cached_input():
    usage = Usage(prompt_tokens=1290, candidates_tokens=120, thoughts_tokens=200, cached_tokens=1000)
    prices = default_price_table()
    batch = prices.cost("gemini-2.5-flash", usage, CostMode.BATCH)
    assert batch.input_usd == Decimal("0.0000435")
    assert batch.output_usd + batch.thinking_usd == Decimal("0.0004")
    assert batch.cached_input_usd == Decimal("0.00003")


def test_long_prompts_use_the_long_context_tier():
    prices = default_price_table()
    short = prices.cost("gemini-2.5-pro", Usage(prompt_tokens=200_000))
    long = prices.cost("gemini-2.5-pro", Usage(prompt_tokens=200_001))
    assert short.total == Decimal("0.25")  # 200k * 1.25 / 1e6
    assert long.total == Decimal("200001") * Decimal("2.50") / Decimal(1_000_000)


def test_every_model_names_its_source_and_date_and_unknown_models_are_refused():
    prices = default_price_table()
    for model, price in prices.models.items():
        assert price.source.startswith("https://ai.google.dev/"), model
        assert len(price.checked_on) == 10, model
    assert prices.price("models/gemini-2.5-flash-001") is prices.price("gemini-2.5-flash")
    with pytest.raises(KeyError, match="no price for model"):
        prices.cost("gemini-0-imaginary", Usage())


def test_usage_from_sdk_metadata_treats_missing_counts_as_zero():
    from google.genai import types

    meta = types.GenerateContentResponseUsageMetadata(prompt_token_count=300, candidates_token_count=20)
    assert Usage.from_metadata(meta) == Usage(prompt_tokens=300, candidates_tokens=20)
    assert Usage.from_metadata(None) == Usage()


def test_tokens_per_image_follow_the_tiling_rule():
    assert image_tokens(384, 384) == 258
    assert image_tokens(1024, 768) == 2 * 258
    assert image_tokens(4000, 3000) == 6 * 4 * 258
    assert image_tokens(4000, 3000, "low") == 64


def test_context_cache_and_batch_lower_the_estimate_for_1000_photos():
    prices = PriceTable.load()
    scenarios = estimate_scenarios(
        prices, "gemini-2.5-flash", 1000, 516, prompt_tokens=3000, few_shot_examples=3
    )
    totals = {s.name: s.total_usd for s in scenarios}
    plain = totals["few-shot (3 examples)"]
    assert totals["few-shot (3 examples) + batch"] == plain / 2
    assert totals["few-shot (3 examples) + context cache"] < plain
    assert totals["few-shot (3 examples) + context cache + batch"] < totals["few-shot (3 examples) + batch"]
