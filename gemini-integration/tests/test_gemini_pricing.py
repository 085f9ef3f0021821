"""Cost: USD from usage_metadata and pricing.json, exactly; token estimates per image."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from agrorisk_gemini.estimate import estimate_scenarios, image_tokens
from agrorisk_gemini.models import KNOWN_MODELS, find_model
from agrorisk_gemini.pricing import CostMode, PriceTable, Usage, default_price_table
from agrorisk_gemini.settings import GeminiSettings


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


def test_every_known_model_has_a_price_row_with_its_source_date_and_note():
    prices = default_price_table()
    missing = [model for model in KNOWN_MODELS if model not in prices.models]
    assert missing == [], f"add a row to pricing.json (with source and date) for: {', '.join(missing)}"
    assert set(prices.models) == set(KNOWN_MODELS), "a priced model is missing from agrorisk_gemini.models"
    for model, price in prices.models.items():
        assert price.source.startswith("https://ai.google.dev/gemini-api/docs/pricing#"), model
        assert isinstance(price.checked_on, date) and price.note.strip(), model


def test_a_price_row_without_source_or_date_does_not_load(tmp_path):
    row = {"input": "1", "output": "2", "cached_input": "0.1", "cache_storage_per_hour": None}
    row |= {"batch_discount": "0.5", "note": "n"}
    for missing in ({"checked_on": "2026-12-02"}, {"source": "https://ai.google.dev/x"}):
        path = tmp_path / "pricing.json"
        path.write_text(json.dumps({"source": "s", "checked_on": "d", "models": {"m": row | missing}}))
        with pytest.raises(ValidationError):
            PriceTable.load(path)


def test_unknown_models_are_refused_by_the_prices_and_the_settings():
    prices = default_price_table()
    assert prices.price("models/gemini-2.5-flash-001") is prices.price("gemini-2.5-flash")
    assert prices.price("gemini-3.1-pro-preview-customtools") is prices.price("gemini-3.1-pro-preview")
    assert find_model("gemini-2.5-flash-image") is None  # an image-generation model, not 2.5 Flash
    with pytest.raises(KeyError, match="no price for model"):
        prices.cost("gemini-0-imaginary", Usage())
    with pytest.raises(ValidationError, match="unknown Gemini model 'gemini-3-pro-preview'; known: "):
        GeminiSettings(_env_file=None, model="gemini-3-pro-preview")  # shut down on 2026-03-09


def test_an_unconfirmed_storage_price_is_left_out_not_guessed():
    prices = default_price_table()
    assert prices.cache_storage_cost("gemini-3.5-flash", 1_000_000, 1) is None
    assert prices.cache_storage_cost("gemini-2.5-flash", 1_000_000, 1) == Decimal("1.00")
    scenarios = estimate_scenarios(prices, "gemini-3.5-flash", 10, 1120, prompt_tokens=3000)
    cached = [s for s in scenarios if "context cache" in s.name]
    assert cached and all(s.cache_storage_usd is None and s.total_usd > 0 for s in cached)


def test_usage_from_sdk_metadata_treats_missing_counts_as_zero():
    from google.genai import types

    meta = types.GenerateContentResponseUsageMetadata(prompt_token_count=300, candidates_token_count=20)
    assert Usage.from_metadata(meta) == Usage(prompt_tokens=300, candidates_tokens=20)
    assert Usage.from_metadata(None) == Usage()


def test_gemini_2_image_tokens_follow_the_tiling_rule():
    assert image_tokens("gemini-2.5-flash", 384, 384) == 258
    assert image_tokens("gemini-2.5-flash", 1024, 768) == 2 * 258
    assert image_tokens("gemini-2.5-pro", 4000, 3000) == 6 * 4 * 258
    assert image_tokens("gemini-2.5-flash-lite", 4000, 3000, "low") == 64
    assert image_tokens("gemini-2.5-flash", 4000, 3000, "medium") == 256


def test_gemini_3_image_tokens_follow_the_media_resolution_not_the_size():
    for model in ("gemini-3-flash-preview", "gemini-3.1-pro-preview", "gemini-3.8-flash"):
        assert image_tokens(model, 80, 60) == image_tokens(model, 4000, 3000) == 1120  # unspecified = high
        assert [image_tokens(model, 4000, 3000, r) for r in ("low", "medium", "high")] == [280, 560, 1120]


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
