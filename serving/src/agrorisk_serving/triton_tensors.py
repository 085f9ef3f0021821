"""The tensors of the Triton model `agrorisk_detector`: the wire contract of its server and every client.

In: IMAGE (BYTES [1]: the encoded photo). Out per image: DETECTIONS (FP32 [max_det, 6]: x1 y1 x2 y2
normalised in the original image, confidence, class index; padded with -1), NUM_DETECTIONS (INT32 [1]),
IMAGE_SIZE (INT32 [2]: width, height), MODEL_VERSION (BYTES [1]), CLASS_NAMES (BYTES [1]: JSON list),
LATENCY_MS (FP32 [1]: server-side inference time) and ERROR (BYTES [1]: JSON {status, kind, detail}
or empty). A bad image fails only its own request, never the batch it was batched with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.images import ImageRejected

MODEL_NAME = "agrorisk_detector"
SOURCE = "yolo"
INPUT = "IMAGE"
OUTPUTS = (
    "DETECTIONS",
    "NUM_DETECTIONS",
    "IMAGE_SIZE",
    "MODEL_VERSION",
    "CLASS_NAMES",
    "LATENCY_MS",
    "ERROR",
)


def pack_outputs(
    results: Sequence[Prediction | ImageRejected], class_names: Sequence[str], max_detections: int
) -> dict[str, np.ndarray]:
    """Batched output arrays for one model call (one row per request)."""
    n = len(results)
    boxes = np.full((n, max_detections, 6), -1.0, dtype=np.float32)
    counts = np.zeros((n, 1), dtype=np.int32)
    sizes = np.zeros((n, 2), dtype=np.int32)
    versions = np.empty((n, 1), dtype=object)
    latency = np.zeros((n, 1), dtype=np.float32)
    errors = np.empty((n, 1), dtype=object)
    for i, result in enumerate(results):
        versions[i, 0], errors[i, 0] = b"", b""
        if isinstance(result, ImageRejected):
            errors[i, 0] = json.dumps(
                {"status": result.status, "kind": result.kind, "detail": str(result)}
            ).encode()
            continue
        detections = result.detections[:max_detections]
        for j, d in enumerate(detections):
            boxes[i, j] = (*d.box.as_tuple(), d.confidence, d.class_index)
        counts[i, 0] = len(detections)
        sizes[i] = (result.image_width, result.image_height)
        versions[i, 0] = (result.model_version or "").encode()
        latency[i, 0] = result.latency_ms or 0.0
    names = np.array([[json.dumps(list(class_names)).encode()]] * n, dtype=object)
    return {
        "DETECTIONS": boxes,
        "NUM_DETECTIONS": counts,
        "IMAGE_SIZE": sizes,
        "MODEL_VERSION": versions,
        "CLASS_NAMES": names,
        "LATENCY_MS": latency,
        "ERROR": errors,
    }


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def unpack_prediction(outputs: Mapping[str, np.ndarray]) -> Prediction:
    """One request's outputs (batch dimension 1) as the common Prediction."""
    error = _text(outputs["ERROR"].reshape(-1)[0])
    if error:
        reason = json.loads(error)
        return Prediction(
            source=SOURCE, error=f"Triton rejected the image ({reason['status']}): {reason['detail']}"
        )
    class_names = json.loads(_text(outputs["CLASS_NAMES"].reshape(-1)[0]))
    count = int(outputs["NUM_DETECTIONS"].reshape(-1)[0])
    rows = outputs["DETECTIONS"].reshape(-1, 6)[:count]
    width, height = (int(v) for v in outputs["IMAGE_SIZE"].reshape(-1)[:2])
    return Prediction(
        source=SOURCE,
        detections=[
            Detection(
                risk_id=class_names[int(c)],
                class_index=int(c),
                confidence=float(conf),
                box=Box.clipped(x1, y1, x2, y2),
            )
            for x1, y1, x2, y2, conf, c in rows
        ],
        model_version=_text(outputs["MODEL_VERSION"].reshape(-1)[0]) or None,
        latency_ms=float(outputs["LATENCY_MS"].reshape(-1)[0]),
        image_width=width,
        image_height=height,
    )
