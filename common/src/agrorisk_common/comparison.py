"""Two recognisers on the same photos in one table: per class P/R/F1 at each one's operating point,
mAP where the source is ranked, box IoU, latency and cost per 1,000 images, and their agreement."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from agrorisk_common.detection import Detection, match_by_iou
from agrorisk_common.evaluation import MATCH_IOU, EvaluationReport, RiskMetrics, format_metric


def box_agreement(
    left: Sequence[Detection], right: Sequence[Detection], iou_threshold: float = MATCH_IOU
) -> float:
    """How far two recognisers agree on one photo: 2 × boxes paired one-to-one with a box of the
    same risk at IoU ≥ the threshold (the evaluator's matching rule) / all boxes; 1.0 when both
    found nothing. The backend's compare answer and the data-set comparison both use it."""
    total = len(left) + len(right)
    if total == 0:
        return 1.0
    pairs, _, _ = match_by_iou(left, right, iou_threshold, same_risk_only=True)
    return 2 * len(pairs) / total


class RiskComparison(BaseModel):
    risk_id: str
    a: RiskMetrics | None
    b: RiskMetrics | None


class SourceSummary(BaseModel):
    """One recogniser's headline numbers on the common photos' report."""

    source: str
    model_version: str | None
    map50: float | None
    map50_95: float | None
    precision: float
    recall: float
    f1: float
    mean_iou: float | None
    operating_conf: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_per_1000_images_usd: float
    cost_basis: str

    @classmethod
    def of(cls, report: EvaluationReport) -> SourceSummary:
        return cls(
            operating_conf=report.thresholds.operating_conf,
            **report.model_dump(include=set(cls.model_fields) - {"operating_conf"}),
        )


class ComparisonReport(BaseModel):
    dataset: str
    n_common_images: int
    match_iou: float
    agreement: float = Field(
        description="mean over the photos of `box_agreement`: 1 = same risks at the same places"
    )
    mean_pair_iou: float | None = Field(description="mean IoU of boxes the two matched to each other")
    a: SourceSummary
    b: SourceSummary
    per_risk: list[RiskComparison]

    def to_markdown(self) -> str:
        ra, rb = self.a, self.b
        a, b = ra.source, rb.source
        summary = [
            ("model version", ra.model_version or "—", rb.model_version or "—"),
            ("mAP@0.5 (COCO)", format_metric(ra.map50), format_metric(rb.map50)),
            ("mAP@0.5:0.95 (COCO)", format_metric(ra.map50_95), format_metric(rb.map50_95)),
            ("precision", format_metric(ra.precision), format_metric(rb.precision)),
            ("recall", format_metric(ra.recall), format_metric(rb.recall)),
            ("F1", format_metric(ra.f1), format_metric(rb.f1)),
            ("mean IoU with ground truth", format_metric(ra.mean_iou), format_metric(rb.mean_iou)),
            ("operating confidence", str(ra.operating_conf), str(rb.operating_conf)),
            ("latency p50, ms", format_metric(ra.latency_p50_ms, 1), format_metric(rb.latency_p50_ms, 1)),
            ("latency p95, ms", format_metric(ra.latency_p95_ms, 1), format_metric(rb.latency_p95_ms, 1)),
            (
                "cost per 1,000 images, USD",
                f"{ra.cost_per_1000_images_usd:.4f}",
                f"{rb.cost_per_1000_images_usd:.4f}",
            ),
            ("cost basis", ra.cost_basis or "—", rb.cost_basis or "—"),
        ]
        lines = [
            f"# {a} vs {b}",
            "",
            f"Dataset: `{self.dataset}` · common images: {self.n_common_images} · agreement "
            f"(same risks, IoU ≥ {self.match_iou}, 1 = identical): {self.agreement:.3f} · mean IoU of their "
            f"paired boxes: {format_metric(self.mean_pair_iou)}",
            "",
            f"| | {a} | {b} |",
            "|---|---|---|",
            *(f"| {name} | {x} | {y} |" for name, x, y in summary),
            "",
            f"| risk | GT | {a} P | {a} R | {a} F1 | {a} AP50 | {b} P | {b} R | {b} F1 | {b} AP50 |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in self.per_risk:
            known = row.a or row.b
            cells = []
            for m in (row.a, row.b):
                cells += (
                    ["—"] * 4
                    if m is None
                    else [format_metric(v) for v in (m.precision, m.recall, m.f1, m.ap50)]
                )
            lines.append(
                f"| {row.risk_id} | {known.n_ground_truth if known else 0} | " + " | ".join(cells) + " |"
            )
        return "\n".join(lines) + "\n"


def compare_reports(a: EvaluationReport, b: EvaluationReport) -> ComparisonReport:
    """Put two reports on the same photos side by side, with per-image agreement."""
    b_images = {r.image: r for r in b.per_image}
    common = [r for r in a.per_image if r.image in b_images]
    agree, pair_ious = 0.0, []
    iou_threshold = a.thresholds.match_iou
    for left in common:
        right = b_images[left.image]
        pairs, _, _ = match_by_iou(left.detections, right.detections, iou_threshold, same_risk_only=True)
        pair_ious += [p.iou for p in pairs]
        agree += box_agreement(left.detections, right.detections, iou_threshold)
    risks = dict.fromkeys([m.risk_id for m in a.per_risk] + [m.risk_id for m in b.per_risk])
    if not common:
        raise ValueError("the two reports share no images; were they made on the same photos?")
    return ComparisonReport(
        a=SourceSummary.of(a),
        b=SourceSummary.of(b),
        match_iou=iou_threshold,
        dataset=a.dataset or b.dataset,
        n_common_images=len(common),
        agreement=agree / len(common) if common else 0.0,
        mean_pair_iou=float(np.mean(pair_ious)) if pair_ious else None,
        per_risk=[RiskComparison(risk_id=r, a=a.metrics(r), b=b.metrics(r)) for r in risks],
    )
