"""How icrawler's feeder, parser and downloader threads hand work on: every loop ends as soon as the
crawl is signalled to stop (`reach_max_num`: the risk is full or its engine is down)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

from icrawler import Downloader, Feeder, Parser

Stage = Feeder | Parser | Downloader


def taken(stage: Stage, upstream_exited: str, timeout: float) -> Iterator[Any]:
    """The items of the stage's in_queue, until the crawl stops, or the upstream threads are done (the
    signal `upstream_exited`, e.g. `feeder_exited`) and the queue stays empty for `timeout` seconds."""
    while not stage.signal.get("reach_max_num"):
        try:
            item = stage.in_queue.get(timeout=timeout)
        except queue.Empty:
            if stage.signal.get(upstream_exited):
                return
            continue
        yield item


def handed_on(stage: Stage, item: Any, timeout: float) -> bool:
    """Put `item` on the stage's out_queue, again while it is full; False when the crawl stopped first."""
    while not stage.signal.get("reach_max_num"):
        try:
            stage.output(item, timeout=timeout)
            return True
        except queue.Full:
            continue
    return False
