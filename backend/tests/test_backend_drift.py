"""GET /v1/drift and /v1/drift/report: the pipeline's latest drift verdict and its Evidently page."""

from __future__ import annotations

from agrorisk_devtools.drift_report import publish_drift
from agrorisk_storage import StorageSettings


def test_the_latest_drift_verdict_and_its_report_are_served_sandboxed(make_client, tmp_path):
    storage = StorageSettings(local_root=tmp_path / "root", cache_dir=tmp_path / "cache")
    client = make_client(storage_settings=storage)
    before = client.get("/v1/drift")
    assert before.status_code == 404 and before.json()["kind"] == "not_found"
    assert "no drift report yet" in before.json()["detail"]

    publish_drift(storage)
    summary = client.get("/v1/drift").json()
    assert summary["status"] == "drift" and summary["drifted_columns"] == ["brightness", "n_boxes"]
    assert summary["has_report"] and summary["reference_model_version"] == "v1"
    report = client.get("/v1/drift/report")
    assert report.status_code == 200 and "<title>Evidently</title>" in report.text
    assert report.headers["content-type"].startswith("text/html")
    assert report.headers["content-security-policy"] == "sandbox allow-scripts"

    publish_drift(storage, html=None)  # a run too small for Evidently's page: the verdict alone
    assert client.get("/v1/drift").json()["has_report"] is False
    missing = client.get("/v1/drift/report")
    assert missing.status_code == 404 and "no HTML report" in missing.json()["detail"]


def test_a_shared_store_that_does_not_answer_is_a_503_not_a_crash(make_client):
    down = StorageSettings(endpoint="127.0.0.1:9", access_key="a", secret_key="b")
    answer = make_client(storage_settings=down).get("/v1/drift")
    assert answer.status_code == 503 and answer.json()["kind"] == "unavailable"
    assert "shared store unavailable" in answer.json()["detail"]
