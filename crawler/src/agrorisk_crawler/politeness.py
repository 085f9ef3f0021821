"""Polite HTTP: a per-host request rate, timeouts, and retries with exponential backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from icrawler.utils import ProxyPool, Session
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class HostRateLimiter:
    """At most `rate` requests per second to any one host, shared by all threads.

    Each caller books the next free slot for its host under a lock and sleeps outside it,
    so threads fetching from different hosts never wait on each other.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> float:
        """Block until a request to `host` is allowed; the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


class PoliteSession(Session):
    """icrawler's Session with a per-host rate limit, a default timeout and retries with backoff.

    Retried: connection errors, timeouts, HTTP 429 and 5xx (honouring Retry-After up to 30 s).
    Every attempt waits for its host's rate-limit slot.
    """

    def __init__(
        self,
        limiter: HostRateLimiter,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        user_agent: str,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(ProxyPool())
        self.limiter, self.timeout_s, self.retries, self.backoff_s = limiter, timeout_s, retries, backoff_s
        self._sleep = sleep
        self.headers.update({"User-Agent": user_agent, "Accept-Language": "uk,en;q=0.8"})
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout_s
        host = urlsplit(url).netloc
        for attempt in range(self.retries):
            self.limiter.wait(host)
            try:
                response = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                log.debug("%s %s failed (%s); retrying", method, url, type(exc).__name__)
                self._sleep(self.backoff_s * 2**attempt)
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            response.close()
            self._sleep(self._retry_delay(response, attempt))
        self.limiter.wait(host)
        return super().request(method, url, *args, **kwargs)

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        backoff = self.backoff_s * 2**attempt
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(max(backoff, float(retry_after)), MAX_RETRY_AFTER_S)
        return backoff
