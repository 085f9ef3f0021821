"""Two backend replicas on one S3 bucket (moto's S3 server, as in the minio-storage tests) see each
other's feedback and prediction log; an S3 that is down costs the log, never the answer."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest

from agrorisk_common.ports import free_port
from agrorisk_devtools.gemini_standin import finding
from agrorisk_devtools.s3 import moto_s3
from agrorisk_storage import S3ObjectStore, StorageSettings

SECRET = "shared-store-secret-key"
RUST = "wheat-leaf-rust"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """`host:port` of moto's S3 server on loopback (the minio-storage suite's stand-in)."""
    with moto_s3() as endpoint:
        yield endpoint


def storage_at(endpoint: str, tmp_path) -> StorageSettings:
    suffix = uuid.uuid4().hex[:10]
    return StorageSettings(
        endpoint=endpoint,
        access_key="test",
        secret_key=SECRET,
        models_bucket=f"models-{suffix}",
        datasets_bucket=f"datasets-{suffix}",
        local_root=tmp_path / "registry",
        cache_dir=tmp_path / "cache",
        _env_file=None,
    )


@pytest.fixture
def s3(s3_endpoint, tmp_path) -> tuple[StorageSettings, str]:
    """Storage settings for moto and a bucket of this test's own."""
    return storage_at(s3_endpoint, tmp_path), f"shared-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def replicas(make_client, s3, tmp_path):
    """Two apps with the same S3 settings and data folders of their own, as behind nginx."""
    storage, bucket = s3
    return [
        make_client(
            storage_settings=storage, data_dir=tmp_path / name, shared_store="s3", shared_bucket=bucket
        )
        for name in ("replica-a", "replica-b")
    ]


def bucket_of(s3) -> S3ObjectStore:
    storage, bucket = s3
    return S3ObjectStore.from_settings(storage, bucket)


def upload(data: bytes) -> dict:
    return {"file": ("leaf.jpg", data, "image/jpeg")}


def test_feedback_sent_to_one_replica_is_seen_by_the_other(replicas, s3, leaf, leaf_jpeg):
    a, b = replicas
    first = a.post("/v1/feedback", files=upload(leaf), data={"verdict": "wrong", "correct_risk_id": RUST})
    second = b.post("/v1/feedback", files=upload(leaf_jpeg(1)), data={"verdict": "right", "comment": "так"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)

    for replica in (a, b):
        seen = replica.app.state.services.feedback.records()
        assert [r.id for r in seen] == [first.json()["id"], second.json()["id"]]
        assert seen[0].correct_risk_id == RUST and seen[1].comment == "так"
    bucket = bucket_of(s3)
    assert bucket.get_bytes(f"feedback/{first.json()['image_file']}") == leaf
    assert bucket.get_bytes(f"feedback/{second.json()['image_file']}") == leaf_jpeg(1)
    for replica in (a, b):
        assert not replica.app.state.services.settings.feedback_dir.exists(), "nothing written locally"


def test_predictions_logged_by_one_replica_are_read_by_the_other(replicas, s3, fake_gemini, leaf, leaf_jpeg):
    a, b = replicas
    fake_gemini.set_answer(leaf, [finding(RUST, [100, 200, 400, 500], 0.8)])
    compare = a.post("/v1/compare", files=upload(leaf))
    predict = b.post("/v1/predict", files=upload(leaf_jpeg(2)))
    assert compare.status_code == predict.status_code == 200, (compare.text, predict.text)
    compare_id, predict_id = compare.json()["request_id"], predict.json()["request_id"]

    for replica in (a, b):
        records = replica.app.state.services.recognition.prediction_log.read()
        assert [(r["request_id"], r["source"]) for r in records] == [
            (compare_id, "yolo"), (compare_id, "gemini"), (predict_id, "yolo")
        ]  # fmt: skip
        assert replica.app.state.services.recognition.prediction_log.read(limit=1, sources=["gemini"]) == [
            records[1]
        ]
    bucket = bucket_of(s3)
    keys = bucket.list_keys("prediction-log/")
    record_keys = [k for k in keys if not k.startswith("prediction-log/images/")]
    assert len(record_keys) == 3 and all(k.endswith(".json") for k in record_keys), "one object per record"
    logged_photo = records[0]["image_path"]
    assert bucket.get_bytes(f"prediction-log/{logged_photo}") == leaf
    for replica in (a, b):
        assert not replica.app.state.services.settings.prediction_log_dir.exists(), "nothing written locally"


def test_s3_down_answers_predictions_and_refuses_feedback_without_secrets(
    make_client, tmp_path, leaf, caplog
):
    down = storage_at(f"127.0.0.1:{free_port()}", tmp_path)  # nothing listens there
    client = make_client(storage_settings=down, shared_store="s3")
    caplog.set_level(logging.INFO)

    predict = client.post("/v1/predict", files=upload(leaf))
    assert predict.status_code == 200, predict.text
    assert predict.json()["detections"], "the answer does not depend on the log"
    assert "record(s) of " + predict.json()["request_id"] + " lost" in caplog.text

    feedback = client.post("/v1/feedback", files=upload(leaf), data={"verdict": "wrong"})
    assert feedback.status_code == 503
    assert feedback.json()["kind"] == "unavailable"
    assert "feedback" in caplog.text and "not saved" in caplog.text
    for text in (caplog.text, predict.text, feedback.text):
        assert SECRET not in text


def test_s3_shared_store_needs_an_s3_endpoint(make_client, tmp_path):
    local = StorageSettings(endpoint="", local_root=tmp_path / "registry", _env_file=None)
    with pytest.raises(ValueError, match="AGRORISK_STORAGE_ENDPOINT"):
        make_client(storage_settings=local, shared_store="s3")


def test_local_folders_that_cannot_be_written_fail_the_same_way(make_client, tmp_path, leaf, caplog):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("prediction-log", "feedback"):
        (data / name).write_text("a file where the folder should be")
    client = make_client(data_dir=data)
    predict = client.post("/v1/predict", files=upload(leaf))
    assert predict.status_code == 200, predict.text
    assert "record(s) of " + predict.json()["request_id"] + " lost" in caplog.text
    feedback = client.post("/v1/feedback", files=upload(leaf), data={"verdict": "wrong"})
    assert feedback.status_code == 503 and feedback.json()["kind"] == "unavailable"
