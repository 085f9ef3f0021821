"""One error contract ({detail, kind}, documented with one schema), admin routes closed by default,
and no answer that names a server path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agrorisk_devtools.drift_report import publish_drift
from agrorisk_storage import ModelRegistry, StorageSettings

REPO = Path(__file__).resolve().parents[2]
USER, ADMIN = {"X-API-Key": "user-key"}, {"X-API-Key": "admin-key"}
ERROR_BODY = "#/components/schemas/ErrorBody"


def assert_error_body(response, status: int | None = None, kind: str | None = None) -> dict:
    if status is not None:
        assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    assert isinstance(body.get("kind"), str) and body["kind"], body
    if kind is not None:
        assert body["kind"] == kind, body
    return body


def test_every_documented_error_response_uses_the_one_error_body(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {"detail", "kind"}
    documented = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": ERROR_BODY}, (method, path, code, schema)
                    documented += 1
    v1 = {p: ops for p, ops in spec["paths"].items() if p.startswith("/v1/")}
    assert all("401" in op["responses"] for ops in v1.values() for op in ops.values())
    for path in ("/v1/predict", "/v1/compare", "/v1/gemini", "/v1/feedback"):
        assert {"413", "415", "422"} <= set(spec["paths"][path]["post"]["responses"])
    assert {"403", "404", "413", "422"} <= set(spec["paths"]["/v1/jobs"]["post"]["responses"])
    assert "403" in spec["paths"]["/v1/admin/retrain"]["post"]["responses"]
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]
    bodies = [op for ops in spec["paths"].values() for op in ops.values() if "requestBody" in op]
    assert len(bodies) == 7 and all("400" in op["responses"] for op in bodies)
    assert documented >= 47


def test_the_schema_says_which_key_each_route_needs_and_which_photos_it_takes(make_client):
    open_spec = make_client().get("/openapi.json").json()
    keyed_spec = make_client(api_key="user-key").get("/openapi.json").json()
    for spec, user_key in ((open_spec, [{}, {"APIKey": []}]), (keyed_spec, [{"APIKey": []}])):
        assert spec["paths"]["/v1/risks"]["get"]["security"] == user_key
        assert spec["paths"]["/v1/admin/promote"]["post"]["security"] == [{"AdminKey": []}]
    upload = open_spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "image/jpeg" in upload["encoding"]["file"]["contentType"]


def test_a_bad_field_gets_a_readable_string_detail(client, leaf):
    response = client.post(
        "/v1/feedback", files={"file": ("leaf.jpg", leaf, "image/jpeg")}, data={"verdict": "maybe"}
    )
    body = assert_error_body(response, 422, "invalid_request")
    assert body["detail"].startswith("verdict: Input should be 'right' or 'wrong'")
    missing = assert_error_body(client.post("/v1/compare", data={"x": "1"}), 422, "invalid_request")
    assert missing["detail"] == "file: Field required"
    broken = client.post("/v1/admin/retrain", content=b"{", headers={"content-type": "application/json"})
    assert assert_error_body(broken, 422, "invalid_request")["detail"] == "body: not valid JSON"
    long_query = assert_error_body(client.get("/v1/risks", params={"q": "x" * 300}), 422)
    assert "query.q" in long_query["detail"] and "200 characters" in long_query["detail"]


def test_unknown_routes_and_methods_use_the_error_body(client):
    assert_error_body(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error_body(client.delete("/v1/risks"), 405, "method_not_allowed")


def test_admin_routes_are_closed_without_an_admin_key(make_client):
    client = make_client(api_key="user-key")  # a user key is not an admin key
    for response in (
        client.post("/v1/admin/retrain", json={"reason": "x"}),
        client.post("/v1/admin/retrain", json={"reason": "x"}, headers=USER),
        client.post("/v1/admin/promote", json={"version": "v1"}, headers=USER),
    ):
        body = assert_error_body(response, 403, "admin_key_not_set")
        assert "AGRORISK_BACKEND_ADMIN_API_KEY" in body["detail"]
    assert not client.app.state.services.settings.retrain_requests_dir.exists()


def test_admin_routes_with_a_key_refuse_a_wrong_or_missing_one(make_client):
    client = make_client(api_key="user-key", admin_api_key="admin-key")
    for headers in ({}, USER, {"X-API-Key": "admin-key-wrong"}):
        response = client.post("/v1/admin/retrain", json={"reason": "x"}, headers=headers)
        assert_error_body(response, 401, "unauthorized")
    assert client.post("/v1/admin/retrain", json={"reason": "x"}, headers=ADMIN).status_code == 202


@pytest.fixture
def registry_copy(ray_stack, tmp_path) -> StorageSettings:
    """A registry of our own with v1 (production) and v2, so promoting changes no shared state."""
    _, storage = ray_stack
    copy = StorageSettings(local_root=tmp_path / "registry", cache_dir=tmp_path / "cache")
    source, target = ModelRegistry.from_settings(storage), ModelRegistry.from_settings(copy)
    files = source.pull("v1", tmp_path / "v1")
    for _ in range(2):
        target.push({name: files / name for name in ("best.onnx", "best.pt")}, {"class_names": ["a"]})
    target.promote("v1")
    return copy


def test_no_answer_of_any_route_names_a_server_path(
    make_client, registry_copy, tmp_path, tmp_path_factory, leaf
):
    """Every route with good and bad input: no body holds an absolute server path (the tmp data dir,
    the registry, the repo), every error is {detail, kind}, and every status is documented."""
    inbox = tmp_path / "inbox"
    (inbox / "field").mkdir(parents=True)
    (inbox / "field" / "p.jpg").write_bytes(leaf)
    (inbox / "empty").mkdir()
    broken_root = tmp_path / "broken-registry"
    (broken_root / "agrorisk-models" / "manifests").mkdir(parents=True)
    (broken_root / "agrorisk-models" / "manifests" / "000001.json").write_text("not a manifest")
    keys = {"api_key": "user-key", "admin_api_key": "admin-key", "jobs_input_root": inbox}
    client = make_client(storage_settings=registry_copy, **keys)
    broken_registry = make_client(
        storage_settings=StorageSettings(local_root=broken_root, cache_dir=tmp_path / "c2"), **keys
    )
    down_model = make_client(ray_url="http://127.0.0.1:9", **keys)
    closed = make_client()  # no admin key: admin routes answer 403
    spec = client.get("/openapi.json").json()
    photo = {"file": ("leaf.jpg", leaf, "image/jpeg")}
    text = {"file": ("leaf.jpg", b"field notes, not a photo\n" * 10, "image/jpeg")}
    seen: list[tuple[str, str, int, str]] = []

    def call(method: str, template: str, url: str | None = None, on=client, **kwargs) -> dict:
        response = on.request(method.upper(), url or template, **kwargs)
        seen.append((method, template, response.status_code, response.text))
        return response.json() if "json" in response.headers.get("content-type", "") else {}

    recognisers = ("/v1/predict", "/v1/gemini", "/v1/compare")
    for route in recognisers:
        call("post", route, files=photo, headers=USER)
        call("post", route, files=photo)  # 401
        call("post", route, files=text, headers=USER)  # 415
        call("post", route, files=photo, data={"crop": "Томат!"}, headers=USER)  # 422
        call("post", route, data={"x": "1"}, headers=USER)  # 422
    call("post", "/v1/predict", on=down_model, files=photo, headers=USER)  # 200 with error
    job = call("post", "/v1/jobs", files=[("files", ("/srv/../a.jpg", leaf, "image/jpeg"))], headers=USER)
    call("post", "/v1/jobs", data={"folder": "field"}, headers=USER)
    call("post", "/v1/jobs", data={"folder": "empty"}, headers=USER)  # 422, names the folder only
    call("post", "/v1/jobs", data={"folder": "../"}, headers=USER)  # 422
    call("post", "/v1/jobs", data={"folder": str(inbox)}, headers=USER)  # the root itself, by its path
    call("post", "/v1/jobs", data={"folder": "nowhere"}, headers=USER)  # 404
    call("post", "/v1/jobs", headers=USER)  # 422
    call("get", "/v1/jobs/{job_id}", f"/v1/jobs/{job['id']}", headers=USER)
    call("get", "/v1/jobs/{job_id}", "/v1/jobs/nope", headers=USER)  # 404
    call("get", "/v1/risks", params={"q": "rust"}, headers=USER)
    call("get", "/v1/risks", params={"crop": "banana"}, headers=USER)  # 422
    call("get", "/v1/risks", headers={"X-API-Key": "wrong"})  # 401
    call("get", "/v1/risks/{risk_id}", "/v1/risks/wheat-leaf-rust", headers=USER)
    call("get", "/v1/risks/{risk_id}", "/v1/risks/nope", headers=USER)  # 404
    models = call("get", "/v1/models", headers=USER)
    assert models["location"] == "local:registry"
    broken = call("get", "/v1/models", on=broken_registry, headers=USER)  # 200 with error
    assert broken["error"].startswith("registry unavailable: manifest of v1 in "), broken
    history = "/v1/models/{ref}/history"
    call("get", history, "/v1/models/v1/history", headers=USER)  # 404: registered without metrics.json
    call("get", history, "/v1/models/v9/history", headers=USER)  # 404
    call("get", history, "/v1/models/v1/history", on=broken_registry, headers=USER)  # 503
    call("get", "/v1/drift", headers=USER)  # 404: no drift report yet
    call("get", "/v1/drift/report", headers=USER)  # 404
    publish_drift(registry_copy)
    call("get", "/v1/drift", headers=USER)
    call("get", "/v1/drift/report", headers=USER)
    store_down = StorageSettings(endpoint="127.0.0.1:9", access_key="a", secret_key="b")
    call("get", "/v1/drift", on=make_client(storage_settings=store_down, **keys), headers=USER)  # 503
    call("post", "/v1/feedback", files=photo, data={"verdict": "right"}, headers=USER)
    call("post", "/v1/feedback", files=photo, data={"verdict": "maybe"}, headers=USER)  # 422
    call("post", "/v1/feedback", files=photo, data={"verdict": "wrong", "risk_id": "x"}, headers=USER)
    call("get", "/v1/links", headers=USER)
    call("post", "/v1/admin/promote", json={"version": "v2"}, headers=ADMIN)
    missing = call("post", "/v1/admin/promote", json={"version": "v9"}, headers=ADMIN)  # 404
    assert missing["detail"] == "no models version v9 in local folder agrorisk-models"
    call("post", "/v1/admin/promote", json={"version": "v1", "alias": "Bad Alias"}, headers=ADMIN)  # 422
    call("post", "/v1/admin/promote", json={"version": "v1"}, headers=USER)  # 401
    retrain = call("post", "/v1/admin/retrain", json={"reason": "drift"}, headers=ADMIN)
    assert retrain["file"].startswith("retrain-requests/") and retrain["file"].endswith(".json")
    call("post", "/v1/admin/retrain", json={"reason": "x" * 600}, headers=ADMIN)  # 422
    call("post", "/v1/admin/retrain", on=closed, json={"reason": "drift"})  # 403
    call("get", "/healthz")
    call("get", "/readyz")
    call("get", "/readyz", on=down_model)  # 503
    call("get", "/metrics")
    call("get", "/docs")
    call("get", "/openapi.json")
    call("get", "/v1/nothing-here")  # 404

    operations = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert operations <= {(m, t) for m, t, _, _ in seen}, "a route was not walked"
    statuses = {status for _, _, status, _ in seen}
    assert {200, 201, 202, 401, 403, 404, 415, 422, 503} <= statuses
    server_paths = [str(tmp_path_factory.getbasetemp()), str(tmp_path), str(REPO)]
    for method, template, status, body in seen:
        for server_path in server_paths:
            assert server_path not in body, (method, template, status, body[:500])
        assert not re.search(r"\"/(tmp|srv|home|work|root)/", body), (method, template, body[:500])
        if status >= 400:
            assert set(json.loads(body)) >= {"detail", "kind"}, (method, template, body)
            if (method, template) in operations:
                documented = spec["paths"][template][method]["responses"]
                assert str(status) in documented, f"{method} {template} answered undocumented {status}"
