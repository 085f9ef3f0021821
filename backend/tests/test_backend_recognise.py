"""Predict, Gemini and compare through the app with a real Ray Serve model and the fake Gemini server."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image

from agrorisk_common.features import image_features
from agrorisk_devtools.gemini_standin import FakeReply, finding
from agrorisk_gemini.settings import GeminiSettings

RUST = "wheat-leaf-rust"
SEPTORIA = "wheat-septoria-leaf-blotch"
LOG_KEYS = {"time", "request_id", "source", "model_version", "image_sha256", "features", "outputs", "detections",
            "image_path"}  # fmt: skip


def upload(data: bytes, name: str = "leaf.jpg") -> dict:
    return {"file": (name, data, "image/jpeg")}


def log_records(client) -> list[dict]:
    folder = client.app.state.services.settings.prediction_log_dir
    return [
        json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]


def test_predict_returns_served_model_detections_with_names_and_guidance(client, leaf, catalog):
    response = client.post("/v1/predict", files=upload(leaf))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["error"] is None
    assert body["source"] == "yolo" and body["model_version"] == "v1"
    assert body["latency_ms"] > 0 and body["image_width"] == 256
    assert body["detections"], "the served model (conf 0.001) returns its boxes"
    for detection in body["detections"]:
        risk = catalog.get(detection["risk_id"])
        assert (detection["name_uk"], detection["name_en"]) == (risk.name_uk, risk.name_en)
    card = body["risks"][0]
    assert card["guidance"]["control_chemical"] and card["guidance"]["source"]
    assert card["symptoms_uk"] and card["look_alikes"]

    (record,) = log_records(client)
    assert record.keys() == LOG_KEYS
    assert record["source"] == "yolo" and record["model_version"] == "v1"
    assert record["request_id"] == body["request_id"]
    with Image.open(io.BytesIO(leaf)) as photo:
        assert record["features"] == image_features(photo)  # the one feature function drift compares
    assert record["outputs"]["n_boxes"] == len(body["detections"]) == len(record["detections"])
    assert record["outputs"]["max_confidence"] == max(d["confidence"] for d in body["detections"])
    logged_image = client.app.state.services.settings.prediction_log_dir / record["image_path"]
    assert logged_image.read_bytes() == leaf


def test_gemini_answer_carries_names_cost_and_look_alikes(client, fake_gemini, leaf, catalog):
    fake_gemini.set_answer(leaf, [finding(RUST, [100, 200, 400, 500], 0.8)])
    body = client.post("/v1/gemini", files=upload(leaf)).json()
    assert body["error"] is None and body["source"] == "gemini"
    (detection,) = body["detections"]
    assert detection["risk_id"] == RUST and detection["name_en"] == "Wheat leaf rust"
    assert detection["box"] == {"x1": 0.2, "y1": 0.1, "x2": 0.5, "y2": 0.4}
    assert body["cost_usd"] > 0
    (card,) = body["risks"]
    rust = catalog.get(RUST)
    assert [a["id"] for a in card["look_alikes"]] == list(rust.look_alikes)
    for alike in card["look_alikes"]:
        expected = catalog.get(alike["id"]).name_uk if alike["id"] in catalog else alike["id"]
        assert alike["name_uk"] == expected
    assert card["guidance"]["economic_threshold"] == rust.guidance.economic_threshold


def test_compare_matches_boxes_and_scores_agreement(client, fake_gemini, leaf):
    local = client.post("/v1/predict", files=upload(leaf)).json()
    top = max(local["detections"], key=lambda d: d["confidence"])
    box = top["box"]
    box_2d = [
        round(box["y1"] * 1000),
        round(box["x1"] * 1000),
        round(box["y2"] * 1000),
        round(box["x2"] * 1000),
    ]
    other = SEPTORIA if top["risk_id"] == RUST else RUST
    fake_gemini.set_answer(leaf, [finding(top["risk_id"], box_2d, 0.9), finding(other, [0, 0, 50, 50], 0.6)])

    body = client.post("/v1/compare", files=upload(leaf)).json()
    local, gemini = body["local"], body["gemini"]
    assert local["error"] is None and gemini["error"] is None
    assert local["request_id"] == gemini["request_id"] == body["request_id"]
    same = [p for p in body["pairs"] if p["same_risk"]]
    assert same and same[0]["iou"] > 0.95 and same[0]["gemini_risk_id"] == top["risk_id"]
    expected = 2 * len(same) / (len(local["detections"]) + 2)
    assert abs(body["agreement"] - round(expected, 4)) < 1e-9
    rows = {row["risk_id"]: row for row in body["table"]}
    assert rows[top["risk_id"]]["gemini_confidence"] == 0.9 and rows[top["risk_id"]]["iou"] > 0.95
    assert 1 in body["unmatched_gemini"]
    if other not in {d["risk_id"] for d in local["detections"]}:
        assert body["only_gemini"] == [other] and rows[other]["found_by"] == "gemini"
    assert {c["id"] for c in body["risks"]} == set(rows)

    records = [r for r in log_records(client) if r["request_id"] == body["request_id"]]
    assert {r["source"] for r in records} == {"yolo", "gemini"}
    assert len({r["image_sha256"] for r in records}) == 1
    (gemini_record,) = (r for r in records if r["source"] == "gemini")
    assert gemini_record["outputs"]["top_risk"] == top["risk_id"] and gemini_record["outputs"]["n_boxes"] == 2


def test_compare_without_gemini_key_still_gives_the_local_answer(make_client, leaf):
    client = make_client(gemini=GeminiSettings(api_key=None))
    body = client.post("/v1/compare", files=upload(leaf)).json()
    assert "Gemini is not configured" in body["gemini"]["error"]
    assert body["local"]["error"] is None and body["local"]["detections"]
    assert body["agreement"] is None
    assert all(row["found_by"] == "local" for row in body["table"])
    # A failed side is not logged: it would read as a photo with nothing on it in the drift monitor.
    assert [r["source"] for r in log_records(client)] == ["yolo"]


def test_compare_with_the_model_server_down_still_gives_gemini(make_client, fake_gemini, leaf):
    client = make_client(ray_url="http://127.0.0.1:9")
    fake_gemini.set_answer(leaf, [finding(RUST, [100, 100, 300, 300])])
    response = client.post("/v1/compare", files=upload(leaf))
    assert response.status_code == 200
    body = response.json()
    assert "unreachable" in body["local"]["error"]
    assert [d["risk_id"] for d in body["gemini"]["detections"]] == [RUST]
    assert body["only_gemini"] == [RUST]


def test_gemini_failure_is_reported_without_secrets(client, fake_gemini, leaf):
    fake_gemini.script(FakeReply.error(500, "backend exploded"))
    body = client.post("/v1/compare", files=upload(leaf)).json()
    assert body["gemini"]["error"] and body["local"]["error"] is None
    assert "test-gemini-key" not in json.dumps(body)


def test_exif_rotated_photo_is_recognised_upright(client, fake_gemini):
    image = Image.new("RGB", (300, 200), (60, 140, 50))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    body = client.post("/v1/compare", files=upload(buffer.getvalue())).json()
    assert (body["local"]["image_width"], body["local"]["image_height"]) == (200, 300)
    parts = [p for c in fake_gemini.calls()[-1].body["contents"] for p in c["parts"]]
    inline = next(
        p.get("inlineData") or p.get("inline_data") for p in parts if {"inlineData", "inline_data"} & set(p)
    )
    encoded = inline["data"] + "=" * (-len(inline["data"]) % 4)
    with Image.open(io.BytesIO(base64.urlsafe_b64decode(encoded))) as sent:
        assert sent.size == (200, 300)  # Gemini got the upright photo, not the rotated original


def test_big_photo_is_sent_on_reduced_and_answered_in_its_own_size(client, fake_gemini):
    """A photo over the decode side (1280 px) reaches the recognisers as a reduced JPEG; the answer
    still names the photo's own size (boxes are fractions of it) and the log keeps that size."""
    buffer = io.BytesIO()
    base = Image.linear_gradient("L").resize((4000, 3000))
    Image.merge("RGB", (base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT), base)).save(
        buffer, format="PNG"
    )
    body = client.post("/v1/compare", files=upload(buffer.getvalue(), "big.png")).json()
    for side in ("local", "gemini"):
        assert (body[side]["image_width"], body[side]["image_height"]) == (4000, 3000), side
    inline = next(
        p.get("inlineData") or p.get("inline_data")
        for c in fake_gemini.calls()[-1].body["contents"]
        for p in c["parts"]
        if {"inlineData", "inline_data"} & set(p)
    )
    encoded = inline["data"] + "=" * (-len(inline["data"]) % 4)
    with Image.open(io.BytesIO(base64.urlsafe_b64decode(encoded))) as sent:
        assert sent.format == "JPEG" and sent.size == (1280, 960)
    assert log_records(client)[-1]["features"]["width"] == 4000
