"""Run async code from sync code, also where an event loop already runs in this thread
(a notebook, Dagster's in-process executor under a test runner, a sync Playwright session)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any


def run_sync[T](coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)`, or the same on a worker thread when this thread's loop is busy."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
