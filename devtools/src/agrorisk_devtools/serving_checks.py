"""What the serving tests check of Ray and Triton alike: a served answer is the in-process detector's
answer, and a promoted version is served without a dropped request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agrorisk_common.detection import Prediction, match_by_iou
from agrorisk_common.serving import DetectorClient
from agrorisk_storage import ModelRegistry

SMOKE_SERVER_SETTINGS: dict[str, Any] = {
    "conf_threshold": 0.001,  # a one-epoch model is unsure of everything; still returns real detections
    "max_batch_size": 4,
    "reload_interval_s": 0.5,
    "max_image_bytes": 300_000,
    "max_image_pixels": 1_000_000,
}
"""What the Ray and the Triton test servers share: settings for a smoke model and small photos."""


def assert_same_detections(served: Prediction, local: Prediction, conf_tolerance: float = 1e-4) -> None:
    """`served` answered, found something, and found what `local` found: the same boxes (IoU ≥ 0.99,
    same risk) with the same confidences, on an image of the same size."""
    assert served.error is None, served.error
    assert (served.image_width, served.image_height) == (local.image_width, local.image_height)
    assert len(served.detections) == len(local.detections) > 0, (served.detections, local.detections)
    pairs, unmatched_served, unmatched_local = match_by_iou(served.detections, local.detections, 0.99, True)
    assert not unmatched_served and not unmatched_local, (unmatched_served, unmatched_local)
    for pair in pairs:
        a, b = served.detections[pair.left], local.detections[pair.right]
        assert abs(a.confidence - b.confidence) <= conf_tolerance, (a, b)


def promote_while_serving(
    client: DetectorClient,
    images: Sequence[bytes],
    registry: ModelRegistry,
    files: Mapping[str, Path],
    metadata: Mapping[str, Any],
    served_version: Callable[[], str | None],
    timeout_s: float = 60.0,
) -> None:
    """Push `files` as a new version and promote it while the images are sent again and again (twice
    each, at once) until the last answer comes from it; production goes back to its earlier version
    afterwards. Checks that no request failed, that every answer came from the old or the new version,
    and that `served_version()` (asked before going back) names the new one. Closes the client."""
    before = registry.aliases()["production"]
    new = registry.push(files, metadata).version
    seen: list[str | None] = []

    async def run() -> list[Prediction]:
        predictions: list[Prediction] = []
        try:
            registry.promote(new, "production")
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                batch = await asyncio.gather(*(client.predict(image) for image in [*images, *images]))
                predictions.extend(batch)
                if batch[-1].model_version == new:
                    break
            seen.append(await asyncio.to_thread(served_version))
        finally:
            await client.aclose()
        return predictions

    try:
        predictions = asyncio.run(run())
    finally:
        registry.promote(before, "production")
    assert [p.error for p in predictions if p.error] == []
    assert predictions[-1].model_version == new == seen[0], (predictions[-1].model_version, new, seen)
    assert {p.model_version for p in predictions} <= {before, new}
