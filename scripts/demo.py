"""`make demo`: the whole AgroRisk flow on one machine, from photos to a served model you can open.

    python scripts/demo.py               # photos -> labels -> dataset -> YOLO11 -> registry -> Ray Serve, backend, Gradio
    python scripts/demo.py --no-serve    # stop once the model is registered and promoted
    python scripts/demo.py --headless    # no Gradio and no live progress: for tests and CI
    python scripts/demo.py --retrain     # train again even when this dataset already has a model

Takes the risks of one crop (AGRORISK_DEMO_CROP, default potato: 10 risks). Crawls photos when the
search engine answers, else draws leaves with a lesion pattern per risk and says so; labels them,
builds and versions the dataset, trains YOLO11 briefly (CPU-sized, larger on CUDA) with W&B offline
unless WANDB_API_KEY is set, exports ONNX, registers and promotes the model in the local registry
(.agrorisk/registry, or MinIO with AGRORISK_STORAGE_ENDPOINT), then starts the services through
scripts/run_local.py. Gemini joins the comparison when GEMINI_API_KEY is set. Re-running reuses the
photos, the dataset version (by content hash) and the model trained on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import demo_data  # noqa: E402
import demo_model  # noqa: E402
import run_local  # noqa: E402

from agrorisk_common.settings import AgroRiskSettings, service_config  # noqa: E402

# Sizes per device: (images per class, imgsz, epochs, batch). The CPU row reaches a non-trivial mAP50
# on drawn leaves in a few minutes on 2 cores; the CUDA row is what a GPU does in about the same time.
SIZES = {"cpu": (30, 160, 30, 16), "cuda": (80, 320, 60, 32)}
# Real photos: a short fine-tuning of the start weights (COCO, else the starter model) at the
# starter's image size; the split of the starter model's recipe keeps its held-out photos held out.
REAL_SIZES = {"cpu": (0, 320, 3, 16), "cuda": (0, 416, 30, 32)}
REAL_SPLIT = (0.15, 0.15)


class DemoSettings(AgroRiskSettings):
    """`AGRORISK_DEMO_*`; command-line flags win over them. Empty sizes follow the device (SIZES)."""

    model_config = service_config("AGRORISK_DEMO_")

    crop: str = Field(
        default="maize,potato", description="crop slugs (comma-separated) whose risks the demo learns"
    )
    work_dir: Path = Field(default=Path(".agrorisk/demo"), description="photos, dataset and runs of the demo")
    source: Literal["auto", "real", "crawl", "procedural"] = Field(
        default="auto",
        description="auto = real labelled photos of a registered data set when it can be had, else crawl "
        "when the search engine answers, else drawn leaves",
    )
    max_per_risk: int = Field(default=30, ge=1, description="photos to crawl per risk")
    images_per_class: int | None = Field(default=None, ge=3, description="drawn leaves per risk")
    imgsz: int | None = Field(default=None, ge=32)
    epochs: int | None = Field(default=None, ge=1)
    batch: int | None = Field(default=None, ge=1)
    model: str | None = Field(
        default=None,
        description="start weights (yolov11-train's --model); empty = yolo11n.pt (COCO when reachable, "
        "else the starter model, else random) for photos, yolo11n.yaml for drawn leaves",
    )
    seed: int = 0
    probe_timeout_s: float = Field(default=3.0, gt=0)
    services: str = Field(default="ray,backend,web", description="what scripts/run_local.py starts")
    check_timeout_s: float = Field(default=90.0, gt=0, description="wait for the served model version")


@dataclass
class Stages:
    """Runs the demo's stages one after another with live progress, and keeps their timings."""

    console: Console
    live: bool
    timings: list[tuple[str, float, str]] = field(default_factory=list)

    @contextmanager
    def stage(self, title: str) -> Iterator[StageReport]:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.live,
        )
        report = StageReport(progress, progress.add_task(title, total=None), title)
        if not self.live:
            self.console.print(f"… {title}", highlight=False)
        started = time.perf_counter()
        try:
            with progress:
                yield report
        except BaseException:
            self.console.print(
                f"[red]✗[/red] {title:<30} {time.perf_counter() - started:7.1f} s", highlight=False
            )
            raise
        elapsed = time.perf_counter() - started
        self.timings.append((title, elapsed, report.detail))
        self.console.print(f"[green]✓[/green] {title:<30} {elapsed:7.1f} s  {report.detail}", highlight=False)


@dataclass
class StageReport:
    progress: Progress
    task: int
    title: str
    detail: str = ""

    def advance(self, done: int, total: int, note: str = "") -> None:
        self.progress.update(self.task, completed=done, total=total)
        self.note(note)

    def note(self, text: str) -> None:
        self.progress.update(self.task, description=f"{self.title} {text}".strip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="demo.py",
        description=__doc__.split("\n\n")[0] + " Settings: AGRORISK_DEMO_* (flags win).",
        epilog="Stop the services with `make down` (or python scripts/run_local.py stop).",
    )
    parser.add_argument(
        "--crop", help="crop slugs, comma-separated (AGRORISK_DEMO_CROP, default maize,potato)"
    )
    parser.add_argument(
        "--source", choices=["auto", "real", "crawl", "procedural"], help="where photos come from"
    )
    parser.add_argument("--images-per-class", type=int, help="drawn leaves per risk")
    parser.add_argument("--max-per-risk", type=int, help="photos to crawl per risk")
    parser.add_argument("--epochs", type=int, help="training epochs")
    parser.add_argument("--imgsz", type=int, help="training image size, pixels")
    parser.add_argument("--batch", type=int, help="training batch size")
    parser.add_argument("--work-dir", type=Path, help="folder for the demo's photos, dataset and runs")
    parser.add_argument("--retrain", action="store_true", help="train even when a matching model exists")
    parser.add_argument("--no-serve", action="store_true", help="prepare the model only, start nothing")
    parser.add_argument("--headless", action="store_true", help="no Gradio, no live progress (tests, CI)")
    parser.add_argument("--verbose", action="store_true", help="package logs, and a traceback on failure")
    return parser.parse_args(argv)


def load_settings(args: argparse.Namespace) -> DemoSettings:
    flags = {
        "crop": args.crop,
        "source": args.source,
        "images_per_class": args.images_per_class,
        "max_per_risk": args.max_per_risk,
        "epochs": args.epochs,
        "imgsz": args.imgsz,
        "batch": args.batch,
        "work_dir": args.work_dir,
    }
    return DemoSettings(**{k: v for k, v in flags.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(REPO)  # relative defaults of every package (registry, catalog, services) mean the repo root
    console = Console(highlight=False)
    if not console.is_terminal:  # logs and CI: long lines (paths, URLs) stay whole
        console = Console(highlight=False, width=160)
    from pydantic import ValidationError

    from agrorisk_common.logging import configure_logging

    configure_logging(None if args.verbose else "WARNING")
    os.environ.setdefault("YOLO_VERBOSE", "true" if args.verbose else "false")
    os.environ.setdefault("WANDB_SILENT", "true")
    try:
        settings = load_settings(args)
    except ValidationError as exc:
        error = exc.errors()[0]
        return fail(console, f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
    stages = Stages(console, live=console.is_terminal and not args.headless)
    try:
        return run(settings, args, stages)
    except KeyboardInterrupt:
        console.print("\ninterrupted")
        return 130
    except Exception as exc:  # the edge of the demo: one readable line, the traceback only on request
        if args.verbose:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not isinstance(exc, expected_errors()):
            message += f" ({type(exc).__name__}; --verbose shows the traceback)"
        return fail(console, message)


def expected_errors() -> tuple[type[Exception], ...]:
    """Failures with a message written for the user: shown as they are."""
    from agrorisk_labeling.errors import LabelingError
    from agrorisk_storage import RegistryError

    return (demo_data.DemoDataError, run_local.RunError, LabelingError, RegistryError, FileNotFoundError)


def fail(console: Console, message: str) -> int:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    return 1


def run(settings: DemoSettings, args: argparse.Namespace, stages: Stages) -> int:
    from agrorisk_common.catalog import load_catalog

    started = time.perf_counter()
    console = stages.console
    catalog = load_catalog()
    crops = [c.strip() for c in settings.crop.split(",") if c.strip()]
    unknown = [c for c in crops if c not in catalog.crops]
    if unknown or not crops:
        return fail(
            console, f"unknown crop {', '.join(unknown)!r}; known: {', '.join(sorted(catalog.crops))}"
        )
    risk_ids = [r.id for crop in crops for r in catalog.by_crop(crop)]
    work_dir = settings.work_dir if settings.work_dir.is_absolute() else REPO / settings.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    console.rule("AgroRisk demo")
    pool = collect_photos(settings, risk_ids, work_dir, stages, device)
    per_class, imgsz, epochs, batch = (REAL_SIZES if pool.source == "real" else SIZES)[device]
    start = settings.model or ("yolo11n.yaml" if pool.source == "procedural" else "yolo11n.pt")
    recipe = demo_model.Recipe(
        start, settings.epochs or epochs, settings.imgsz or imgsz, settings.batch or batch
    )
    console.print(
        f"crops [bold]{', '.join(crops)}[/bold]: {len(pool.risk_ids)} risks with {pool.source} photos · "
        f"{device.upper()} · {recipe.model}, {recipe.epochs} epochs at {recipe.imgsz} px · work dir {work_dir}"
    )
    with stages.stage("auto-label") as stage:
        stage.detail = demo_data.autolabel_pool(pool, lambda d, t: stage.advance(d, t))
    with stages.stage("build + version dataset") as stage:
        report, dataset = demo_data.build_and_push(
            pool,
            work_dir / "dataset",
            settings.seed,
            stage.advance,
            REAL_SPLIT if pool.source == "real" else None,
        )
        counts = report.split_counts
        stage.detail = (
            f"dataset {dataset.version}: {sum(counts.values())} images "
            f"({counts['train']}/{counts['val']}/{counts['test']} train/val/test), {len(report.class_names)} classes"
        )
    data_yaml = work_dir / "dataset" / "data.yaml"
    model = prepare_model(recipe, data_yaml, dataset.version, work_dir, args.retrain, stages)

    summary = {
        "crop": settings.crop,
        "source": pool.source,
        "photos": pool.note,
        "images": counts,
        "classes": report.class_names,
        "dataset_version": dataset.version,
        "dataset_hash": report.dataset_hash,
        "model_version": model.version,
        "model_reused": model.reused,
        "start_weights": model.start,
        "metrics": model.metrics,
        "wandb_run": model.wandb_run,
        "gemini_configured": gemini_configured(),
        "device": device,
        "urls": {},
    }
    if not args.no_serve:
        services = [
            s for s in settings.services.split(",") if s.strip() and not (args.headless and s == "web")
        ]
        summary["urls"] = serve(services, model.version, data_yaml, settings.check_timeout_s, stages)
    summary["timings_s"] = {title: round(seconds, 1) for title, seconds, _ in stages.timings}
    summary["total_s"] = round(time.perf_counter() - started, 1)
    (work_dir / "demo-summary.json").write_text(json.dumps(summary, indent=2))
    print_summary(console, summary, work_dir)
    return 0


def collect_photos(settings: DemoSettings, risk_ids, work_dir: Path, stages: Stages, device: str):
    """Real labelled photos when a registered data set can be had (or `source=real`), else crawled photos
    when the search engine answers (or `source=crawl`), else drawn leaves — said loudly."""
    console = stages.console
    if settings.source in ("auto", "real"):
        with stages.stage("real photos") as stage:
            pool = demo_data.real_pool(work_dir, risk_ids, stage.advance)
            stage.detail = pool.note if pool else "no registered data set with these risks can be had here"
        if pool:
            return pool
        if settings.source == "real":
            raise demo_data.DemoDataError(
                "no registered data set with real photos of these risks is available"
            )
    crawl = settings.source == "crawl"
    if settings.source == "auto":
        with stages.stage("probe the internet") as stage:
            host = demo_data.engine_host()
            crawl = demo_data.internet_reachable(host, settings.probe_timeout_s)
            stage.detail = f"{host} {'answers' if crawl else 'does not answer'}"
    if crawl:
        with stages.stage("crawl photos") as stage:
            pool = demo_data.crawled_pool(work_dir, settings.crop.split(","), risk_ids, settings.max_per_risk)
            stage.detail = pool.note if pool else "too few photos came back"
        if pool:
            return pool
    console.print(
        "[yellow]![/yellow] No real photos: the demo trains on [bold]procedurally drawn "
        "leaves[/bold] (a lesion pattern per risk), not on real photos."
    )
    per_class, imgsz, _, _ = SIZES[device]
    with stages.stage("draw leaves") as stage:
        pool = demo_data.procedural_pool(
            work_dir, risk_ids, settings.images_per_class or per_class, settings.imgsz or imgsz, settings.seed,
            stage.advance,
        )  # fmt: skip
        stage.detail = pool.note
    return pool


def prepare_model(
    recipe, data_yaml: Path, dataset_version: str, work_dir: Path, retrain: bool, stages: Stages
):
    registry = demo_model.model_registry()
    existing = None if retrain else demo_model.reusable_model(registry, data_yaml, recipe)
    if existing is not None:
        with stages.stage("reuse trained model") as stage:
            moved = demo_model.promote_if_needed(registry, existing.version)
            stage.detail = (
                f"{existing.version} was trained on this dataset with this recipe "
                f"({'promoted' if moved else 'already production'}; --retrain trains again)"
            )
        meta = existing.metadata
        start = (meta.get("start_weights") or {}).get("note", "unknown")
        return demo_model.DemoModel(
            existing.version, meta.get("metrics") or {}, meta.get("wandb_run"), True, start
        )
    settings = demo_model.train_settings(recipe, work_dir / "runs")
    with stages.stage("train YOLO11") as stage:

        def on_epoch(done: int, total: int, map50: float | None) -> None:
            stage.advance(done, total, "" if map50 is None else f"(mAP50 {map50:.2f})")

        result = demo_model.train(settings, data_yaml, on_epoch)
        epochs_run = len(json.loads(result.metrics_json.read_text()).get("per_epoch", []))
        stage.detail = f"{epochs_run} epochs, mAP50 {result.metrics.get('map50', 0):.3f}"
    with stages.stage("export ONNX") as stage:
        exported = demo_model.export(settings, result, data_yaml)
        stage.detail = f"{exported.onnx_path.name}, max |ONNX - PyTorch| {exported.max_abs_diff:.1e}"
    with stages.stage("register + promote") as stage:
        info = demo_model.register_and_promote(
            registry, result, settings, data_yaml, exported.onnx_path, dataset_version
        )
        stage.detail = f"model {info.version} is production in {registry.location}"
    return demo_model.DemoModel(info.version, result.metrics, result.wandb_run, False, result.start["note"])


def gemini_configured() -> bool:
    from agrorisk_gemini.settings import GeminiSettings

    return GeminiSettings().configured


def serve(services: list[str], version: str, data_yaml: Path, timeout_s: float, stages: Stages) -> dict:
    """Start the services (or keep a healthy running set), then wait until the backend answers with
    the new production version; returns the URLs to open."""
    config = run_local.RunConfig.from_env({**os.environ, "AGRORISK_RUN_SERVICES": ",".join(services)})
    with stages.stage("start services") as stage:
        state = run_local.status(config)
        if state and all(s["healthy"] for s in state.values()) and set(services) <= set(state):
            plan = run_local.build_services(config)
            stage.detail = "already running (Ray Serve follows the production alias)"
        else:
            if any(s["pid"] for s in state.values()):
                run_local.stop(config, say=lambda _: None)
            plan = run_local.start(config, say=stage.note)
            stage.detail = ", ".join(s.name for s in plan)
    urls = {label: url for s in plan for label, url in s.urls.items() if url}
    if "backend" in services:
        with stages.stage("check the served model") as stage:
            stage.detail = check_served(config.url("backend"), version, data_yaml, timeout_s)
    return urls


def check_served(backend_url: str, version: str, data_yaml: Path, timeout_s: float) -> str:
    """One validation photo through the backend's /v1/predict until the served version is `version`
    (a running Ray Serve hot-reloads a newly promoted model within its reload interval)."""
    import httpx

    from agrorisk_common.yolo_data import split_images

    image = split_images(data_yaml, "val")[0]
    deadline = time.monotonic() + timeout_s
    answer: dict = {}
    while time.monotonic() < deadline:
        response = httpx.post(
            backend_url.rstrip("/") + "/v1/predict",
            files={"file": (image.name, image.read_bytes(), "image/jpeg")},
            timeout=30,
        )
        answer = (
            response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        )
        if response.status_code == 200 and not answer.get("error") and answer.get("model_version") == version:
            found = answer.get("detections") or []
            top = f", top {found[0]['risk_id']} {found[0]['confidence']:.2f}" if found else ""
            return f"{version} answers: {len(found)} detections on {image.name[:12]}…{top}"
        time.sleep(2)
    raise RuntimeError(
        f"the backend did not answer with model {version} within {timeout_s:.0f} s "
        f"(last answer: {answer.get('error') or answer.get('model_version') or answer}); "
        "see .agrorisk/run/logs/ and `make down`"
    )


def print_summary(console: Console, summary: dict, work_dir: Path) -> None:
    console.rule("Summary")
    table = Table(show_header=False, box=None, pad_edge=False)
    images = summary["images"]
    metrics = summary["metrics"]
    wandb_run = summary["wandb_run"] or "not tracked"
    rows = [
        (
            "photos",
            {"real": "real, labelled", "crawled": "crawled from the web"}.get(
                summary["source"], "procedurally drawn leaves (no real photos here)"
            )
            + f" — {summary['photos']}",
        ),
        ("start weights", summary["start_weights"]),
        (
            "images",
            f"{sum(images.values())} ({images['train']} train, {images['val']} val, {images['test']} test)",
        ),
        ("classes", f"{len(summary['classes'])}: {', '.join(summary['classes'])}"),
        ("dataset", f"{summary['dataset_version']} (hash {summary['dataset_hash'][:12]})"),
        (
            "mAP50",
            f"{metrics.get('map50', 0):.3f} (mAP50-95 {metrics.get('map50_95', 0):.3f}, validation split)",
        ),
        (
            "model",
            f"{summary['model_version']} = production" + (" (reused)" if summary["model_reused"] else ""),
        ),
        ("W&B run", wandb_run + ("  (upload: wandb sync <folder>)" if wandb_run.startswith("/") else "")),
        (
            "Gemini",
            "joins the comparison (GEMINI_API_KEY is set)"
            if summary["gemini_configured"]
            else "not configured: set GEMINI_API_KEY, then `make down && make demo`",
        ),
        ("total", f"{summary['total_s']:.0f} s (summary: {work_dir / 'demo-summary.json'})"),
    ]
    for key, value in rows:
        table.add_row(f"[bold]{key}[/bold]", value)
    console.print(table)
    urls = summary["urls"]
    if not urls:
        console.print("\nModel ready. `make run` starts the services that serve it.")
        return
    console.print()
    for label, url in urls.items():
        console.print(f"  {label:<28} {url}")
    first = urls.get("Gradio") or urls.get("Swagger") or next(iter(urls.values()))
    console.print(f"\n[bold green]open {first}[/bold green]   (stop everything with `make down`)")


if __name__ == "__main__":
    sys.exit(main())
