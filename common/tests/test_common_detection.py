"""The detection contract: boxes convert between YOLO, Gemini box_2d and xyxy without loss."""

import pytest
from pydantic import ValidationError

from agrorisk_common.catalog import ClassMap
from agrorisk_common.detection import Box, Detection, Prediction, iou, match_by_iou

CLASSES = ClassMap(("wheat-leaf-rust", "wheat-septoria-leaf-blotch"))


def test_yolo_line_round_trip():
    line = "1 0.500000 0.400000 0.200000 0.100000"
    det = Detection.from_yolo_line(line, CLASSES)
    assert det.risk_id == "wheat-septoria-leaf-blotch" and det.class_index == 1
    assert det.box.as_tuple() == pytest.approx((0.4, 0.35, 0.6, 0.45))
    assert det.to_yolo_line(CLASSES) == line


@pytest.mark.parametrize(
    "line", ["0 0.5 0.5 0.2", "x 0.5 0.5 0.2 0.2", "7 0.5 0.5 0.2 0.2", "0 0.5 0.5 0 0.2"]
)
def test_bad_yolo_lines_are_refused(line):
    with pytest.raises((ValueError, IndexError)):
        Detection.from_yolo_line(line, CLASSES)


def test_gemini_box_2d_is_ymin_xmin_ymax_xmax_per_mille():
    box = Box.from_box_2d([100, 200, 300, 600])
    assert box.as_tuple() == pytest.approx((0.2, 0.1, 0.6, 0.3))
    assert box.to_box_2d() == [100, 200, 300, 600]
    with pytest.raises(ValueError, match="outside"):
        Box.from_box_2d([0, 0, 1200, 10])
    with pytest.raises(ValueError):
        Box.from_box_2d([300, 200, 100, 600])  # inverted


def test_boxes_validate_and_clip():
    with pytest.raises(ValidationError):
        Box(x1=0.5, y1=0.1, x2=0.4, y2=0.2)
    assert Box.clipped(-0.1, 0.2, 1.3, 0.9).as_tuple() == (0.0, 0.2, 1.0, 0.9)
    assert Box(x1=0, y1=0, x2=0.5, y2=0.5).to_pixels(640, 480) == (0, 0, 320, 240)


def test_iou_and_greedy_matching():
    a = Box(x1=0, y1=0, x2=0.5, y2=0.5)
    b = Box(x1=0.25, y1=0, x2=0.75, y2=0.5)
    assert iou(a, a) == pytest.approx(1.0)
    assert iou(a, b) == pytest.approx(1 / 3)
    left = [Detection(risk_id="r1", confidence=0.9, box=a), Detection(risk_id="r2", confidence=0.8, box=b)]
    right = [Detection(risk_id="r2", confidence=0.7, box=b)]
    pairs, only_left, only_right = match_by_iou(left, right, threshold=0.3)
    assert [(p.left, p.right, p.same_risk) for p in pairs] == [(1, 0, True)]
    assert only_left == [0] and only_right == []


def test_prediction_serialises_for_the_api():
    pred = Prediction(source="yolo", detections=[], model_version="v3", latency_ms=12.5, cost_usd=0.0)
    assert Prediction.model_validate_json(pred.model_dump_json()) == pred
    with pytest.raises(ValidationError):
        Prediction(source="yolo", latency_ms=-1)


def test_an_empty_optional_setting_means_unset(monkeypatch):
    from pydantic import SecretStr

    from agrorisk_common.settings import AgroRiskSettings, service_config

    class KeySettings(AgroRiskSettings):
        model_config = service_config("AGRORISK_TEST_")
        api_key: SecretStr | None = None
        name: str = "x"

    monkeypatch.setenv("AGRORISK_TEST_API_KEY", "  ")
    monkeypatch.setenv("AGRORISK_TEST_NAME", "")
    settings = KeySettings()
    assert settings.api_key is None and settings.name == ""
    monkeypatch.setenv("AGRORISK_TEST_API_KEY", "secret-1")
    assert KeySettings().api_key.get_secret_value() == "secret-1"
    assert "secret-1" not in str(KeySettings().public_dict())


def test_run_sync_works_inside_a_running_event_loop():
    import asyncio

    from agrorisk_common.aio import run_sync

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def caller() -> int:
        return run_sync(answer())  # sync code called from async code, as in a notebook

    assert run_sync(answer()) == 42
    assert asyncio.run(caller()) == 42
