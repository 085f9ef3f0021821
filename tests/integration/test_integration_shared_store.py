"""Two backend replicas write the prediction log and feedback into one S3 bucket (moto's server); the
pipeline mirrors it and its drift, active-learning and feedback readers see every replica's records."""

from __future__ import annotations

import asyncio
import io
import random

from PIL import Image

from agrorisk_backend.services.feedback_store import FeedbackIn, ObjectFeedbackStore
from agrorisk_backend.services.prediction_log import ObjectPredictionLog
from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.features import image_features
from agrorisk_common.prediction_log import read_records
from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.s3 import moto_s3
from agrorisk_pipeline.active_learning import read_feedback
from agrorisk_pipeline.settings import Settings
from agrorisk_pipeline.shared_store import mirror_if_shared
from agrorisk_storage import S3ObjectStore, StorageSettings


def _photo(seed: int) -> tuple[bytes, Image.Image]:
    image, _ = draw_leaf(0, random.Random(seed), 96)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue(), image


async def _replica_writes(bucket: S3ObjectStore, seed: int) -> None:
    """What one backend replica stores for one compare and one correction."""
    data, image = _photo(seed)
    answer = Prediction(
        source="yolo",
        model_version="v2",
        detections=[
            Detection(risk_id="wheat-leaf-rust", confidence=0.8, box=Box(x1=0.1, y1=0.1, x2=0.5, y2=0.5))
        ],
    )
    await ObjectPredictionLog(bucket).record(
        request_id=f"req-{seed}", image=data, mime_type="image/jpeg", features=image_features(image),
        predictions=[answer],
    )  # fmt: skip
    await ObjectFeedbackStore(bucket).save(
        FeedbackIn(verdict="wrong", request_id=f"req-{seed}"), data, "image/jpeg"
    )


def test_the_pipeline_reads_every_replicas_records_from_the_shared_bucket(tmp_path):
    with moto_s3() as endpoint:
        storage = StorageSettings(endpoint=endpoint, access_key="test", secret_key="test-secret")
        bucket = S3ObjectStore.from_settings(storage, "agrorisk-shared")
        for seed in (1, 2):  # two replicas, one answer and one correction each
            asyncio.run(_replica_writes(bucket, seed))
        settings = Settings(
            shared_store="s3", prediction_log_dir=tmp_path / "log", feedback_dir=tmp_path / "feedback"
        )
        first = mirror_if_shared(settings, storage)
        again = mirror_if_shared(settings, storage)

    assert first is not None and (first.records, first.feedback) == (2, 2)
    assert again is not None and (again.records, again.feedback) == (0, 0)  # each object once
    records = list(read_records(settings.prediction_log_dir))
    assert sorted(r["request_id"] for r in records) == ["req-1", "req-2"]
    assert all((settings.prediction_log_dir / r["image_path"]).is_file() for r in records)
    feedback = read_feedback(settings.feedback_dir)
    assert sorted(f["request_id"] for f in feedback) == ["req-1", "req-2"]
    assert all((settings.feedback_dir / f["image_file"]).is_file() for f in feedback)
    assert mirror_if_shared(Settings(), storage) is None  # local store: nothing to mirror
