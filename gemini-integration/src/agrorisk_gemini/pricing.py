"""Cost of Gemini calls in USD, from `usage_metadata` and the price table in `pricing.json`.

Prices are kept as Decimal strings so a cost is exact: tests compare to the cent fraction.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agrorisk_gemini.models import find_model

MILLION = Decimal(1_000_000)


class CostMode(StrEnum):
    """How a request is billed: interactive (`standard`) or through the Batch API (`batch`)."""

    STANDARD = "standard"
    BATCH = "batch"


class ModelPrice(BaseModel):
    """USD per 1M tokens for one model (text/image/video input share one rate)."""

    model_config = ConfigDict(frozen=True)

    input: Decimal
    output: Decimal = Field(description="answer and thinking tokens")
    cached_input: Decimal
    cache_storage_per_hour: Decimal | None = Field(description="None where the price is not confirmed")
    batch_discount: Decimal = Field(
        ge=0, le=1, description="fraction taken off input and output in batch mode"
    )
    long_context_threshold: int | None = None
    long_input: Decimal | None = None
    long_output: Decimal | None = None
    long_cached_input: Decimal | None = None
    source: str
    checked_on: date
    note: str = Field(min_length=1, description="how far these figures are confirmed, and by what")

    def rates(self, prompt_tokens: int) -> tuple[Decimal, Decimal, Decimal]:
        """(input, output, cached input) rates for this prompt size (long-context tier above threshold)."""
        if self.long_context_threshold is not None and prompt_tokens > self.long_context_threshold:
            return (
                self.long_input or self.input,
                self.long_output or self.output,
                self.long_cached_input or self.cached_input,
            )
        return self.input, self.output, self.cached_input


class Usage(BaseModel):
    """Token counts of one call, as Gemini reports them (`prompt_tokens` includes cached tokens)."""

    prompt_tokens: int = 0
    candidates_tokens: int = 0
    thoughts_tokens: int = 0
    cached_tokens: int = 0

    @classmethod
    def from_metadata(cls, metadata: Any) -> Usage:
        """From the SDK's `usage_metadata` (None-safe: missing counts are zero)."""
        if metadata is None:
            return cls()
        return cls(
            prompt_tokens=metadata.prompt_token_count or 0,
            candidates_tokens=metadata.candidates_token_count or 0,
            thoughts_tokens=metadata.thoughts_token_count or 0,
            cached_tokens=metadata.cached_content_token_count or 0,
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in Usage.model_fields})


class CostBreakdown(BaseModel):
    """The USD cost of one call, part by part."""

    model: str
    mode: CostMode
    input_usd: Decimal
    cached_input_usd: Decimal
    output_usd: Decimal
    thinking_usd: Decimal

    @property
    def total(self) -> Decimal:
        return self.input_usd + self.cached_input_usd + self.output_usd + self.thinking_usd

    @property
    def total_usd(self) -> float:
        return float(self.total)


class PriceTable(BaseModel):
    """The whole pricing file: models by id, plus where the prices come from."""

    source: str
    checked_on: str
    models: dict[str, ModelPrice]

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """The table from `path`, or the one shipped with this package."""
        text = path.read_text() if path else resources.files(__package__).joinpath("pricing.json").read_text()
        data = json.loads(text)
        return cls(source=data["source"], checked_on=data["checked_on"], models=data["models"])

    def price(self, model: str) -> ModelPrice:
        """Prices of `model` (a `models/` prefix and a `-001`-style version suffix are ignored)."""
        known = find_model(model)
        name = known.id if known else model.removeprefix("models/")
        if name in self.models:
            return self.models[name]
        raise KeyError(f"no price for model {model!r}; known: {', '.join(self.models)} (see pricing.json)")

    def cost(self, model: str, usage: Usage, mode: CostMode = CostMode.STANDARD) -> CostBreakdown:
        """Cost of one call: fresh input, cached input, answer and thinking tokens at their rates."""
        price = self.price(model)
        input_rate, output_rate, cached_rate = price.rates(usage.prompt_tokens)
        factor = Decimal(1) - price.batch_discount if mode is CostMode.BATCH else Decimal(1)
        fresh_input = max(0, usage.prompt_tokens - usage.cached_tokens)
        return CostBreakdown(
            model=model,
            mode=mode,
            input_usd=Decimal(fresh_input) * input_rate * factor / MILLION,
            cached_input_usd=Decimal(usage.cached_tokens) * cached_rate / MILLION,
            output_usd=Decimal(usage.candidates_tokens) * output_rate * factor / MILLION,
            thinking_usd=Decimal(usage.thoughts_tokens) * output_rate * factor / MILLION,
        )

    def cache_storage_cost(self, model: str, cached_tokens: int, hours: float) -> Decimal | None:
        """What keeping `cached_tokens` in a context cache for `hours` costs (None: price not confirmed)."""
        price = self.price(model)
        if price.cache_storage_per_hour is None:
            return None
        return Decimal(cached_tokens) * price.cache_storage_per_hour * Decimal(str(hours)) / MILLION


@cache
def default_price_table() -> PriceTable:
    return PriceTable.load()
