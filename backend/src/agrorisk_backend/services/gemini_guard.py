"""Gemini that fails fast: a total deadline per call (retries and the wait for a concurrency slot
included) and a circuit breaker, so a down Gemini costs a request at most the deadline — and nothing
while the breaker is open — and never holds up the local model's half of an answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agrorisk_common.detection import Prediction
from agrorisk_gemini.client import GeminiDetector


@dataclass
class CircuitBreaker:
    """Opens after `failures` calls in a row fail and stays open `open_s` seconds; then one trial
    call goes through (half-open): its success closes the breaker, its failure opens it again."""

    failures: int
    open_s: float
    clock: Callable[[], float] = time.monotonic
    failed_in_a_row: int = 0
    last_reason: str = ""
    _opened_at: float | None = field(default=None, repr=False)
    _trial_running: bool = field(default=False, repr=False)

    def refusal(self) -> str | None:
        """Why a call must not be made now, or None — and then the caller must report the outcome
        (`succeeded`, `failed` or `abandoned`)."""
        if self._opened_at is None:
            return None
        left = self.open_s - (self.clock() - self._opened_at)
        if left > 0:
            return (
                f"circuit open after {self.failed_in_a_row} failures in a row, last: {self.last_reason}; "
                f"next try in {left:.0f} s"
            )
        if self._trial_running:
            return f"circuit half-open, a trial call is in flight; last failure: {self.last_reason}"
        self._trial_running = True
        return None

    def blocked(self) -> str | None:
        """Like `refusal`, without claiming the trial call (for health reports)."""
        if self._opened_at is None:
            return None
        left = self.open_s - (self.clock() - self._opened_at)
        return self.refusal() if left > 0 or self._trial_running else None

    def succeeded(self) -> None:
        self.failed_in_a_row, self._opened_at, self._trial_running = 0, None, False

    def failed(self, reason: str) -> None:
        self.failed_in_a_row += 1
        self.last_reason, self._trial_running = reason, False
        if self.failed_in_a_row >= self.failures:
            self._opened_at = self.clock()

    def abandoned(self) -> None:
        """The call never reached Gemini (the photo was refused first, or the request was cancelled)."""
        self._trial_running = False


class GuardedGemini:
    """`GeminiDetector` behind a total deadline and a circuit breaker; a `DetectorClient`."""

    name = "gemini"

    def __init__(self, detector: GeminiDetector, deadline_s: float, breaker: CircuitBreaker):
        self.detector = detector
        self.deadline_s = deadline_s
        self.breaker = breaker

    async def predict(self, image: bytes) -> Prediction:
        if not self.detector.settings.configured:
            return await self.detector.predict(image)  # says "not configured" at once
        refusal = self.breaker.refusal()
        if refusal is not None:
            return self.detector.failed(f"Gemini skipped: {refusal}")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.deadline_s):
                result = await self.detector.predict_detailed(image)
        except TimeoutError:
            reason = f"Gemini did not answer within {self.deadline_s:g} s"
            self.breaker.failed(reason)
            return self.detector.failed(reason).model_copy(
                update={"latency_ms": (time.perf_counter() - started) * 1000}
            )
        except Exception as exc:
            self.breaker.failed(type(exc).__name__)
            raise
        except BaseException:
            self.breaker.abandoned()
            raise
        if result.attempts == 0:  # refused before any call (a photo Gemini does not take)
            self.breaker.abandoned()
        elif result.cost is None:  # asked, and no answer came back
            self.breaker.failed(result.prediction.error or "no answer")
        else:
            self.breaker.succeeded()
        return result.prediction

    async def state(self, probe_timeout_s: float = 5.0) -> str:
        """`ok`, `not configured`, or `unavailable (<reason>)` — for /readyz; no call while open."""
        if not self.detector.settings.configured:
            return "not configured"
        blocked = self.breaker.blocked()
        if blocked is not None:
            return f"unavailable ({blocked})"
        try:
            async with asyncio.timeout(min(probe_timeout_s, self.deadline_s)):
                ok = await self.detector.health()
        except TimeoutError:
            ok = False
        return "ok" if ok else "unavailable (no answer to a model lookup)"

    async def health(self) -> bool:
        return await self.state() == "ok"

    async def aclose(self) -> None:
        await self.detector.aclose()
