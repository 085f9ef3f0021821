"""`agrorisk-gemini`: recognise crop risks in photos with Gemini, evaluate it, compare it, price it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agrorisk_common.catalog import Catalog, load_catalog
from agrorisk_common.cli import cli_app, err, fail, one_line
from agrorisk_common.comparison import compare_reports
from agrorisk_common.evaluation import EvaluationReport
from agrorisk_common.logging import configure_logging
from agrorisk_common.yolo_data import load_yolo_ground_truth
from agrorisk_gemini.client import NOT_CONFIGURED, GeminiDetector, GeminiResult, select_risks
from agrorisk_gemini.dataset_eval import (
    EvaluationRun,
    detector_for_dataset,
    evaluate_dataset,
    few_shot_examples,
)
from agrorisk_gemini.estimate import estimate_scenarios, image_tokens
from agrorisk_gemini.pricing import CostMode, default_price_table
from agrorisk_gemini.prompt import build_instruction
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_gemini.thinking import thinking_config
from agrorisk_gemini.tokens import text_tokens

app = cli_app(
    "Recognise crop risks (diseases, pests, weeds, abiotic damage) in photos with Google Gemini, "
    "with the cost of every call; evaluate Gemini on a labelled YOLO set and compare it with YOLO. "
    "The API key comes from GEMINI_API_KEY (or AGRORISK_GEMINI_API_KEY); other settings from "
    "AGRORISK_GEMINI_* variables."
)
out = Console(soft_wrap=True, highlight=False)  # ids, prices and paths: no automatic colouring

CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="Risk catalog folder or CSV (default: $AGRORISK_CATALOG_DIR)."),
]
ModelOption = Annotated[str | None, typer.Option("--model", help="Gemini model id (default from settings).")]


def _run[T](action: Callable[[], T]) -> T:
    """Run a command body; expected failures become one red line and exit code 1."""
    configure_logging("WARNING")
    try:
        return action()
    except (ValueError, KeyError, OSError, yaml.YAMLError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else one_line(exc)
        raise fail(str(message)) from None


def _settings(**overrides: Any) -> GeminiSettings:
    return GeminiSettings(**{k: v for k, v in overrides.items() if v is not None})


def _catalog(path: Path | None) -> Catalog:
    return load_catalog(path)


@app.command()
def predict(
    image: Annotated[Path, typer.Argument(help="Photo to assess (JPEG, PNG, WebP, …).")],
    risk: Annotated[
        list[str] | None, typer.Option("--risk", help="Only ask about these risk ids (repeatable).")
    ] = None,
    model: ModelOption = None,
    catalog: CatalogOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Prediction as JSON.")] = False,
) -> None:
    """Ask Gemini which catalog risks IMAGE shows; print the detections and what the call cost."""

    def body() -> None:
        data = image.read_bytes()
        settings = _settings(model=model, risk_ids=risk or None)
        risks = _catalog(catalog)
        risk_ids = [r.id for r in select_risks(risks, settings.risk_ids)]
        detector = GeminiDetector(settings, risks, few_shot_examples(settings, risk_ids, None, ""))
        result = asyncio.run(_predict_once(detector, data))
        if as_json:
            out.print_json(result.prediction.model_dump_json())
        else:
            _print_result(detector, result)
        if result.prediction.error:
            raise fail(result.prediction.error)

    _run(body)


async def _predict_once(detector: GeminiDetector, data: bytes) -> GeminiResult:
    try:
        return await detector.predict_detailed(data)
    finally:
        await detector.aclose()


def _print_result(detector: GeminiDetector, result: GeminiResult) -> None:
    p = result.prediction
    table = Table(title=f"Gemini {p.model_version}: {len(p.detections)} detection(s)")
    for column in ("risk", "name", "confidence", "box (x1, y1, x2, y2)"):
        table.add_column(column)
    names = {r.id: r.name_en for r in detector.risks}
    for d in p.detections:
        box = ", ".join(f"{v:.3f}" for v in d.box.as_tuple())
        table.add_row(d.risk_id, names.get(d.risk_id, ""), f"{d.confidence:.2f}", box)
    out.print(table)
    if result.cost is not None:
        u, c = result.usage, result.cost
        out.print(
            f"tokens: prompt {u.prompt_tokens} (cached {u.cached_tokens}), answer {u.candidates_tokens}, "
            f"thinking {u.thoughts_tokens} · cost ${c.total:.6f} (input {c.input_usd:.6f}, cached "
            f"{c.cached_input_usd:.6f}, output {c.output_usd:.6f}, thinking {c.thinking_usd:.6f}) · "
            f"{p.latency_ms:.0f} ms · {result.attempts} attempt(s)"
        )
    for issue in result.issues:
        out.print(f"[yellow]answer issue:[/yellow] {issue.kind.value}: {issue.detail}")


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="data.yaml of a labelled YOLO dataset (names = risk ids).")],
    split: Annotated[str, typer.Option(help="Split to evaluate on.")] = "val",
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report-gemini.json/.md.")] = Path(
        "reports/gemini"
    ),
    batch: Annotated[bool, typer.Option("--batch", help="Use the Batch API (half price, slower).")] = False,
    few_shot_per_risk: Annotated[int | None, typer.Option(help="Examples per risk (0 = zero-shot).")] = None,
    few_shot_dataset: Annotated[
        Path | None, typer.Option(help="data.yaml whose labelled photos are the examples (default: DATASET).")
    ] = None,
    few_shot_split: Annotated[str | None, typer.Option(help="Split the examples come from.")] = None,
    cache: Annotated[
        bool | None, typer.Option("--cache/--no-cache", help="Context-cache the catalog prompt.")
    ] = None,
    model: ModelOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Run Gemini over a labelled split and write the shared evaluation report (JSON + Markdown)."""

    def body() -> None:
        if not dataset.is_file():
            raise ValueError(f"{dataset}: no such data.yaml")
        settings = _settings(
            model=model,
            use_cache=cache,
            few_shot_per_risk=few_shot_per_risk,
            few_shot_dataset=few_shot_dataset or (dataset if few_shot_per_risk else None),
            few_shot_split=few_shot_split,
        )
        if not settings.configured:
            raise ValueError(NOT_CONFIGURED)
        detector = detector_for_dataset(settings, _catalog(catalog), dataset, split)
        mode = CostMode.BATCH if batch else CostMode.STANDARD
        run = asyncio.run(_evaluate(detector, dataset, split, out_dir, mode))
        r = run.report
        out.print(
            f"{r.n_images} images · errors {r.n_errors} · P {r.precision:.3f} · R {r.recall:.3f} · F1 {r.f1:.3f} · "
            f"image accuracy {r.image_accuracy:.3f} · cost ${r.cost_total_usd:.6f}"
        )
        issues = run.summary["validation_issues"]
        if issues:
            out.print(f"answer issues: {issues}")
        out.print(f"report: {run.json_path} and {run.md_path}; run summary: {run.summary_path}")

    _run(body)


async def _evaluate(
    detector: GeminiDetector, dataset: Path, split: str, out_dir: Path, mode: CostMode
) -> EvaluationRun:
    total = len(load_yolo_ground_truth(dataset, split))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"Gemini {mode.value}", total=total)
        try:
            return await evaluate_dataset(
                detector, dataset, split, out_dir, mode, lambda n: progress.advance(task, n)
            )
        finally:
            await detector.aclose()


@app.command()
def compare(
    report_a: Annotated[Path, typer.Argument(help="An evaluation report JSON (e.g. Gemini's).")],
    report_b: Annotated[Path, typer.Argument(help="Another report on the same set (e.g. YOLO's).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write comparison.json/.md here.")
    ] = None,
) -> None:
    """Put two evaluation reports on the same photos in one table: per-class P/R/F1, YOLO's mAP,
    box IoU, latency p50/p95, cost per 1,000 images, and how often the two agree."""

    def body() -> None:
        a, b = EvaluationReport.read(report_a), EvaluationReport.read(report_b)
        comparison = compare_reports(a, b)
        markdown = comparison.to_markdown()
        out.print(markdown, markup=False)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "comparison.json").write_text(comparison.model_dump_json(indent=2))
            (out_dir / "comparison.md").write_text(markdown)

    _run(body)


@app.command()
def estimate(
    images: Annotated[int, typer.Option(help="Number of photos.", min=1)] = 1000,
    width: Annotated[int, typer.Option(help="Photo width in pixels.", min=1)] = 1024,
    height: Annotated[int, typer.Option(help="Photo height in pixels.", min=1)] = 768,
    few_shot: Annotated[int, typer.Option(help="Few-shot example photos per request.", min=0)] = 0,
    output_tokens: Annotated[int, typer.Option(help="Answer tokens per photo.", min=0)] = 80,
    cache_hours: Annotated[float, typer.Option(help="Hours the context cache is kept.", min=0)] = 1.0,
    model: ModelOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Estimate what N photos cost: zero/few-shot, with context cache, through the Batch API."""

    def body() -> None:
        settings = _settings(model=model)
        risks = select_risks(_catalog(catalog), settings.risk_ids)
        prompt = text_tokens(build_instruction(risks))
        per_image = image_tokens(settings.model, width, height, settings.media_resolution)
        sent = thinking_config(settings.model, settings.thinking_budget)
        thinking = max(0, (sent.thinking_budget if sent else 0) or 0)  # a thinking level has no budget
        prices = default_price_table()
        scenarios = estimate_scenarios(
            prices, settings.model, images, per_image, prompt, output_tokens, thinking, few_shot, cache_hours
        )
        table = Table(
            title=f"{settings.model}: {images} photos of {width}x{height} px ({per_image} tokens each), "
            f"prompt ≈{prompt} tokens ({len(risks)} risks)"
        )
        for column in (
            "scenario",
            "input tok/photo",
            "cached tok/photo",
            "cache storage $",
            "total $",
            "$ / photo",
        ):
            table.add_column(column, justify="right" if column != "scenario" else "left")
        for s in scenarios:
            u = s.usage_per_image
            table.add_row(
                s.name,
                str(u.prompt_tokens),
                str(u.cached_tokens),
                "unconfirmed" if s.cache_storage_usd is None else f"{s.cache_storage_usd:.4f}",
                f"{s.total_usd:.4f}",
                f"{s.total_usd / images:.6f}",
            )
        out.print(table)
        price = prices.price(settings.model)
        out.print(f"prices: {price.source} (checked {price.checked_on}): {price.note}")

    _run(body)
