"""Where the prediction log and the feedback live: folders under the data dir (one backend), or one
S3/MinIO bucket on the registry's endpoint (`AGRORISK_STORAGE_*`) that every replica shares."""

from __future__ import annotations

import logging
from typing import NamedTuple

from agrorisk_backend.services.feedback_store import FeedbackStore, FolderFeedbackStore, ObjectFeedbackStore
from agrorisk_backend.services.prediction_log import FolderPredictionLog, ObjectPredictionLog, PredictionLog
from agrorisk_backend.settings import Settings
from agrorisk_storage import S3ObjectStore, StorageSettings

log = logging.getLogger(__name__)


class SharedStores(NamedTuple):
    prediction_log: PredictionLog
    feedback: FeedbackStore


def open_shared_stores(settings: Settings, storage: StorageSettings) -> SharedStores:
    """The stores `AGRORISK_BACKEND_SHARED_STORE` selects; `s3` without an S3 endpoint is refused."""
    if settings.shared_store == "local":
        assert settings.prediction_log_dir is not None, "filled in by the settings' validators"
        return SharedStores(
            FolderPredictionLog(settings.prediction_log_dir, settings.log_images),
            FolderFeedbackStore(settings.feedback_dir),
        )
    if not storage.uses_s3:
        raise ValueError("AGRORISK_BACKEND_SHARED_STORE=s3 needs the S3 endpoint AGRORISK_STORAGE_ENDPOINT")
    bucket = S3ObjectStore.from_settings(storage, settings.shared_bucket)
    log.info("prediction log and feedback in %s (shared by every replica)", bucket.location)
    return SharedStores(ObjectPredictionLog(bucket, settings.log_images), ObjectFeedbackStore(bucket))
