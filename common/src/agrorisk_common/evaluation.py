"""One evaluation report format for every recogniser (YOLO, Gemini, …) so they compare directly.

Matching: a prediction is a true positive when it overlaps an unmatched ground-truth box of the
same risk with IoU >= the threshold (greedy, highest confidence first, as in VOC/COCO).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, Field

from agrorisk_common.catalog import ClassMap
from agrorisk_common.detection import Detection, Prediction, iou, match_by_iou

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


class RiskMetrics(BaseModel):
    risk_id: str
    n_ground_truth: int
    n_predicted: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    ap50: float


class ImageResult(BaseModel):
    image: str
    ground_truth: list[Detection]
    detections: list[Detection]
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
    model_version: str | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    iou_threshold: float
    n_images: int
    n_errors: int
    per_risk: list[RiskMetrics]
    map50: float
    precision: float
    recall: float
    f1: float
    image_accuracy: float
    latency_mean_ms: float | None
    latency_p95_ms: float | None
    cost_total_usd: float
    cost_per_image_usd: float
    per_image: list[ImageResult]

    def to_markdown(self) -> str:
        lines = [
            f"# Evaluation: {self.source}" + (f" ({self.model_version})" if self.model_version else ""),
            "",
            f"Dataset: `{self.dataset}` · images: {self.n_images} · errors: {self.n_errors} · "
            f"IoU ≥ {self.iou_threshold}",
            "",
            "| metric | value |",
            "|---|---|",
            f"| mAP@0.5 | {self.map50:.3f} |",
            f"| precision | {self.precision:.3f} |",
            f"| recall | {self.recall:.3f} |",
            f"| F1 | {self.f1:.3f} |",
            f"| image-level accuracy | {self.image_accuracy:.3f} |",
            f"| latency mean / p95, ms | {_fmt(self.latency_mean_ms)} / {_fmt(self.latency_p95_ms)} |",
            f"| cost total / per image, USD | {self.cost_total_usd:.6f} / {self.cost_per_image_usd:.6f} |",
            "",
            "| risk | GT | predicted | TP | precision | recall | F1 | AP50 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {m.risk_id} | {m.n_ground_truth} | {m.n_predicted} | {m.true_positives} | {m.precision:.3f} | "
            f"{m.recall:.3f} | {m.f1:.3f} | {m.ap50:.3f} |"
            for m in self.per_risk
        ]
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


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _average_precision(scores: list[float], hits: list[bool], n_gt: int) -> float:
    """All-point interpolated AP (VOC 2010+) from per-prediction scores and hit flags."""
    if n_gt == 0 or not scores:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(hits, dtype=float)[order]
    cum_tp, cum_fp = np.cumsum(tp), np.cumsum(1 - tp)
    recall = cum_tp / n_gt
    precision = cum_tp / np.maximum(cum_tp + cum_fp, 1e-12)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def _match_image(gt: Sequence[Detection], dets: Sequence[Detection], threshold: float) -> list[bool]:
    """Hit flag per detection: matched to a free same-risk ground truth box, highest confidence first."""
    hits = [False] * len(dets)
    used: set[int] = set()
    for i in sorted(range(len(dets)), key=lambda k: -dets[k].confidence):
        best, best_iou = None, threshold
        for j, g in enumerate(gt):
            if j in used or g.risk_id != dets[i].risk_id:
                continue
            score = iou(dets[i].box, g.box)
            if score >= best_iou:
                best, best_iou = j, score
        if best is not None:
            used.add(best)
            hits[i] = True
    return hits


def evaluate(
    ground_truth: Mapping[str, Sequence[Detection]],
    predictions: Mapping[str, Prediction],
    risk_ids: Sequence[str],
    iou_threshold: float = 0.5,
    source: str | None = None,
    dataset: str = "",
) -> EvaluationReport:
    """Score predictions against ground truth, image by image. An image without a prediction
    counts as an error with no detections."""
    per_risk_scores: dict[str, list[float]] = {r: [] for r in risk_ids}
    per_risk_hits: dict[str, list[bool]] = {r: [] for r in risk_ids}
    per_risk_gt = dict.fromkeys(risk_ids, 0)
    results, latencies, total_cost, errors = [], [], 0.0, 0
    model_version = None
    for image, gt in ground_truth.items():
        pred = predictions.get(image)
        if pred is None:
            pred = Prediction(source=source or "unknown", error="no prediction for this image")
        if pred.error:
            errors += 1
        model_version = model_version or pred.model_version
        dets = list(pred.detections)
        hits = _match_image(gt, dets, iou_threshold)
        for g in gt:
            per_risk_gt[g.risk_id] = per_risk_gt.get(g.risk_id, 0) + 1
        for det, hit in zip(dets, hits, strict=True):
            per_risk_scores.setdefault(det.risk_id, []).append(det.confidence)
            per_risk_hits.setdefault(det.risk_id, []).append(hit)
        true_risks = {g.risk_id for g in gt}
        top = max(dets, key=lambda d: d.confidence).risk_id if dets else None
        correct = (top in true_risks) if true_risks else top is None
        if pred.latency_ms is not None:
            latencies.append(pred.latency_ms)
        total_cost += pred.cost_usd or 0.0
        tp = sum(hits)
        results.append(
            ImageResult(
                image=image,
                ground_truth=list(gt),
                detections=dets,
                true_positives=tp,
                false_positives=len(dets) - tp,
                false_negatives=len(gt) - tp,
                correct=correct,
                latency_ms=pred.latency_ms,
                cost_usd=pred.cost_usd,
                error=pred.error,
            )
        )
    metrics = []
    for risk_id in dict.fromkeys([*risk_ids, *per_risk_scores]):
        n_gt, hits = per_risk_gt.get(risk_id, 0), per_risk_hits.get(risk_id, [])
        tp = sum(hits)
        p = tp / len(hits) if hits else 0.0
        r = tp / n_gt if n_gt else 0.0
        metrics.append(
            RiskMetrics(
                risk_id=risk_id,
                n_ground_truth=n_gt,
                n_predicted=len(hits),
                true_positives=tp,
                precision=p,
                recall=r,
                f1=_f1(p, r),
                ap50=_average_precision(per_risk_scores.get(risk_id, []), hits, n_gt),
            )
        )
    with_gt = [m for m in metrics if m.n_ground_truth]
    all_tp = sum(m.true_positives for m in metrics)
    all_pred = sum(m.n_predicted for m in metrics)
    all_gt = sum(m.n_ground_truth for m in metrics)
    precision = all_tp / all_pred if all_pred else 0.0
    recall = all_tp / all_gt if all_gt else 0.0
    n = len(results)
    return EvaluationReport(
        source=source or next((p.source for p in predictions.values()), "unknown"),
        dataset=dataset,
        model_version=model_version,
        iou_threshold=iou_threshold,
        n_images=n,
        n_errors=errors,
        per_risk=metrics,
        map50=float(np.mean([m.ap50 for m in with_gt])) if with_gt else 0.0,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        image_accuracy=sum(r.correct for r in results) / n if n else 0.0,
        latency_mean_ms=float(np.mean(latencies)) if latencies else None,
        latency_p95_ms=float(np.percentile(latencies, 95)) if latencies else None,
        cost_total_usd=total_cost,
        cost_per_image_usd=total_cost / n if n else 0.0,
        per_image=results,
    )


class RiskComparison(BaseModel):
    risk_id: str
    a: RiskMetrics | None
    b: RiskMetrics | None


class ComparisonReport(BaseModel):
    a_source: str
    b_source: str
    dataset: str
    n_common_images: int
    agreement: float = Field(description="share of images where both found the same risks at matching places")
    mean_pair_iou: float | None
    a_map50: float
    b_map50: float
    a_latency_p95_ms: float | None
    b_latency_p95_ms: float | None
    a_cost_per_correct_usd: float | None
    b_cost_per_correct_usd: float | None
    per_risk: list[RiskComparison]

    def to_markdown(self) -> str:
        a, b = self.a_source, self.b_source
        lines = [
            f"# {a} vs {b}",
            "",
            f"Dataset: `{self.dataset}` · common images: {self.n_common_images} · "
            f"agreement: {self.agreement:.3f} · mean IoU of matched pairs: {_fmt_f(self.mean_pair_iou)}",
            "",
            f"| | {a} | {b} |",
            "|---|---|---|",
            f"| mAP@0.5 | {self.a_map50:.3f} | {self.b_map50:.3f} |",
            f"| latency p95, ms | {_fmt(self.a_latency_p95_ms)} | {_fmt(self.b_latency_p95_ms)} |",
            f"| cost per correct detection, USD | {_fmt_f(self.a_cost_per_correct_usd, 6)} | "
            f"{_fmt_f(self.b_cost_per_correct_usd, 6)} |",
            "",
            f"| risk | {a} P | {a} R | {a} AP50 | {b} P | {b} R | {b} AP50 |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in self.per_risk:
            cells = []
            for m in (row.a, row.b):
                cells += (
                    ["—"] * 3 if m is None else [f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.ap50:.3f}"]
                )
            lines.append(f"| {row.risk_id} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _fmt_f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _cost_per_correct(report: EvaluationReport) -> float | None:
    tp = sum(m.true_positives for m in report.per_risk)
    return report.cost_total_usd / tp if tp else None


def compare_reports(a: EvaluationReport, b: EvaluationReport, iou_threshold: float = 0.5) -> ComparisonReport:
    """Put two reports on the same set side by side, with per-image agreement by IoU matching."""
    a_images = {r.image: r for r in a.per_image}
    b_images = {r.image: r for r in b.per_image}
    common = [image for image in a_images if image in b_images]
    agree, pair_ious = 0, []
    for image in common:
        left, right = a_images[image].detections, b_images[image].detections
        pairs, only_left, only_right = match_by_iou(left, right, iou_threshold, same_risk_only=True)
        pair_ious += [p.iou for p in pairs]
        agree += not only_left and not only_right
    risks = dict.fromkeys([m.risk_id for m in a.per_risk] + [m.risk_id for m in b.per_risk])
    a_by, b_by = {m.risk_id: m for m in a.per_risk}, {m.risk_id: m for m in b.per_risk}
    return ComparisonReport(
        a_source=a.source,
        b_source=b.source,
        dataset=a.dataset or b.dataset,
        n_common_images=len(common),
        agreement=agree / len(common) if common else 0.0,
        mean_pair_iou=float(np.mean(pair_ious)) if pair_ious else None,
        a_map50=a.map50,
        b_map50=b.map50,
        a_latency_p95_ms=a.latency_p95_ms,
        b_latency_p95_ms=b.latency_p95_ms,
        a_cost_per_correct_usd=_cost_per_correct(a),
        b_cost_per_correct_usd=_cost_per_correct(b),
        per_risk=[RiskComparison(risk_id=r, a=a_by.get(r), b=b_by.get(r)) for r in risks],
    )


def dataset_risk_ids(data_yaml: str | Path) -> list[str]:
    """Class names (= risk ids) of an Ultralytics data.yaml, in class-index order."""
    names = yaml.safe_load(Path(data_yaml).read_text()).get("names")
    if isinstance(names, dict):
        return [names[k] for k in sorted(names, key=int)]
    if isinstance(names, list):
        return list(names)
    raise ValueError(f"{data_yaml}: no 'names' list or mapping")


def load_yolo_ground_truth(data_yaml: str | Path, split: str = "val") -> dict[str, list[Detection]]:
    """Ground truth of one split of a YOLO dataset: {absolute image path: detections}."""
    data_yaml = Path(data_yaml)
    config = yaml.safe_load(data_yaml.read_text())
    if split not in config:
        raise ValueError(f"{data_yaml}: no '{split}' split")
    root = Path(config.get("path") or data_yaml.parent)
    if not root.is_absolute():
        root = (data_yaml.parent / root).resolve()
    images_dir = root / config[split]
    class_map = ClassMap(tuple(dataset_risk_ids(data_yaml)))
    truth: dict[str, list[Detection]] = {}
    for image in sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        rel = image.relative_to(images_dir)
        label = root / Path(str(config[split]).replace("images", "labels", 1)) / rel.with_suffix(".txt")
        lines = label.read_text().splitlines() if label.exists() else []
        truth[str(image)] = [Detection.from_yolo_line(line, class_map) for line in lines if line.strip()]
    return truth
