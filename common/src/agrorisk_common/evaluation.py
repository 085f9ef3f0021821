"""One evaluator, with standard definitions, for every recogniser (YOLO, Gemini, …).

- mAP@0.5 and mAP@0.5:0.95 are COCO's (pycocotools), computed from every detection a ranked
  model gives at a low confidence floor — as `yolo val` does (conf 0.001, NMS IoU 0.7, 300 boxes).
- Precision, recall and F1 are counted at the operating point the server uses (its confidence and
  NMS thresholds), from COCO's own one-to-one matching at IoU 0.5 with the class required to match.
- A class without ground truth in the split has no AP (`n/a`) and stays out of the mean; the
  report lists it. A source without calibrated scores (Gemini) gets no mAP, only its operating point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from agrorisk_common.coco_metrics import ScoredImage, coco_evaluate
from agrorisk_common.detection import Detection, Prediction

MAP_CONF = 0.001  # Ultralytics `val` defaults
MAP_NMS_IOU = 0.7
MAX_DET = 300
OPERATING_CONF = 0.25  # the serving defaults (AGRORISK_RAY_CONF_THRESHOLD, _IOU_THRESHOLD)
OPERATING_NMS_IOU = 0.45
MATCH_IOU = 0.5


class Thresholds(BaseModel):
    map_conf: float | None = Field(
        description="confidence floor of the detections scored for mAP; None: no mAP"
    )
    nms_iou: float | None = Field(default=None, description="NMS IoU the model ran with for mAP")
    max_det: int = MAX_DET
    operating_conf: float = Field(description="P/R/F1 count detections at or above this confidence")
    operating_nms_iou: float | None = Field(default=None, description="NMS IoU of the operating-point run")
    match_iou: float = MATCH_IOU
    imgsz: int | None = None


class RiskMetrics(BaseModel):
    risk_id: str
    n_images: int = Field(description="images with ground truth of this class")
    n_ground_truth: int
    n_predicted: int = Field(description="detections at the operating threshold")
    true_positives: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap50: float | None = Field(description="None: no ground truth in this split, or an unranked source")
    ap50_95: float | None


class ImageResult(BaseModel):
    image: str
    ground_truth: list[Detection]
    detections: list[Detection] = Field(description="at the operating threshold")
    true_positives: int
    false_positives: int
    false_negatives: int
    correct: bool = Field(description="top-confidence risk is one of the true risks (or both say healthy)")
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = None


class EvaluationReport(BaseModel):
    source: str
    dataset: str = ""
    dataset_version: str | None = None
    model_version: str | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    thresholds: Thresholds
    n_images: int
    n_errors: int
    per_risk: list[RiskMetrics]
    excluded_risks: list[str] = Field(description="classes with no ground truth here: n/a, not in the mean")
    map50: float | None
    map50_95: float | None
    precision: float
    recall: float
    f1: float
    mean_iou: float | None = Field(description="mean IoU of matched detection/ground-truth pairs")
    image_accuracy: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_total_usd: float
    cost_per_1000_images_usd: float
    cost_basis: str = ""
    per_image: list[ImageResult]

    def metrics(self, risk_id: str) -> RiskMetrics | None:
        return next((m for m in self.per_risk if m.risk_id == risk_id), None)

    def to_markdown(self) -> str:
        t = self.thresholds
        lines = [
            f"# Evaluation: {self.source}" + (f" ({self.model_version})" if self.model_version else ""),
            "",
            f"Dataset: `{self.dataset}`"
            + (f" version {self.dataset_version}" if self.dataset_version else "")
            + f" · images: {self.n_images} · errors: {self.n_errors} · image size: {t.imgsz or '—'}",
            f"Thresholds: mAP from detections ≥ {format_metric(t.map_conf, 3)} (NMS IoU {format_metric(t.nms_iou, 2)}, "
            f"≤ {t.max_det} per image) · P/R/F1 at confidence ≥ {t.operating_conf}"
            + (f", NMS IoU {t.operating_nms_iou}" if t.operating_nms_iou is not None else "")
            + f" · match IoU ≥ {t.match_iou}",
            "",
            "| metric | value |",
            "|---|---|",
            f"| mAP@0.5 (COCO) | {format_metric(self.map50)} |",
            f"| mAP@0.5:0.95 (COCO) | {format_metric(self.map50_95)} |",
            f"| precision / recall / F1 | {self.precision:.3f} / {self.recall:.3f} / {self.f1:.3f} |",
            f"| mean IoU of matches | {format_metric(self.mean_iou)} |",
            f"| image-level accuracy | {self.image_accuracy:.3f} |",
            f"| latency p50 / p95, ms | {format_metric(self.latency_p50_ms, 1)} / {format_metric(self.latency_p95_ms, 1)} |",
            f"| cost per 1,000 images, USD | {self.cost_per_1000_images_usd:.4f} ({self.cost_basis or '—'}) |",
            "",
            "| risk | images | GT | predicted | TP | P | R | F1 | AP50 | AP50-95 |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {m.risk_id} | {m.n_images} | {m.n_ground_truth} | {m.n_predicted} | {m.true_positives} | "
            f"{format_metric(m.precision)} | {format_metric(m.recall)} | {format_metric(m.f1)} | {format_metric(m.ap50)} | {format_metric(m.ap50_95)} |"
            for m in self.per_risk
        ]
        if self.excluded_risks:
            lines += ["", f"No ground truth here (n/a, not in the mean): {', '.join(self.excluded_risks)}."]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path, stem: str | None = None) -> tuple[Path, Path]:
        """Write `<stem>.json` and `<stem>.md` into out_dir; returns both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stem = stem or f"report-{self.source}"
        json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
        json_path.write_text(self.model_dump_json(indent=2))
        md_path.write_text(self.to_markdown())
        return json_path, md_path

    @classmethod
    def read(cls, path: str | Path) -> EvaluationReport:
        return cls.model_validate_json(Path(path).read_text())


def format_metric(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    if r == 0.0:
        return 0.0  # ground truth that nothing found
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(
    ground_truth: Mapping[str, Sequence[Detection]],
    predictions: Mapping[str, Prediction],
    risk_ids: Sequence[str],
    *,
    thresholds: Thresholds | None = None,
    source: str | None = None,
    dataset: str = "",
    dataset_version: str | None = None,
    model_version: str | None = None,
    cost_basis: str = "",
    operating: Mapping[str, Prediction] | None = None,
) -> EvaluationReport:
    """Score predictions against ground truth. For mAP, `predictions` hold every detection down to
    `thresholds.map_conf`; `map_conf=None` marks an unranked source (no mAP). `operating` are the
    answers of the serving path (P/R/F1, latency, cost); without it, `predictions` at or above the
    operating confidence. An image without a prediction counts as an error with no detections."""
    t = thresholds or Thresholds(map_conf=MAP_CONF, nms_iou=MAP_NMS_IOU, operating_conf=OPERATING_CONF)
    images = list(ground_truth)

    def answer(source_map: Mapping[str, Prediction], image: str) -> Prediction:
        return source_map.get(image) or Prediction(
            source=source or "unknown", error="no prediction for this image"
        )

    ranked_preds = [answer(predictions, i) for i in images]
    preds = [answer(operating, i) for i in images] if operating is not None else ranked_preds
    kept = [[d for d in p.detections if d.confidence >= t.operating_conf] for p in preds]

    def scored(dets: Sequence[Sequence[Detection]]) -> list[ScoredImage]:
        return [
            ScoredImage(ground_truth[i], d, p.image_width, p.image_height)
            for i, d, p in zip(images, dets, preds, strict=True)
        ]

    at_op = coco_evaluate(scored(kept), risk_ids, max_det=t.max_det, match_iou=t.match_iou)
    ranked = (
        coco_evaluate(scored([p.detections for p in ranked_preds]), risk_ids, max_det=t.max_det)
        if (t.map_conf is not None)
        else None
    )
    names = list(at_op.ap50)
    n_gt = dict.fromkeys(names, 0)
    n_img = dict.fromkeys(names, 0)
    n_pred = dict.fromkeys(names, 0)
    n_tp = dict.fromkeys(names, 0)
    results = []
    for image, pred, dets, hits in zip(images, preds, kept, at_op.hits, strict=True):
        gt = ground_truth[image]
        for g in gt:
            n_gt[g.risk_id] += 1
        for risk in {g.risk_id for g in gt}:
            n_img[risk] += 1
        for d, hit in zip(dets, hits, strict=True):
            n_pred[d.risk_id] += 1
            n_tp[d.risk_id] += hit
        true_risks = {g.risk_id for g in gt}
        top = max(dets, key=lambda d: d.confidence).risk_id if dets else None
        tp = sum(hits)
        results.append(
            ImageResult(
                image=image, ground_truth=list(gt), detections=dets, true_positives=tp,
                false_positives=len(dets) - tp, false_negatives=len(gt) - tp,
                correct=(top in true_risks) if true_risks else top is None,
                latency_ms=pred.latency_ms, cost_usd=pred.cost_usd, error=pred.error,
            )
        )  # fmt: skip
    per_risk = []
    for risk in names:
        p, r = _ratio(n_tp[risk], n_pred[risk]), _ratio(n_tp[risk], n_gt[risk])
        per_risk.append(
            RiskMetrics(
                risk_id=risk, n_images=n_img[risk], n_ground_truth=n_gt[risk], n_predicted=n_pred[risk],
                true_positives=n_tp[risk], precision=p, recall=r, f1=_f1(p, r),
                ap50=ranked.ap50[risk] if ranked else None, ap50_95=ranked.ap50_95[risk] if ranked else None,
            )
        )  # fmt: skip
    excluded = [risk for risk in names if not n_gt[risk]]
    all_tp, all_pred, all_gt = sum(n_tp.values()), sum(n_pred.values()), sum(n_gt.values())
    precision, recall = _ratio(all_tp, all_pred) or 0.0, _ratio(all_tp, all_gt) or 0.0
    latencies = [p.latency_ms for p in preds if p.latency_ms is not None]
    total_cost = float(sum(p.cost_usd or 0.0 for p in preds))
    n = len(results)

    def mean_ap(values: Mapping[str, float | None]) -> float | None:
        scored_values = [v for v in values.values() if v is not None]
        return float(np.mean(scored_values)) if scored_values else None

    return EvaluationReport(
        source=source or next((p.source for p in predictions.values()), "unknown"),
        dataset=dataset,
        dataset_version=dataset_version,
        model_version=model_version or next((p.model_version for p in ranked_preds if p.model_version), None),
        thresholds=t,
        n_images=n,
        n_errors=sum(p.error is not None for p in preds),
        per_risk=per_risk,
        excluded_risks=excluded,
        map50=mean_ap(ranked.ap50) if ranked else None,
        map50_95=mean_ap(ranked.ap50_95) if ranked else None,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall) or 0.0,
        mean_iou=float(np.mean(at_op.matched_ious)) if at_op.matched_ious else None,
        image_accuracy=sum(r.correct for r in results) / n if n else 0.0,
        latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else None,
        latency_p95_ms=float(np.percentile(latencies, 95)) if latencies else None,
        cost_total_usd=total_cost,
        cost_per_1000_images_usd=1000 * total_cost / n if n else 0.0,
        cost_basis=cost_basis,
        per_image=results,
    )
