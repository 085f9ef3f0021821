"""Opportunistic batching: while a batch runs, requests wait; when it ends, every waiting request (up to
the batch size) forms the next one. With no wait set, a lone request never waits for company.

Ray Serve's `@serve.batch` (2.60) forms a batch as soon as one request arrives and only then queues it
for a free slot (ray-project/ray#53096), so with no batch wait every request ran as a batch of one;
waiting for company instead delays a lone request by the whole wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence


class WhenFree[T, R]:
    """Calls `run` on one batch at a time; `await batcher(item)` gives that item's result."""

    def __init__(
        self, run: Callable[[list[T]], Awaitable[Sequence[R]]], max_batch_size: int, wait_s: float = 0.0
    ):
        self.run = run
        self.max_batch_size = max_batch_size
        self.wait_s = wait_s  # how long a batch that is not full waits for more requests
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.full = asyncio.Event()
        self.worker: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if len(self.waiting) >= self.max_batch_size:
            self.full.set()
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work())
        return await future

    async def _work(self) -> None:
        while self.waiting:
            if self.wait_s and len(self.waiting) < self.max_batch_size:
                self.full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.full.wait(), self.wait_s)
            taken = [(i, f) for i, f in self.waiting[: self.max_batch_size] if not f.cancelled()]
            del self.waiting[: self.max_batch_size]
            if not taken:
                continue
            try:
                results = await self.run([item for item, _ in taken])
            except Exception as exc:  # every request of the batch gets the failure, the batcher goes on
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                if not future.done():
                    future.set_result(result)
