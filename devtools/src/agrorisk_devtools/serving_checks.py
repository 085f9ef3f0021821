"""What the serving tests check of Ray and Triton alike: a served answer is the in-process detector's
answer, and a promoted version is served without a dropped request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from agrorisk_common.detection import Prediction, match_by_iou
from agrorisk_common.serving import DetectorClient


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


async def predict_until_served(
    client: DetectorClient,
    images: Sequence[bytes],
    version: str,
    promote: Callable[[], object],
    timeout_s=60.0,
) -> list[Prediction]:
    """Call `promote`, then send the images (twice each, at once) again and again until the last
    answer comes from `version` or `timeout_s` passes; every answer, in order. Closes the client."""
    predictions: list[Prediction] = []
    try:
        promote()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = await asyncio.gather(*(client.predict(image) for image in [*images, *images]))
            predictions.extend(batch)
            if batch[-1].model_version == version:
                break
    finally:
        await client.aclose()
    return predictions
