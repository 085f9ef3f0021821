"""`make demo`: the Dagster `training` job on one machine, then the services that serve its winner.

    python scripts/demo.py               # real photos -> dataset version -> fine-tuned YOLO11 -> gate -> served
    python scripts/demo.py --no-serve    # stop once the gate has decided which model is production
    python scripts/demo.py --headless    # no Gradio and no live progress: for tests and CI

Learns the risks of the crops (AGRORISK_DEMO_CROP, default maize,potato) that a registered data set of
real labelled photos covers (PlantDoc from ../shared, `agrorisk-label datasets`); drawn leaves only
when none can be had here, and it says so. It materializes the same assets, checks and job the Dagster
UI shows (agrorisk_pipeline, job `training`), in this process, recorded in the persistent Dagster
instance `make run`'s webserver reads (.agrorisk/dagster): the starter model becomes production while
the registry has none, the candidate fine-tunes from production and is promoted only when it beats
production on the frozen test split. Then the services start through scripts/run_local.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
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

import run_local  # noqa: E402

from agrorisk_common.settings import AgroRiskSettings, service_config  # noqa: E402

# (drawn leaves per risk, imgsz, epochs, batch) per device. Real photos: a short fine-tuning at the
# starter model's image size with its split (val/test 0.15, seed 0: its held-out photos stay held out).
SIZES = {
    "real": {"cpu": (0, 320, 3, 16), "cuda": (0, 416, 30, 32)},
    "procedural": {"cpu": (30, 160, 30, 16), "cuda": (80, 320, 60, 32)},
}
REAL_SPLIT = (0.15, 0.15)
SOURCES = {"auto": "auto", "real": "public", "crawl": "crawler", "procedural": "procedural"}
SHOWN = {"public": "real", "crawler": "crawled", "procedural": "procedural"}


class DemoSettings(AgroRiskSettings):
    """`AGRORISK_DEMO_*`; command-line flags win over them. Empty sizes follow the photos and the device."""

    model_config = service_config("AGRORISK_DEMO_")

    crop: str = Field(
        default="maize,potato", description="crop slugs (comma-separated) whose risks it learns"
    )
    work_dir: Path = Field(
        default=Path(".agrorisk/demo"), description="the pipeline's pool, datasets and runs"
    )
    source: Literal["auto", "real", "crawl", "procedural"] = Field(
        default="auto",
        description="auto = real labelled photos of a registered data set when one can be had, else drawn leaves",
    )
    max_per_risk: int = Field(default=30, ge=1, description="photos to crawl per risk (source crawl)")
    images_per_class: int | None = Field(default=None, ge=3, description="drawn leaves per risk")
    imgsz: int | None = Field(default=None, ge=32)
    epochs: int | None = Field(default=None, ge=1)
    batch: int | None = Field(default=None, ge=1)
    model: str | None = Field(
        default=None,
        description="start weights when there is no production model of the same classes to fine-tune; "
        "empty = yolo11n.pt (COCO when reachable, else the starter model) for photos, yolo11n.yaml for drawn leaves",
    )
    gate_margin: float = Field(
        default=0.0, ge=0.0, description="how much the candidate must beat production by"
    )
    services: str = Field(default="ray,backend,web", description="what scripts/run_local.py starts")
    check_timeout_s: float = Field(default=90.0, gt=0, description="wait for the served model version")


class DemoError(RuntimeError):
    """A readable reason why the demo stopped."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="demo.py",
        description=__doc__.split("\n\n")[0] + " Settings: AGRORISK_DEMO_* (flags win).",
        epilog="Stop the services with `make down` (or python scripts/run_local.py stop).",
    )
    parser.add_argument(
        "--crop", help="crop slugs, comma-separated (AGRORISK_DEMO_CROP, default maize,potato)"
    )
    parser.add_argument("--source", choices=list(SOURCES), help="where photos come from")
    parser.add_argument("--images-per-class", type=int, help="drawn leaves per risk")
    parser.add_argument("--max-per-risk", type=int, help="photos to crawl per risk")
    parser.add_argument("--epochs", type=int, help="training epochs")
    parser.add_argument("--imgsz", type=int, help="training image size, pixels")
    parser.add_argument("--batch", type=int, help="training batch size")
    parser.add_argument("--work-dir", type=Path, help="folder for the pipeline's pool, datasets and runs")
    parser.add_argument("--no-serve", action="store_true", help="run the Dagster job only, start nothing")
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
    os.chdir(REPO)  # relative defaults of every package (registry, catalog, starter model) mean the repo root
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
        return fail(f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
    try:
        return run(settings, args, console)
    except KeyboardInterrupt:
        console.print("\ninterrupted")
        return 130
    except Exception as exc:  # the edge of the demo: one readable line, the traceback only on request
        if args.verbose:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not isinstance(exc, expected_errors()):
            message += f" ({type(exc).__name__}; --verbose shows the traceback)"
        return fail(message)


def expected_errors() -> tuple[type[Exception], ...]:
    """Failures with a message written for the user: shown as they are."""
    from agrorisk_labeling.errors import LabelingError
    from agrorisk_storage import RegistryError

    return (DemoError, run_local.RunError, LabelingError, RegistryError, FileNotFoundError)


def fail(message: str) -> int:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    return 1


def pipeline_settings(settings: DemoSettings, risk_ids: list[str], source: str, device: str):
    """The pipeline's settings for this demo: AGRORISK_PIPELINE_* with the demo's choices on top."""
    from agrorisk_pipeline.settings import Settings

    per_class, imgsz, epochs, batch = SIZES["procedural" if source == "procedural" else "real"][device]
    val, test = REAL_SPLIT if source == "public" else (None, None)
    start = settings.model or ("yolo11n.yaml" if source == "procedural" else "yolo11n.pt")
    drawn = {
        "images_per_class": settings.images_per_class or per_class,
        "procedural_imgsz": settings.imgsz or imgsz,
    }
    return Settings(
        work_dir=settings.work_dir.resolve(), data_source=source, risk_ids=risk_ids,
        max_per_risk=settings.max_per_risk, val_fraction=val, test_fraction=test, start_model=start,
        epochs=settings.epochs or epochs, imgsz=settings.imgsz or imgsz, batch=settings.batch or batch,
        plots=False, tune_trials=0, gate_margin=settings.gate_margin, **(drawn if source == "procedural" else {}),
    )  # fmt: skip


def choose_photos(settings: DemoSettings, risk_ids: list[str], console: Console) -> tuple[str, list[str]]:
    """(pipeline data source, risks): the risks a registered data set of real photos covers, else drawn
    leaves of every risk of the crops, said loudly."""
    from agrorisk_pipeline.public_data import find_dataset
    from agrorisk_pipeline.settings import Settings

    source = SOURCES[settings.source]
    if source in ("auto", "public"):
        found = find_dataset(risk_ids, registry_file=Settings().public_datasets_file)
        if found:
            _, dataset, covered = found
            console.print(
                f"real labelled photos: {dataset.name} ({dataset.license}) covers {len(covered)} risks"
            )
            return "public", covered
        if source == "public":
            raise DemoError("no registered data set with real photos of these risks can be had here")
        console.print(
            "[yellow]![/yellow] No real photos of these risks can be had here: the demo trains on "
            "[bold]procedurally drawn leaves[/bold] (a lesion pattern per risk), not on real photos."
        )
        return "procedural", risk_ids
    return source, risk_ids


def run(settings: DemoSettings, args: argparse.Namespace, console: Console) -> int:
    import torch

    from agrorisk_common.catalog import load_catalog
    from agrorisk_pipeline.defs.resources import GeminiResource, default_resources
    from agrorisk_pipeline.flow import run_job, step_failures

    started = time.perf_counter()
    catalog = load_catalog()
    crops = [c.strip() for c in settings.crop.split(",") if c.strip()]
    unknown = [c for c in crops if c not in catalog.crops]
    if unknown or not crops:
        raise DemoError(f"unknown crop {', '.join(unknown)!r}; known: {', '.join(sorted(catalog.crops))}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    console.rule("AgroRisk demo: the Dagster job `training`")
    source, risk_ids = choose_photos(settings, [r.id for c in crops for r in catalog.by_crop(c)], console)
    flow = pipeline_settings(settings, risk_ids, source, device)
    console.print(
        f"crops [bold]{', '.join(crops)}[/bold]: {len(risk_ids)} risks · {device.upper()} · {flow.epochs} "
        f"epochs at {flow.imgsz} px · work dir {flow.work_dir}"
    )
    resources = default_resources(flow) | {"gemini": GeminiResource(evaluate=False)}
    config = run_local.RunConfig.from_env()
    instance = dagster_instance(config.run_dir.parent / "dagster")
    with StepProgress(console, live=console.is_terminal and not args.headless) as progress:
        result = run_job(
            "training",
            resources,
            instance,
            loggers={"demo": progress.logger()},
            tags={"agrorisk/trigger": "demo"},
        )
    if not result.success:
        failures = step_failures(result) or ["see the run in the Dagster UI"]
        raise DemoError(f"the Dagster run {result.run_id} failed: {failures[0]}")
    assets = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    summary = summarize(assets, result.run_id, instance, device)
    data_yaml = flow.work_dir / "dataset" / "data.yaml"
    if not args.no_serve:
        services = [
            s for s in settings.services.split(",") if s.strip() and not (args.headless and s == "web")
        ]
        summary["urls"] = serve(services, summary["production_version"], data_yaml, settings, console)
    summary["total_s"] = round(time.perf_counter() - started, 1)
    (flow.work_dir / "demo-summary.json").write_text(json.dumps(summary, indent=2))
    print_summary(console, summary, flow.work_dir)
    return 0


def dagster_instance(home: Path):
    """The persistent instance `make run`'s Dagster webserver reads (its DAGSTER_HOME)."""
    import dagster as dg

    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(home))


class StepProgress:
    """A line per finished Dagster step and, when live, a bar per step (epochs while training), fed by
    the run's Dagster events and the pipeline's progress records."""

    def __init__(self, console: Console, live: bool):
        self.console, self.live = console, live
        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True, disable=not live,
        )  # fmt: skip
        self.tasks: dict[str, tuple[int, float]] = {}
        self.handler = _Relay(self)

    def __enter__(self) -> StepProgress:
        self.bar.start()
        records = logging.getLogger("agrorisk_pipeline.progress")
        records.addHandler(self.handler)
        records.setLevel(logging.INFO)
        records.propagate = False  # drawn here, not printed again by the log handlers
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("agrorisk_pipeline.progress").removeHandler(self.handler)
        self.bar.stop()

    def logger(self):
        import dagster as dg

        relay = self.handler

        @dg.logger(description="make demo: step lines and progress bars")
        def demo_logger(_):
            logger = logging.Logger("agrorisk_demo", logging.DEBUG)
            logger.addHandler(relay)
            return logger

        return demo_logger

    def event(self, kind: str, step: str) -> None:
        if kind == "STEP_START":
            self.tasks[step] = (self.bar.add_task(step, total=None), time.perf_counter())
            if not self.live:
                self.console.print(f"… {step}")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in self.tasks:
            task, began = self.tasks.pop(step)
            self.bar.remove_task(task)
            mark = "[green]✓[/green]" if kind == "STEP_SUCCESS" else "[red]✗[/red]"
            self.console.print(f"{mark} {step:<24} {time.perf_counter() - began:7.1f} s")

    def advance(self, step: str, done: int, total: int, note: str) -> None:
        if step in self.tasks:
            self.bar.update(
                self.tasks[step][0], completed=done, total=total, description=f"{step} {note}".strip()
            )
            if note and not self.live:
                self.console.print(f"  {step}: {note}")


class _Relay(logging.Handler):
    def __init__(self, progress: StepProgress):
        super().__init__(logging.DEBUG)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        event = meta.get("dagster_event") if meta else None
        if event is not None and event.step_key:
            self.progress.event(event.event_type_value, event.step_key)
        elif hasattr(record, "step"):
            self.progress.advance(record.step, record.done, record.total, record.getMessage())


def summarize(assets: dict[str, dict], run_id: str, instance, device: str) -> dict:
    """What the run did, from its materializations' metadata."""
    photos, dataset = assets["crawled_images"], assets["dataset_version"]
    trained, evaluation = assets["trained_model"], assets["evaluation"]
    production = assets["production_model"]
    return {
        "source": SHOWN[photos["source"]],
        "photos": photos.get("datasets") or photos.get("note", ""),
        "photos_note": photos.get("note", ""),
        "classes": dataset["class_names"],
        "images": dataset["splits"],
        "dataset_version": dataset["version"],
        "dataset_hash": dataset["dataset_hash"],
        "frozen_test_set": f"{dataset['frozen_test_version']} ({dataset['frozen_test_alias']})",
        "start_weights": trained["start_weights"],
        "lineage": trained["lineage"],
        "metrics": trained["metrics"],
        "candidate_version": assets["candidate_model"]["version"],
        "gate_passed": evaluation["gate_passed"],
        "gate": evaluation["gate_reason"],
        "test_set": evaluation["test_set"],
        "production_version": production["version"],
        "wandb_run": trained["wandb_run"] or None,
        "dagster_run_id": run_id,
        "dagster_home": str(Path(instance.root_directory)),
        "gemini_configured": gemini_configured(),
        "device": device,
        "urls": {},
    }


def gemini_configured() -> bool:
    from agrorisk_gemini.settings import GeminiSettings

    return GeminiSettings().configured


def serve(
    services: list[str], version: str, data_yaml: Path, settings: DemoSettings, console: Console
) -> dict:
    """Start the services (or keep a healthy running set), then wait until the backend answers with
    the production version; returns the URLs to open."""
    config = run_local.RunConfig.from_env({**os.environ, "AGRORISK_RUN_SERVICES": ",".join(services)})
    began = time.perf_counter()
    state = run_local.status(config)
    if state and all(s["healthy"] for s in state.values()) and set(services) <= set(state):
        plan = run_local.build_services(config)
        detail = "already running (Ray Serve follows the production alias)"
    else:
        if any(s["pid"] for s in state.values()):
            run_local.stop(config, say=lambda _: None)
        with console.status("starting the services…"):
            plan = run_local.start(config, say=lambda _: None)
        detail = ", ".join(s.name for s in plan)
    console.print(f"[green]✓[/green] {'start services':<24} {time.perf_counter() - began:7.1f} s  {detail}")
    if "backend" in services:
        began = time.perf_counter()
        detail = check_served(config.url("backend"), version, data_yaml, settings.check_timeout_s)
        console.print(
            f"[green]✓[/green] {'check the served model':<24} {time.perf_counter() - began:7.1f} s  {detail}"
        )
    return {label: url for s in plan for label, url in s.urls.items() if url}


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
    raise DemoError(
        f"the backend did not answer with model {version} within {timeout_s:.0f} s "
        f"(last answer: {answer.get('error') or answer.get('model_version') or answer}); "
        "see .agrorisk/run/logs/ and `make down`"
    )


def print_summary(console: Console, summary: dict, work_dir: Path) -> None:
    console.rule("Summary")
    table = Table(show_header=False, box=None, pad_edge=False)
    images, metrics = summary["images"], summary["metrics"]
    wandb_run = summary["wandb_run"] or "not tracked"
    photos = {"real": "real, labelled", "crawled": "crawled from the web"}.get(
        summary["source"], "procedurally drawn leaves (no real photos here)"
    )
    verdict = "promoted" if summary["gate_passed"] else "refused, production kept"
    rows = [
        ("photos", f"{photos} — {summary['photos']}"),
        ("start weights", f"{summary['start_weights']}; {summary['lineage']['reason']}"),
        ("images", f"{sum(images.values())} ({', '.join(f'{n} {s}' for s, n in images.items())})"),
        ("classes", f"{len(summary['classes'])}: {', '.join(summary['classes'])}"),
        ("dataset", f"{summary['dataset_version']} (hash {summary['dataset_hash'][:12]}), frozen test set {summary['frozen_test_set']}"),
        ("mAP50", f"{metrics.get('map50', 0):.3f} (mAP50-95 {metrics.get('map50_95', 0):.3f}, validation split, {summary['source']} photos)"),
        ("gate", f"candidate {summary['candidate_version']} {verdict}: {summary['gate']}"),
        ("model", f"{summary['production_version']} = production (served)"),
        ("W&B run", wandb_run + ("  (upload: wandb sync <folder>)" if wandb_run.startswith("/") else "")),
        ("Dagster run", f"{summary['dagster_run_id']} (in {summary['dagster_home']}: `make run` shows it in the Dagster UI)"),
        (
            "Gemini",
            "joins the comparison (GEMINI_API_KEY is set)"
            if summary["gemini_configured"]
            else "not configured: set GEMINI_API_KEY, then `make down && make demo`",
        ),
        ("total", f"{summary['total_s']:.0f} s (summary: {work_dir / 'demo-summary.json'})"),
    ]  # fmt: skip
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
