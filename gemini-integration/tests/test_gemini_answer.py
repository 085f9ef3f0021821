"""Validation of Gemini's answer: bad parts are counted, good parts kept, nothing raises."""

from __future__ import annotations

import json

from agrorisk_common.catalog import ClassMap
from agrorisk_gemini.answer import IssueKind, check_answer

CLASSES = ClassMap(("wheat-leaf-rust", "wheat-septoria-leaf-blotch"))


def answer(*findings: dict) -> str:
    return json.dumps({"findings": list(findings)})


def f(risk_id: str, box: list, confidence: float = 0.9) -> dict:
    return {"risk_id": risk_id, "confidence": confidence, "box_2d": box}


def test_good_finding_becomes_a_detection_in_normalised_xyxy():
    checked = check_answer(answer(f("wheat-leaf-rust", [100, 200, 500, 800])), CLASSES)
    (d,) = checked.detections
    assert (d.risk_id, d.class_index) == ("wheat-leaf-rust", 0)
    assert d.box.as_tuple() == (0.2, 0.1, 0.8, 0.5)
    assert checked.issues == []


def test_each_bad_finding_is_counted_and_the_good_ones_kept():
    checked = check_answer(
        answer(
            f("wheat-leaf-rust", [100, 100, 400, 400]),
            f("maize-imaginary-blight", [0, 0, 10, 10]),
            f("wheat-leaf-rust", [600, 100, 300, 400]),  # ymin > ymax
            f("wheat-septoria-leaf-blotch", [0, 0, 1200, 500]),  # outside 0..1000
            f("wheat-septoria-leaf-blotch", [0, 0, 10, 10], confidence=1.7),
            f("unknown", [0, 0, 10, 10]),
        ),
        CLASSES,
    )
    assert len(checked.detections) == 1
    assert checked.issue_counts() == {
        "not_in_catalog": 1,
        "bad_box": 2,
        "bad_confidence": 1,
        "unknown_risk": 1,
    }
    assert not checked.malformed


def test_malformed_or_empty_answers_are_reported_not_raised():
    for text in ('{"findings": [{"risk_id": "wheat-le', "[]", '{"findings": "none"}', "", None):
        checked = check_answer(text, CLASSES)
        assert checked.malformed and checked.detections == []
        assert checked.issues[0].kind is IssueKind.MALFORMED


def test_healthy_and_fenced_json_are_understood():
    text = "```json\n" + answer(f("healthy", [0, 0, 1000, 1000])) + "\n```"
    checked = check_answer(text, CLASSES)
    assert checked.healthy and checked.detections == [] and checked.issues == []
