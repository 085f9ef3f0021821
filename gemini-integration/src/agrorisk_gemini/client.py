"""`GeminiDetector`: asks Gemini which catalog risks a photo shows; the `DetectorClient` shape.

Failures come back as a `Prediction` with `error` set, never as an exception: a down Gemini must
not take the rest of the app with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx2
from google import genai
from google.genai import errors, types

from agrorisk_common.catalog import Catalog, Risk
from agrorisk_common.detection import Prediction
from agrorisk_common.images import ImageRejected, decode_image
from agrorisk_gemini.answer import CheckedAnswer, ValidationIssue, check_answer
from agrorisk_gemini.few_shot import FewShotExample, example_contents
from agrorisk_gemini.pricing import CostBreakdown, CostMode, PriceTable, Usage, default_price_table
from agrorisk_gemini.prompt import build_instruction
from agrorisk_gemini.request import generation_config, image_part, query_contents
from agrorisk_gemini.settings import GeminiSettings

try:  # the SDK uses aiohttp for async calls when it is installed, httpx2 otherwise
    import aiohttp

    TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, httpx2.TransportError, aiohttp.ClientError)
except ImportError:  # pragma: no cover - depends on the environment
    TRANSPORT_ERRORS = (OSError, httpx2.TransportError)

log = logging.getLogger(__name__)

NOT_CONFIGURED = "Gemini is not configured (set GEMINI_API_KEY)"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
SOURCE = "gemini"


class GeminiCallFailed(Exception):
    """A call that failed for good (after retries, or at once for a non-retryable answer)."""

    def __init__(self, message: str, attempts: int):
        self.attempts = attempts
        super().__init__(message)


@dataclass(frozen=True)
class PreparedRequest:
    """What goes to `generateContent` for one photo, plus the photo's size."""

    contents: list[types.Content]
    config: types.GenerateContentConfig
    width: int
    height: int


@dataclass
class GeminiResult:
    """One photo's prediction plus what it took: tokens, cost, attempts and answer problems."""

    prediction: Prediction
    usage: Usage = field(default_factory=Usage)
    cost: CostBreakdown | None = None
    issues: list[ValidationIssue] = field(default_factory=list)
    attempts: int = 0


def select_risks(catalog: Catalog, risk_ids: Sequence[str]) -> list[Risk]:
    return catalog.select(ids=risk_ids) if risk_ids else list(catalog)


class GeminiDetector:
    """Recognises catalog risks with Gemini (async, bounded concurrency, retries, cost per call)."""

    name = SOURCE

    def __init__(
        self,
        settings: GeminiSettings,
        catalog: Catalog,
        examples: Sequence[FewShotExample] = (),
        prices: PriceTable | None = None,
    ):
        self.settings = settings
        self.risks = select_risks(catalog, settings.risk_ids)
        self.class_map = catalog.class_map(self.risks)
        self.instruction = build_instruction(self.risks)
        self.examples = list(examples)
        self.prices = prices or default_price_table()
        self.prices.price(settings.model)  # an unpriced model fails at start, not after the first call
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._cache_lock = asyncio.Lock()
        self._cache_name: str | None = None
        self._client = self._make_client() if settings.configured else None

    def _make_client(self) -> genai.Client:
        s = self.settings
        assert s.api_key is not None  # only called when settings.configured
        # One try per SDK call: our own loop retries within the deadline. Without retry options the SDK
        # sleeps 1-10 s and tries again on a refused connection, behind our back.
        options = types.HttpOptions(
            base_url=s.base_url, api_version=s.api_version, retry_options=types.HttpRetryOptions(attempts=1)
        )
        return genai.Client(api_key=s.api_key.get_secret_value(), http_options=options)

    @property
    def genai_client(self) -> genai.Client:
        """The google-genai client, for requests `prepare` let through (it refuses them without a key)."""
        if self._client is None:
            raise RuntimeError(NOT_CONFIGURED)
        return self._client

    @property
    def model_version(self) -> str:
        return self.settings.model

    async def predict(self, image: bytes) -> Prediction:
        """The `DetectorClient` call: detections, latency and cost, or `error` saying what went wrong."""
        return (await self.predict_detailed(image)).prediction

    async def predict_detailed(self, image: bytes) -> GeminiResult:
        """Like `predict`, with token usage, the cost breakdown, attempts and answer validation issues."""
        prepared = await self.prepare(image)
        if isinstance(prepared, Prediction):
            return GeminiResult(prediction=prepared)
        async with self._semaphore:
            started = time.perf_counter()
            try:
                response, attempts = await self._generate(prepared.contents, prepared.config)
            except GeminiCallFailed as exc:
                log.warning("Gemini call failed after %d attempt(s): %s", exc.attempts, exc)
                return GeminiResult(prediction=self.failed(str(exc)), attempts=exc.attempts)
            latency_ms = (time.perf_counter() - started) * 1000
        return self.read_response(response, prepared, CostMode.STANDARD, latency_ms, attempts)

    async def prepare(self, image: bytes) -> PreparedRequest | Prediction:
        """The request for one photo, or a failed Prediction (not configured, not an acceptable image)."""
        if self._client is None:
            return self.failed(NOT_CONFIGURED)
        try:  # decoding a large photo is CPU work: keep it off the event loop
            decoded = await asyncio.to_thread(decode_image, image, self.settings.max_image_bytes)
            photo = await asyncio.to_thread(image_part, image, decoded)
        except ImageRejected as exc:
            return self.failed(str(exc))
        cache_name = await self._ensure_cache()
        examples = [] if cache_name else example_contents(self.examples)
        return PreparedRequest(
            contents=query_contents(examples, photo),
            config=generation_config(self.settings, self.instruction, cache_name),
            width=decoded.width,
            height=decoded.height,
        )

    def read_response(
        self,
        response: types.GenerateContentResponse,
        prepared: PreparedRequest,
        mode: CostMode,
        latency_ms: float | None = None,
        attempts: int = 1,
    ) -> GeminiResult:
        """Validate Gemini's answer and price the call."""
        usage = Usage.from_metadata(response.usage_metadata)
        cost = self.prices.cost(self.settings.model, usage, mode)
        checked = check_answer(response.text, self.class_map)
        prediction = self._prediction(checked, latency_ms, cost.total_usd, prepared.width, prepared.height)
        return GeminiResult(prediction, usage, cost, checked.issues, attempts)

    def _prediction(
        self, checked: CheckedAnswer, latency_ms: float | None, cost_usd: float, width: int, height: int
    ) -> Prediction:
        error = None
        if checked.malformed:
            error = f"Gemini's answer could not be read: {checked.issues[0].detail}"
        return Prediction(
            source=SOURCE,
            detections=checked.detections,
            model_version=self.model_version,
            latency_ms=latency_ms,
            cost_usd=cost_usd,
            image_width=width,
            image_height=height,
            error=error,
        )

    def failed(self, message: str) -> Prediction:
        return Prediction(source=SOURCE, model_version=self.model_version, error=message)

    async def _generate(
        self, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> tuple[types.GenerateContentResponse, int]:
        """One `generateContent` with timeout and exponential backoff on 408/429/5xx and lost connections."""
        s = self.settings
        delay, reason = s.backoff_initial_s, ""
        for attempt in range(1, s.max_attempts + 1):
            try:
                async with asyncio.timeout(s.timeout_s):
                    response = await self.genai_client.aio.models.generate_content(
                        model=s.model, contents=contents, config=config
                    )
                return response, attempt
            except errors.APIError as exc:
                if exc.code not in RETRYABLE_STATUS:
                    raise GeminiCallFailed(
                        f"Gemini refused the request ({exc.code} {exc.status or ''}): {exc.message}", attempt
                    ) from None
                reason = f"Gemini answered {exc.code} {exc.status or ''}".rstrip()
            except TimeoutError:
                reason = f"Gemini did not answer within {s.timeout_s:g} s"
            except TRANSPORT_ERRORS as exc:
                reason = f"cannot reach Gemini ({type(exc).__name__})"
            log.info("Gemini attempt %d/%d: %s", attempt, s.max_attempts, reason)
            if attempt < s.max_attempts:
                await asyncio.sleep(min(delay, s.backoff_max_s))
                delay *= s.backoff_multiplier
        raise GeminiCallFailed(f"{reason} (gave up after {s.max_attempts} attempts)", s.max_attempts)

    async def _ensure_cache(self) -> str | None:
        """The context cache holding the instruction and examples, created once when `use_cache` is on.

        A cache that can't be made (too few tokens for the model's minimum, quota) is logged and the
        detector goes on without one.
        """
        if not self.settings.use_cache:
            return None
        async with self._cache_lock:
            if self._cache_name is None:
                config = types.CreateCachedContentConfig(
                    system_instruction=self.instruction,
                    contents=example_contents(self.examples) or None,
                    ttl=f"{self.settings.cache_ttl_s}s",
                    display_name="agrorisk-catalog-prompt",
                )
                try:
                    cache = await self.genai_client.aio.caches.create(
                        model=self.settings.model, config=config
                    )
                    self._cache_name = cache.name
                    log.info("Gemini context cache %s created", cache.name)
                except (errors.APIError, *TRANSPORT_ERRORS) as exc:
                    log.warning("Gemini context cache not created, sending the full prompt: %s", exc)
                    self._cache_name = ""
            return self._cache_name or None

    async def health(self) -> bool:
        """True when a key is set and Gemini answers a model lookup."""
        if self._client is None:
            return False
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                await self._client.aio.models.get(model=self.settings.model)
        except (errors.APIError, TimeoutError, *TRANSPORT_ERRORS):
            return False
        return True

    async def aclose(self) -> None:
        """Delete the context cache (it is billed per hour) and close the HTTP client."""
        if self._client is None:
            return
        if self._cache_name:
            try:
                await self._client.aio.caches.delete(name=self._cache_name)
            except (errors.APIError, *TRANSPORT_ERRORS) as exc:
                log.warning("Gemini context cache %s not deleted: %s", self._cache_name, exc)
            self._cache_name = None
        await self._client.aio.aclose()
