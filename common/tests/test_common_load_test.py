"""The benchmarks' closed-loop load: every request is sent once, at most `concurrency` at a time, and a
failing target is measured, never the end of the run."""

import asyncio

from agrorisk_common.load_test import closed_loop


def test_closed_loop_counts_errors_and_keeps_concurrency():
    in_flight, most, seen = 0, 0, []

    async def call(i: int) -> str | None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        seen.append(i)
        if i % 10 == 3:
            raise ConnectionError("refused")
        return "HTTP 503: busy" if i % 10 == 7 else None

    done = []
    stats = asyncio.run(closed_loop(call, requests=40, concurrency=4, on_done=lambda: done.append(1)))

    assert sorted(seen) == list(range(40)) and len(done) == 40
    assert most == 4
    assert stats.errors == 8
    assert stats.error_samples == ["ConnectionError: refused", "HTTP 503: busy"]
    assert 0 < stats.throughput_rps < 40 / stats.wall_s  # only the 32 answered well count
    assert 0 < stats.p50_ms <= stats.p95_ms <= stats.p99_ms <= stats.max_ms
