"""Catalog, models, feedback, links, health, metrics, admin keys and the Swagger page."""

from __future__ import annotations

import json

import pytest

from agrorisk_storage import ModelRegistry, StorageSettings

ROUTES = {
    "/v1/predict",
    "/v1/gemini",
    "/v1/compare",
    "/v1/jobs",
    "/v1/jobs/{job_id}",
    "/v1/risks",
    "/v1/models",
    "/v1/models/{ref}/history",
    "/v1/drift",
    "/v1/drift/report",
    "/v1/feedback",
    "/v1/links",
    "/v1/admin/promote",
    "/v1/admin/retrain",
    "/healthz",
    "/readyz",
    "/metrics",
}


def test_swagger_lists_every_route(client):
    assert client.get("/docs").status_code == 200
    assert set(client.get("/openapi.json").json()["paths"]) >= ROUTES


def test_risk_catalog_is_searchable(client, catalog):
    everything = client.get("/v1/risks").json()
    assert len(everything) == len(catalog)
    assert all(card["guidance"]["source"] for card in everything if card["has_guidance"])
    rust = client.get("/v1/risks", params={"q": "Puccinia triticina"}).json()
    assert [c["id"] for c in rust] == ["wheat-leaf-rust"]
    assert rust[0]["crop_name_uk"] == "Пшениця озима"
    assert {c["crop"] for c in client.get("/v1/risks", params={"crop": "winter_wheat"}).json()} == {
        "winter_wheat"
    }
    assert client.get("/v1/risks", params={"crop": "banana"}).status_code == 422
    assert client.get("/v1/risks/wheat-leaf-rust").json()["name_en"] == "Wheat leaf rust"
    assert client.get("/v1/risks/nope").status_code == 404


def test_models_lists_registry_versions_and_aliases(client, class_names_in_registry):
    body = client.get("/v1/models").json()
    assert body["error"] is None and body["aliases"]["production"] == "v1"
    v1 = next(v for v in body["versions"] if v["version"] == "v1")
    assert "production" in v1["aliases"] and v1["class_names"] == class_names_in_registry
    assert {"best.onnx", "best.pt"} <= set(v1["files"])


def test_training_curves_of_a_version_come_from_its_run_files(client, make_client, tmp_path):
    """The production model's metrics.json rows (Ultralytics' results.csv of its real training run)."""
    body = client.get("/v1/models/production/history").json()
    assert body["version"] == "v1" and [row["epoch"] for row in body["epochs"]] == [1.0, 2.0]
    assert {"train/box_loss", "train/cls_loss", "metrics/mAP50(B)", "metrics/mAP50-95(B)"} <= set(
        body["epochs"][0]
    )
    assert body["epochs"][0]["train/box_loss"] > 0

    unknown = client.get("/v1/models/v99/history")
    assert unknown.status_code == 404 and unknown.json()["kind"] == "not_found"
    bare = StorageSettings(local_root=tmp_path / "bare", cache_dir=tmp_path / "cache")
    (tmp_path / "best.onnx").write_bytes(b"onnx")
    ModelRegistry.from_settings(bare).push({"best.onnx": tmp_path / "best.onnx"})
    without = make_client(storage_settings=bare).get("/v1/models/v1/history")
    assert without.status_code == 404 and "without metrics.json" in without.json()["detail"]
    down = StorageSettings(endpoint="127.0.0.1:9", access_key="k", secret_key="s3-secret")
    unreachable = make_client(storage_settings=down).get("/v1/models/production/history")
    assert unreachable.status_code == 503 and "s3-secret" not in unreachable.text


def test_an_offline_wandb_run_is_named_without_its_server_folder(make_client, tmp_path):
    storage = StorageSettings(local_root=tmp_path / "runs-registry", cache_dir=tmp_path / "cache")
    (tmp_path / "best.onnx").write_bytes(b"onnx")
    offline = "/srv/agrorisk/runs/finetune-v1/wandb/offline-run-20261203_142406-452zerpc"
    ModelRegistry.from_settings(storage).push({"best.onnx": tmp_path / "best.onnx"}, {"wandb_run": offline})
    response = make_client(storage_settings=storage).get("/v1/models")
    assert response.json()["versions"][0]["wandb_run"] == "offline-run-20261203_142406-452zerpc"
    assert "/srv/" not in response.text


def test_models_reports_a_down_registry_instead_of_failing(make_client):
    down = StorageSettings(endpoint="127.0.0.1:9", access_key="k", secret_key="s3-secret")
    response = make_client(storage_settings=down).get("/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["versions"] == [] and body["error"].startswith("registry unavailable: cannot reach S3")
    assert "s3-secret" not in response.text


def test_feedback_is_stored_with_the_photo(client, leaf):
    form = {
        "verdict": "wrong",
        "source": "gemini",
        "risk_id": "wheat-leaf-rust",
        "correct_risk_id": "wheat-septoria-leaf-blotch",
        "comment": "це септоріоз",
    }
    response = client.post("/v1/feedback", files={"file": ("leaf.jpg", leaf, "image/jpeg")}, data=form)
    assert response.status_code == 201, response.text
    record = response.json()
    folder = client.app.state.services.settings.feedback_dir
    stored = json.loads((folder / record["image_file"]).with_suffix(".json").read_text())
    assert stored["correct_risk_id"] == "wheat-septoria-leaf-blotch" and stored["comment"] == "це септоріоз"
    assert (folder / record["image_file"]).read_bytes() == leaf


def test_feedback_from_another_sites_page_is_refused_without_a_user_key(client, make_client, leaf):
    """A page elsewhere cannot fill the labelling queue: browsers send Origin on cross-site posts."""
    photo = {"file": ("leaf.jpg", leaf, "image/jpeg")}
    form = {"verdict": "right"}
    evil = client.post("/v1/feedback", files=photo, data=form, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["kind"] == "cross_origin"
    assert not list(client.app.state.services.settings.feedback_dir.rglob("*.json"))
    own = client.post("/v1/feedback", files=photo, data=form, headers={"Origin": "http://testserver"})
    assert own.status_code == 201, own.text
    assert client.post("/v1/feedback", files=photo, data=form).status_code == 201  # no Origin: not a browser
    public = make_client(public_base_url="https://agrorisk.example/")
    headers = {"Origin": "https://agrorisk.example"}
    assert public.post("/v1/feedback", files=photo, data=form, headers=headers).status_code == 201
    keyed = make_client(api_key="user-key")
    headers = {"Origin": "https://evil.example", "X-API-Key": "user-key"}
    assert keyed.post("/v1/feedback", files=photo, data=form, headers=headers).status_code == 201


@pytest.mark.parametrize(
    "form", [{"verdict": "maybe"}, {"verdict": "wrong", "correct_risk_id": "unicorn-blight"}]
)
def test_bad_feedback_is_422(client, leaf, form):
    response = client.post("/v1/feedback", files={"file": ("leaf.jpg", leaf, "image/jpeg")}, data=form)
    assert response.status_code == 422


def test_links_default_to_gateway_paths_and_follow_settings(make_client):
    default = make_client().get("/v1/links").json()
    assert default["swagger"] == "/docs" and default["dagster"] == "/dagster/"
    assert set(default) >= {
        "minio_console",
        "wandb",
        "label_studio",
        "ray_dashboard",
        "triton_metrics",
        "optuna_dashboard",
    }
    custom = (
        make_client(
            public_base_url="https://agro.example",
            links={"dagster": "/dagster/", "wandb": "http://wandb:8080"},
        )
        .get("/v1/links")
        .json()
    )
    assert custom == {"dagster": "https://agro.example/dagster/", "wandb": "http://wandb:8080"}


def test_links_come_from_the_environment(make_client, monkeypatch):
    monkeypatch.setenv("AGRORISK_BACKEND_PUBLIC_BASE_URL", "http://gw:8088")
    assert make_client().get("/v1/links").json()["swagger"] == "http://gw:8088/docs"


def test_health_and_readiness(make_client):
    client = make_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["gemini"] == "ok"
    assert ready.json()["status"] == "ok"
    down = make_client(ray_url="http://127.0.0.1:9").get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["local_model"] == "ray: unreachable"
    assert down.json()["kind"] == "not_ready" and "local model server (ray)" in down.json()["detail"]


def test_metrics_count_predictions_by_source(client, leaf):
    client.post("/v1/compare", files={"file": ("leaf.jpg", leaf, "image/jpeg")})
    metrics = client.get("/metrics").text
    assert 'agrorisk_predictions_total{outcome="ok",source="yolo"} 1.0' in metrics
    assert 'agrorisk_predictions_total{outcome="ok",source="gemini"} 1.0' in metrics
    assert 'agrorisk_http_requests_total{route="/v1/compare",status="200"} 1.0' in metrics
    assert "agrorisk_cost_usd_total" in metrics
    assert 'agrorisk_model_info{source="yolo",version="v1"} 1.0' in metrics  # Grafana's model version
    assert "\nagrorisk_gemini_breaker_open 0.0" in metrics


def test_api_key_guards_v1_and_admin_routes(make_client):
    client = make_client(api_key="user-key", admin_api_key="admin-key")
    assert client.get("/v1/risks").status_code == 401
    assert client.get("/v1/risks", headers={"X-API-Key": "user-key"}).status_code == 200
    assert client.get("/healthz").status_code == 200
    retrain = client.post("/v1/admin/retrain", json={"reason": "drift"}, headers={"X-API-Key": "user-key"})
    assert retrain.status_code == 401 and "user-key" not in retrain.text


def test_routes_are_open_without_keys(client):
    assert client.get("/v1/risks").status_code == 200


def test_empty_keys_in_the_environment_mean_no_key(make_client, monkeypatch):
    monkeypatch.setenv("AGRORISK_BACKEND_API_KEY", "")
    monkeypatch.setenv("AGRORISK_BACKEND_ADMIN_API_KEY", " ")
    client = make_client()
    settings = client.app.state.services.settings
    assert settings.api_key is None and settings.admin_api_key is None
    assert client.get("/v1/risks").status_code == 200
    closed = client.post("/v1/admin/retrain", json={"reason": "no admin key"})
    assert closed.status_code == 403 and closed.json()["kind"] == "admin_key_not_set"


def test_admin_promote_moves_the_alias(make_client, ray_stack, tmp_path):
    _, storage = ray_stack
    registry_copy = StorageSettings(local_root=tmp_path / "registry", cache_dir=tmp_path / "cache")
    source, target = ModelRegistry.from_settings(storage), ModelRegistry.from_settings(registry_copy)
    files = source.pull("v1", tmp_path / "v1")
    for _ in range(2):
        target.push(
            {name: files / name for name in ("best.onnx", "best.pt")}, {"class_names": ["a"], "imgsz": 64}
        )
    target.promote("v1")
    client = make_client(storage_settings=registry_copy, admin_api_key="admin-key")
    key = {"X-API-Key": "admin-key"}

    assert client.post("/v1/admin/promote", json={"version": "v2"}).status_code == 401
    promoted = client.post("/v1/admin/promote", json={"version": "v2"}, headers=key)
    assert promoted.status_code == 200 and "production" in promoted.json()["aliases"]
    assert target.aliases()["production"] == "v2"
    missing = client.post("/v1/admin/promote", json={"version": "v9"}, headers=key)
    assert missing.status_code == 404 and "v9" in missing.json()["detail"]


def test_admin_retrain_writes_a_request_for_the_pipeline(make_client):
    client = make_client(admin_api_key="admin-key")
    response = client.post(
        "/v1/admin/retrain", json={"reason": "drift on brightness"}, headers={"X-API-Key": "admin-key"}
    )
    assert response.status_code == 202
    folder = client.app.state.services.settings.retrain_requests_dir
    (request_file,) = folder.glob("*.json")
    assert json.loads(request_file.read_text())["reason"] == "drift on brightness"
