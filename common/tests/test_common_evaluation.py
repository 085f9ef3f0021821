"""The shared evaluation report: scores are right on known cases; reports compare side by side."""

import random

import pytest

from agrorisk_common.comparison import box_agreement, compare_reports
from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.evaluation import EvaluationReport, Thresholds, evaluate
from agrorisk_common.procedural import draw_leaf, generate_leaf_dataset
from agrorisk_common.yolo_data import dataset_risk_ids, load_yolo_ground_truth

RISKS = ["maize-smut", "maize-corn-borer"]


def _det(risk: str, conf: float, x: float) -> Detection:
    return Detection(risk_id=risk, confidence=conf, box=Box(x1=x, y1=0.1, x2=x + 0.2, y2=0.3))


def test_known_case_precision_recall_ap():
    truth = {"a.jpg": [_det(RISKS[0], 1, 0.1)], "b.jpg": [_det(RISKS[1], 1, 0.5)], "c.jpg": []}
    preds = {
        "a.jpg": Prediction(source="m", detections=[_det(RISKS[0], 0.9, 0.1)], latency_ms=10, cost_usd=0.001),
        "b.jpg": Prediction(
            source="m",
            detections=[_det(RISKS[0], 0.8, 0.5), _det(RISKS[1], 0.1, 0.5)],  # right class, below operating
            latency_ms=30,
            cost_usd=0.001,
        ),
        "c.jpg": Prediction(source="m", detections=[], latency_ms=20, cost_usd=0.001),
    }
    report = evaluate(truth, preds, RISKS)
    smut, borer = report.per_risk
    assert (smut.true_positives, smut.n_predicted, smut.precision, smut.recall) == (1, 2, 0.5, 1.0)
    assert smut.ap50 == pytest.approx(1.0)  # the confident one is right
    # the low-confidence right box counts for AP (ranked detections) but not at the operating point
    assert (borer.n_predicted, borer.recall, borer.f1) == (0, 0.0, 0.0) and borer.precision is None
    assert borer.ap50 == pytest.approx(1.0)
    assert report.map50 == pytest.approx(1.0) and report.map50_95 == pytest.approx(1.0)
    assert report.thresholds.map_conf == 0.001 and report.thresholds.operating_conf == 0.25
    assert report.image_accuracy == pytest.approx(2 / 3)  # a right, b wrong, c healthy and quiet
    assert report.cost_total_usd == pytest.approx(0.003)
    assert report.cost_per_1000_images_usd == pytest.approx(1.0)
    assert report.latency_p50_ms == pytest.approx(20)


def test_ap_is_cocos_and_a_class_without_ground_truth_is_not_averaged():
    """One of two ground-truth boxes found, behind a confident false positive: COCO's 101-point AP
    is 0.5 × (precision 0.5 at recall 0.5) = 0.252 (51 of 101 recall points), not 1 or 0."""
    truth = {"a.jpg": [_det(RISKS[0], 1, 0.1), _det(RISKS[0], 1, 0.6)]}
    fp = Detection(risk_id=RISKS[0], confidence=0.9, box=Box(x1=0.3, y1=0.6, x2=0.5, y2=0.9))
    hit = _det(RISKS[0], 0.5, 0.1)
    stray = Detection(risk_id=RISKS[1], confidence=0.7, box=Box(x1=0.1, y1=0.6, x2=0.3, y2=0.9))
    preds = {"a.jpg": Prediction(source="m", detections=[fp, hit, stray], image_width=640, image_height=480)}
    report = evaluate(truth, preds, RISKS)
    smut, borer = report.per_risk
    assert smut.ap50 == pytest.approx(51 / 101 * 0.5, abs=1e-6)
    assert borer.ap50 is None and borer.n_ground_truth == 0 and borer.n_predicted == 1
    assert report.excluded_risks == [RISKS[1]]
    assert report.map50 == pytest.approx(smut.ap50)  # the class with no ground truth is left out
    markdown = report.to_markdown()
    assert f"| {RISKS[1]} | 0 | 0 | 1 | 0 | 0.000 | n/a | n/a | n/a | n/a |" in markdown
    assert "not in the mean" in markdown and "P/R/F1 at confidence ≥ 0.25" in markdown
    assert report.mean_iou == pytest.approx(1.0)


def test_unranked_source_gets_no_map():
    truth = {"a.jpg": [_det(RISKS[0], 1, 0.1)]}
    preds = {"a.jpg": Prediction(source="gemini", detections=[_det(RISKS[0], 0.6, 0.12)])}
    report = evaluate(truth, preds, RISKS, thresholds=Thresholds(map_conf=None, operating_conf=0.0))
    assert report.map50 is None and report.per_risk[0].ap50 is None
    assert report.per_risk[0].true_positives == 1 and 0.8 < report.mean_iou < 1.0


def test_missing_prediction_counts_as_error(tmp_path):
    truth = {"a.jpg": [_det(RISKS[0], 1, 0.1)]}
    report = evaluate(truth, {}, RISKS, source="gemini")
    assert report.n_errors == 1 and report.per_risk[0].recall == 0
    json_path, md_path = report.write(tmp_path)
    assert EvaluationReport.read(json_path) == report
    assert "| maize-smut | 1 | 1 | 0 | 0 |" in md_path.read_text()


def test_yolo_ground_truth_and_comparison(tmp_path):
    data_yaml = generate_leaf_dataset(tmp_path / "ds", RISKS, images_per_class=4, imgsz=64)
    assert dataset_risk_ids(data_yaml) == RISKS
    truth = load_yolo_ground_truth(data_yaml, "val")
    assert len(truth) == 2 and all(truth.values())
    oracle = {k: Prediction(source="oracle", detections=v) for k, v in truth.items()}
    blind = {k: Prediction(source="blind", detections=[]) for k in truth}
    a, b = evaluate(truth, oracle, RISKS), evaluate(truth, blind, RISKS)
    assert (a.map50, b.map50) == (1.0, 0.0)
    comparison = compare_reports(a, b)
    assert comparison.agreement == 0.0 and comparison.n_common_images == 2
    markdown = comparison.to_markdown()
    assert "oracle vs blind" in markdown and "| mAP@0.5 (COCO) | 1.000 | 0.000 |" in markdown
    assert compare_reports(a, a).agreement == 1.0


def test_box_agreement_needs_the_same_risk_at_the_same_place():
    a = [_det(RISKS[0], 0.9, 0.1), _det(RISKS[1], 0.8, 0.5)]
    assert box_agreement(a, a) == 1.0 and box_agreement([], []) == 1.0
    assert box_agreement(a, [_det(RISKS[0], 0.5, 0.1)]) == pytest.approx(2 / 3)
    assert box_agreement(a, [_det(RISKS[1], 0.5, 0.1)]) == 0.0  # same place, other risk


def test_relative_data_yaml_resolves_beside_itself(tmp_path, monkeypatch):
    generate_leaf_dataset(tmp_path / "ds", RISKS, images_per_class=2, imgsz=32)
    (tmp_path / "ds" / "data.yaml").write_text(
        "train: images/train\nval: images/val\nnames:\n  0: maize-smut\n  1: maize-corn-borer\n"
    )
    monkeypatch.chdir(tmp_path)
    assert len(load_yolo_ground_truth("ds/data.yaml", "val")) == 2


def test_procedural_leaves_have_boxes_inside_the_image():
    rng = random.Random(1)
    for index in range(8):
        image, boxes = draw_leaf(index, rng, 96)
        assert image.size == (96, 96) and boxes
        assert all(0 <= b.x1 < b.x2 <= 1 and 0 <= b.y1 < b.y2 <= 1 for b in boxes)


def test_image_features_see_darkness_and_blur():
    from PIL import ImageEnhance, ImageFilter

    from agrorisk_common.features import image_features, prediction_features

    image, boxes = draw_leaf(0, random.Random(3), 256)
    base = image_features(image)
    dark = image_features(ImageEnhance.Brightness(image).enhance(0.4))
    blurred = image_features(image.filter(ImageFilter.GaussianBlur(4)))
    assert dark["brightness"] < 0.6 * base["brightness"]
    assert blurred["sharpness"] < 0.5 * base["sharpness"]
    assert base["width"] == 256 and base["aspect_ratio"] == 1.0
    assert abs(sum(base[f"hue_{i}"] for i in range(8)) - 1.0) < 1e-6
    pred = Prediction(source="yolo", detections=[_det(RISKS[0], 0.8, 0.1), _det(RISKS[1], 0.4, 0.5)])
    out = prediction_features(pred)
    assert out["top_risk"] == RISKS[0] and out["n_boxes"] == 2 and abs(out["mean_confidence"] - 0.6) < 1e-9
