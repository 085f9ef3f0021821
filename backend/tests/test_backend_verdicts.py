"""Healthy vs unsure: "no risk found on this crop" is told apart from "the model is unsure"."""

from __future__ import annotations

import pytest

from agrorisk_backend.services.verdicts import VerdictRule
from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_devtools.gemini_standin import finding

RULE = VerdictRule(threshold=0.25, unsure_floor=0.10)
RUST = "wheat-leaf-rust"
BOX = Box(x1=0.1, y1=0.1, x2=0.5, y2=0.5)


def prediction(*detections: tuple[str, float], error: str | None = None) -> Prediction:
    return Prediction(
        source="yolo",
        detections=[Detection(risk_id=r, confidence=c, box=BOX) for r, c in detections],
        error=error,
    )


def upload(data: bytes, **form) -> dict:
    return {"files": {"file": ("leaf.jpg", data, "image/jpeg")}, "data": form or None}


def test_a_risk_at_the_threshold_is_found(catalog):
    verdict, info = RULE.judge([prediction((RUST, 0.25), ("wheat-septoria-leaf-blotch", 0.12))], catalog)
    assert verdict == "risks_found" and info.risk_ids == [RUST]
    assert info.message_en == f"Risks found: {catalog.get(RUST).name_en}."
    assert info.message_uk.startswith("Знайдено ризики: ")


def test_risks_only_below_the_threshold_make_the_model_unsure(catalog):
    verdict, info = RULE.judge([prediction((RUST, 0.18), ("healthy:tomato", 0.9))], catalog)
    assert verdict == "unsure" and info.risk_ids == [RUST]
    assert "0.18 is below the 0.25 threshold" in info.message_en and "не впевнена" in info.message_uk


@pytest.mark.parametrize(
    ("detections", "crop", "message_en", "message_uk"),
    [
        ((), None, "No risk found on this crop.", "Ризиків на цій культурі не знайдено."),
        (((RUST, 0.05),), None, "No risk found on this crop.", "Ризиків на цій культурі не знайдено."),
        ((("healthy:tomato", 0.7),), None, "No risk found on this crop (Tomato).", "(Томат)"),
        ((("healthy:peach", 0.7),), None, "No risk found on this crop (peach).", "(peach)"),
        ((), "winter_wheat", "No risk found on this crop (Winter wheat).", "(Пшениця озима)"),
        ((("healthy:tomato", 0.7),), "potato", "No risk found on this crop (Potato).", "(Картопля)"),
    ],
)
def test_no_risk_found_names_the_crop_when_it_is_known(catalog, detections, crop, message_en, message_uk):
    verdict, info = RULE.judge([prediction(*detections)], catalog, crop)
    assert verdict == "no_risk_found" and info.risk_ids == []
    assert info.message_en == message_en and message_uk in info.message_uk


def test_failed_answers_have_no_verdict_of_their_own(catalog):
    down = prediction(error="Ray Serve is unreachable")
    assert RULE.judge([down], catalog)[0] == "unavailable"
    assert RULE.judge([down, prediction((RUST, 0.9))], catalog)[0] == "risks_found"
    assert RULE.judge([down, prediction()], catalog)[0] == "no_risk_found"


def test_the_served_model_answer_follows_the_thresholds(client, make_client, leaf):
    """The one-epoch model's best box (confidence c) is found, unsure or nothing by the thresholds."""
    detections = client.post("/v1/predict", **upload(leaf)).json()["detections"]
    best = max(d["confidence"] for d in detections)
    cases = {
        "risks_found": {"conf_threshold": best, "unsure_floor": best / 2},
        "unsure": {"conf_threshold": (best + 1) / 2, "unsure_floor": best / 2},
        "no_risk_found": {"conf_threshold": 1.0, "unsure_floor": (best + 1) / 2},
    }
    for expected, thresholds in cases.items():
        body = make_client(**thresholds).post("/v1/predict", **upload(leaf, crop="winter_wheat")).json()
        assert body["verdict"] == expected, (thresholds, body["verdict_info"])
        assert body["verdict_info"]["threshold"] == thresholds["conf_threshold"]
    assert body["verdict_info"]["message_en"] == "No risk found on this crop (Winter wheat)."


def test_gemini_and_compare_answers_carry_the_verdict(client, fake_gemini, leaf, catalog):
    fake_gemini.set_answer(leaf, [finding(RUST, [100, 100, 400, 400], 0.9)])
    found = client.post("/v1/gemini", **upload(leaf)).json()
    assert found["verdict"] == "risks_found" and found["verdict_info"]["risk_ids"] == [RUST]
    assert catalog.get(RUST).name_uk in found["verdict_info"]["message_uk"]

    fake_gemini.set_answer(leaf, [finding(RUST, [100, 100, 400, 400], 0.15)])
    unsure = client.post("/v1/gemini", **upload(leaf)).json()
    assert unsure["verdict"] == "unsure" and unsure["detections"]

    fake_gemini.set_answer(leaf, [])
    healthy = client.post("/v1/gemini", **upload(leaf, crop="tomato")).json()
    assert healthy["verdict"] == "no_risk_found" and healthy["detections"] == []
    assert healthy["verdict_info"]["message_en"] == "No risk found on this crop (Tomato)."
    assert healthy["verdict_info"]["message_uk"] == "Ризиків на цій культурі (Томат) не знайдено."

    compared = client.post("/v1/compare", **upload(leaf, crop="tomato")).json()
    sides = {compared["local"]["verdict"], compared["gemini"]["verdict"]}
    assert compared["gemini"]["verdict"] == "no_risk_found"
    assert compared["verdict"] in sides and compared["verdict_info"]["crop"] == "tomato"
    assert compared["status"] == {"local": "ok", "gemini": "ok"}


def test_a_crop_that_is_not_a_slug_is_422(client, leaf):
    response = client.post("/v1/predict", **upload(leaf, crop="Томат!"))
    assert response.status_code == 422
    assert response.json()["kind"] == "invalid_request" and "crop" in response.json()["detail"]
