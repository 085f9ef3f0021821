"""Evaluate Gemini on a labelled YOLO split, in the shared report format of `agrorisk_common.evaluation`."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from agrorisk_common.catalog import Catalog
from agrorisk_common.evaluation import EvaluationReport, Thresholds, evaluate
from agrorisk_common.yolo_data import dataset_risk_ids, load_yolo_ground_truth
from agrorisk_gemini.batch import predict_batch
from agrorisk_gemini.client import GeminiDetector, GeminiResult
from agrorisk_gemini.few_shot import load_examples
from agrorisk_gemini.pricing import CostMode, Usage
from agrorisk_gemini.settings import GeminiSettings

REPORT_STEM = "report-gemini"
RUN_SUMMARY = "gemini-run.json"


def detector_for_dataset(
    settings: GeminiSettings, catalog: Catalog, data_yaml: Path, split: str
) -> GeminiDetector:
    """A detector asked about exactly the dataset's risks, with few-shot examples when configured.

    Raises ValueError when a class is not in the catalog or examples would come from the evaluated split.
    """
    risk_ids = dataset_risk_ids(data_yaml)
    missing = [r for r in risk_ids if r not in catalog]
    if missing:
        raise ValueError(f"{data_yaml}: classes not in the risk catalog: {', '.join(missing)}")
    settings = settings.model_copy(update={"risk_ids": risk_ids})
    return GeminiDetector(settings, catalog, examples=few_shot_examples(settings, risk_ids, data_yaml, split))


def few_shot_examples(settings: GeminiSettings, risk_ids: Sequence[str], eval_yaml: Path | None, split: str):
    """The configured few-shot examples (none in zero-shot mode)."""
    if not settings.few_shot_dataset or settings.few_shot_per_risk == 0:
        return []
    same_set = eval_yaml is not None and settings.few_shot_dataset.resolve() == eval_yaml.resolve()
    if same_set and settings.few_shot_split == split:
        raise ValueError(
            f"few-shot examples would come from the evaluated split '{split}'; use another split"
        )
    return load_examples(
        settings.few_shot_dataset, settings.few_shot_split, risk_ids, settings.few_shot_per_risk
    )


@dataclass
class EvaluationRun:
    report: EvaluationReport
    json_path: Path
    md_path: Path
    summary_path: Path
    summary: dict


async def predict_all(
    detector: GeminiDetector, images: Sequence[str], mode: CostMode, on_done: Callable[[int], None]
) -> dict[str, GeminiResult]:
    """Predict every image: concurrent calls (bounded by the detector) or Batch API jobs."""
    if mode is CostMode.BATCH:
        return await predict_batch(detector, {i: Path(i).read_bytes() for i in images}, on_done)

    async def one(image: str) -> tuple[str, GeminiResult]:
        result = await detector.predict_detailed(Path(image).read_bytes())
        on_done(1)
        return image, result

    return dict(await asyncio.gather(*(one(i) for i in images)))


def run_summary(detector: GeminiDetector, results: dict[str, GeminiResult], mode: CostMode) -> dict:
    """Tokens, cost by part, answer problems and attempts over the run (beside the shared report)."""
    usage = sum((r.usage for r in results.values()), Usage())
    parts = ("input_usd", "cached_input_usd", "output_usd", "thinking_usd")
    costs = {p: sum((getattr(r.cost, p) for r in results.values() if r.cost), Decimal(0)) for p in parts}
    issues = Counter(i.kind.value for r in results.values() for i in r.issues)
    return {
        "model": detector.settings.model,
        "mode": mode.value,
        "few_shot_examples": len(detector.examples),
        "context_cache": detector.settings.use_cache,
        "n_images": len(results),
        "usage": usage.model_dump(),
        "cost_usd": {p: str(v) for p, v in costs.items()} | {"total": str(sum(costs.values()))},
        "validation_issues": dict(issues),
        "errors": sum(r.prediction.error is not None for r in results.values()),
        "attempts": sum(r.attempts for r in results.values()),
        "prices": {"source": detector.prices.source, "checked_on": detector.prices.checked_on},
    }


async def evaluate_dataset(
    detector: GeminiDetector,
    data_yaml: Path,
    split: str,
    out_dir: Path,
    mode: CostMode = CostMode.STANDARD,
    on_done: Callable[[int], None] = lambda _n: None,
) -> EvaluationRun:
    """Predict the split, score it with the shared evaluator and write report JSON + Markdown + run summary.

    Gemini's boxes carry no calibrated score: it is scored at its operating point (every box it
    gives), with no mAP; cost comes from each answer's usage metadata and the price table."""
    ground_truth = load_yolo_ground_truth(data_yaml, split)
    if not ground_truth:
        raise ValueError(f"{data_yaml}: split '{split}' has no images")
    results = await predict_all(detector, list(ground_truth), mode, on_done)
    report = evaluate(
        ground_truth,
        {image: r.prediction for image, r in results.items()},
        detector.class_map.risk_ids,
        thresholds=Thresholds(map_conf=None, operating_conf=0.0),
        source="gemini",
        dataset=f"{data_yaml.parent.name}:{split}",
        model_version=detector.settings.model,
        cost_basis=f"usage metadata × {detector.settings.model} prices ({detector.prices.checked_on})",
    )
    json_path, md_path = report.write(out_dir, stem=REPORT_STEM)
    summary = run_summary(detector, results, mode)
    summary_path = out_dir / RUN_SUMMARY
    summary_path.write_text(json.dumps(summary, indent=2))
    return EvaluationRun(report, json_path, md_path, summary_path, summary)
