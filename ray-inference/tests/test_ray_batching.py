"""The replica's batching: a lone request runs at once; requests that come while the model works run
together next; a failing batch fails only its own requests; a request that gave up is left out."""

from __future__ import annotations

import asyncio

import pytest

from agrorisk_ray.batching import WhenFree


class SlowModel:
    """Doubles numbers, 50 ms a batch; remembers every batch; fails batches holding a negative."""

    def __init__(self):
        self.batches: list[list[int]] = []

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await asyncio.sleep(0.05)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return [2 * i for i in items]


def test_a_lone_request_runs_at_once_and_those_that_wait_run_together():
    async def scenario():
        model = SlowModel()
        batcher = WhenFree(model, max_batch_size=4)
        started = asyncio.get_running_loop().time()
        assert await batcher(1) == 2
        alone_s = asyncio.get_running_loop().time() - started
        first = asyncio.create_task(batcher(10))
        await asyncio.sleep(0.01)  # the first batch is running now
        rest = await asyncio.gather(*(batcher(i) for i in range(20, 26)))
        return model.batches, alone_s, await first, rest

    batches, alone_s, first, rest = asyncio.run(scenario())
    assert alone_s < 0.09  # one batch time, no wait for company
    assert first == 20 and rest == [40, 42, 44, 46, 48, 50]
    assert batches == [[1], [10], [20, 21, 22, 23], [24, 25]]


def test_a_failing_batch_fails_its_requests_only_and_a_timed_out_request_is_left_out():
    async def scenario():
        model = SlowModel()
        batcher = WhenFree(model, max_batch_size=8)
        busy = asyncio.create_task(batcher(0))
        await asyncio.sleep(0.01)
        bad = asyncio.gather(batcher(-1), batcher(3), return_exceptions=True)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(batcher(99), 0.02)  # gives up while waiting
        bad_results = await bad
        after = await batcher(5)
        return model.batches, await busy, bad_results, after

    batches, busy, bad_results, after = asyncio.run(scenario())
    assert busy == 0 and after == 10
    assert [type(r) for r in bad_results] == [ValueError, ValueError]
    assert batches == [[0], [-1, 3], [5]]  # 99 never reached the model


def test_a_wait_lets_a_batch_fill_but_a_full_batch_goes_at_once():
    async def scenario():
        model = SlowModel()
        batcher = WhenFree(model, max_batch_size=3, wait_s=0.03)
        one = asyncio.create_task(batcher(1))
        await asyncio.sleep(0.01)
        two = await asyncio.gather(batcher(2), batcher(3), batcher(4))
        return model.batches, await one, two

    batches, one, two = asyncio.run(scenario())
    assert (one, two) == (2, [4, 6, 8])
    assert batches == [[1, 2, 3], [4]]
