"""`agrorisk-label`: from crawled photos to a versioned YOLO dataset."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agrorisk_common.catalog import Catalog, CatalogError, load_catalog
from agrorisk_common.cli import one_line
from agrorisk_common.logging import configure_logging
from agrorisk_labeling import studio
from agrorisk_labeling.autolabel import autolabel
from agrorisk_labeling.build import build_dataset
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.importer import import_dataset
from agrorisk_labeling.labellers import build_labellers
from agrorisk_labeling.readers import FORMATS
from agrorisk_labeling.registry import pull_dataset, push_dataset
from agrorisk_labeling.report import BuildReport
from agrorisk_labeling.settings import Settings
from agrorisk_labeling.stats import pool_stats
from agrorisk_labeling.synth import generate, topup_plan

app = typer.Typer(
    help="Turn crawled photos into a versioned YOLO dataset: auto-labels, Label Studio review, "
    "Stable Diffusion top-up, imports of existing datasets. Paths default to AGRORISK_LABELING_* settings; "
    "the pool is crawler/download/manifest.csv with images/ and labels.jsonl beside it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
studio_app = typer.Typer(help="Human review in Label Studio: push tasks with auto-labels, pull annotations.")
registry_app = typer.Typer(help="Dataset versions in MinIO through minio-storage's DatasetRegistry.")
app.add_typer(studio_app, name="studio")
app.add_typer(registry_app, name="registry")
console = Console(stderr=True)
out = Console()

ManifestOpt = Annotated[
    Path | None, typer.Option("--manifest", "-m", help="pool manifest.csv (images/ beside it)")
]
LabellerOpt = Annotated[
    str | None, typer.Option("--labeller", help="chain tried in order: yolo,gemini,whole-image")
]
YoloOpt = Annotated[
    str | None, typer.Option("--yolo-model", help="best.pt path or model registry ref (v3, production)")
]
ConfOpt = Annotated[
    float | None, typer.Option("--conf", min=0.0, max=1.0, help="YOLO pseudo-label confidence")
]
RisksOpt = Annotated[
    str | None, typer.Option("--risks", help="comma-separated risk ids (default: all labelled)")
]


def cli_errors(fn: Callable) -> Callable:
    """Expected failures become one red line on stderr and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        configure_logging()
        try:
            return fn(*args, **kwargs)
        except (LabelingError, CatalogError) as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def make_settings(**overrides) -> Settings:
    try:
        settings = Settings()
        return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise LabelingError(one_line(exc)) from None


def catalog_of(settings: Settings) -> Catalog:
    return load_catalog(settings.catalog_dir)


def split_ids(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    # Only on a terminal: in logs and pipes a live bar is noise.
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def show_report(report: BuildReport) -> None:
    table = Table(title=f"Class balance — dataset {report.dataset_hash[:12]}")
    for column in ("class", "train", "val", "test", "synthetic", "boxes"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for b in report.balance:
        table.add_row(b.risk_id, *(str(v) for v in (b.train, b.val, b.test, b.synthetic, b.boxes)))
    out.print(table)
    out.print(f"imbalance ratio {report.imbalance_ratio}; rejected {len(report.rejected)} image(s)")
    for rejected in report.rejected[:10]:
        out.print(f"  rejected {rejected.file}: {'; '.join(rejected.reasons)}", highlight=False)
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")
    out.print(f"data.yaml: {report.data_yaml}", highlight=False)


def _autolabel(settings: Settings, relabel: bool) -> None:
    labellers = build_labellers(settings, catalog_of(settings))
    with progress_bar("auto-labelling") as advance:
        summary = autolabel(settings.manifest, labellers, relabel=relabel, on_progress=advance)
    out.print(
        f"labelled {summary.labelled} image(s) {summary.by_source}; kept {summary.kept_existing} existing; "
        f"missing files {len(summary.missing_files)} -> {summary.labels_path}",
        highlight=False,
    )


def _build(settings: Settings, out_dir: Path | None, risks: str | None, push: bool) -> None:
    with progress_bar("checking labels") as advance:
        report = build_dataset(
            settings.manifest,
            out_dir or settings.dataset_dir,
            catalog_of(settings),
            risk_ids=split_ids(risks),
            seed=settings.seed,
            val_fraction=settings.val_fraction,
            test_fraction=settings.test_fraction,
            phash_distance=settings.phash_distance,
            synthetic_max_share=settings.synthetic_max_share,
            on_progress=advance,
        )
    show_report(report)
    if push:
        version = push_dataset(Path(report.data_yaml).parent)
        out.print(f"pushed as dataset {version.version}")


@app.command("autolabel")
@cli_errors
def autolabel_cmd(
    manifest: ManifestOpt = None,
    labeller: LabellerOpt = None,
    yolo_model: YoloOpt = None,
    conf: ConfOpt = None,
    relabel: Annotated[
        bool, typer.Option(help="replace earlier auto-labels (human/imported ones stay)")
    ] = False,
) -> None:
    """Give every unlabelled pool image boxes of its weak class (the risk it was crawled for)."""
    settings = make_settings(
        manifest=manifest, labellers=labeller, yolo_model=yolo_model, yolo_confidence=conf
    )
    _autolabel(settings, relabel)


@app.command("build")
@cli_errors
def build_cmd(
    manifest: ManifestOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="dataset folder (data.yaml inside)")
    ] = None,
    risks: RisksOpt = None,
    seed: Annotated[int | None, typer.Option(help="split seed")] = None,
    val: Annotated[float | None, typer.Option(help="validation fraction")] = None,
    test: Annotated[float | None, typer.Option(help="test fraction")] = None,
    push: Annotated[bool, typer.Option(help="push the dataset to the registry")] = False,
) -> None:
    """Check labels, split (near-duplicates together), write images/, labels/, data.yaml and the report."""
    settings = make_settings(manifest=manifest, seed=seed, val_fraction=val, test_fraction=test)
    _build(settings, out_dir, risks, push)


@app.command("prepare")
@cli_errors
def prepare_cmd(
    manifest: ManifestOpt = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="dataset folder (data.yaml inside)")
    ] = None,
    labeller: LabellerOpt = None,
    yolo_model: YoloOpt = None,
    conf: ConfOpt = None,
    risks: RisksOpt = None,
    seed: Annotated[int | None, typer.Option(help="split seed")] = None,
    push: Annotated[bool, typer.Option(help="push the dataset to the registry")] = False,
) -> None:
    """One step from a crawled-images folder + manifest to a data.yaml dataset: autolabel, then build."""
    settings = make_settings(
        manifest=manifest, labellers=labeller, yolo_model=yolo_model, yolo_confidence=conf, seed=seed
    )
    _autolabel(settings, relabel=False)
    _build(settings, out_dir, risks, push)


@app.command("import")
@cli_errors
def import_cmd(
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"one of: {', '.join(FORMATS)}")],
    src: Annotated[Path, typer.Option("--src", help="dataset folder (or .json file for coco/labelstudio)")],
    mapping: Annotated[Path | None, typer.Option(help="CSV source_class,risk_id")] = None,
    unmapped: Annotated[
        str, typer.Option(help="classes the mapping misses: fail (list them), drop, or keep as extra-<name>")
    ] = "fail",
    images: Annotated[
        Path | None, typer.Option(help="Label Studio export: folder its image paths start in")
    ] = None,
    manifest: ManifestOpt = None,
) -> None:
    """Bring an existing labelled dataset into the pool with class names mapped to catalog risk ids."""
    if unmapped not in ("fail", "drop", "keep"):
        raise LabelingError("--unmapped must be fail, drop or keep")
    settings = make_settings(manifest=manifest)
    summary = import_dataset(
        fmt,
        src,
        settings.manifest,
        catalog_of(settings),
        mapping,
        unmapped,
        images,  # type: ignore[arg-type]
    )
    out.print(f"imported {summary.images} image(s), {summary.boxes} box(es) into {settings.manifest}")
    if summary.unmapped_classes:
        action = "kept as " + ", ".join(summary.kept_as_extra) if summary.kept_as_extra else "dropped"
        out.print(f"unmapped classes ({action}): {summary.unmapped_classes}", highlight=False)
    for skipped in summary.skipped[:10]:
        out.print(f"  skipped {skipped}", highlight=False)


@app.command("synth")
@cli_errors
def synth_cmd(
    risk: Annotated[list[str], typer.Option("--risk", "-r", help="risk id (repeat for several)")],
    count: Annotated[int | None, typer.Option(min=1, help="images per risk")] = None,
    target: Annotated[int | None, typer.Option(min=1, help="top up each risk to this many images")] = None,
    model: Annotated[str | None, typer.Option(help="diffusers model id or local pipeline folder")] = None,
    steps: Annotated[int | None, typer.Option(min=1)] = None,
    guidance: Annotated[float | None, typer.Option(min=0.0)] = None,
    size: Annotated[int | None, typer.Option(min=64, help="image side in pixels (multiple of 8)")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    labeller: LabellerOpt = None,
    yolo_model: YoloOpt = None,
    manifest: ManifestOpt = None,
) -> None:
    """Generate synthetic images for rare risks with Stable Diffusion; marked synthetic, auto-labelled."""
    if (count is None) == (target is None):
        raise LabelingError("give exactly one of --count or --target")
    settings = make_settings(
        sd_model=model,
        sd_steps=steps,
        sd_guidance=guidance,
        sd_size=size,
        sd_batch_size=batch_size,
        sd_device=device,
        seed=seed,
        labellers=labeller,
        yolo_model=yolo_model,
        manifest=manifest,
    )
    if settings.sd_size % 8 or settings.sd_device not in ("auto", "cpu", "cuda", "mps"):
        raise LabelingError("--size must be a multiple of 8 and --device one of auto, cpu, cuda, mps")
    catalog = catalog_of(settings)
    if count is not None:
        plan = dict.fromkeys(risk, count)
    else:
        plan = topup_plan(settings.manifest, risk, target, settings.synthetic_max_share)
    labellers = build_labellers(settings, catalog)
    with progress_bar("generating") as advance:
        summary = generate(plan, settings.manifest, catalog, settings, labellers, on_progress=advance)
    out.print(f"generated {summary.generated} with {summary.model} on {summary.device}", highlight=False)
    for file in summary.files:
        out.print(f"  {file}", highlight=False)


@app.command("stats")
@cli_errors
def stats_cmd(manifest: ManifestOpt = None) -> None:
    """Per risk: images in the pool, synthetic ones, and who labelled them."""
    settings = make_settings(manifest=manifest)
    table = Table(title=f"Pool {settings.manifest}")
    for column in ("risk", "images", "synthetic", "unlabelled", "labelled by"):
        table.add_column(column)
    for s in pool_stats(settings.manifest):
        by = ", ".join(f"{k} {v}" for k, v in s.by_source.items())
        table.add_row(s.risk_id, str(s.images), str(s.synthetic), str(s.unlabelled), by)
    out.print(table)


@studio_app.command("push")
@cli_errors
def studio_push(
    manifest: ManifestOpt = None,
    url: Annotated[str | None, typer.Option(help="Label Studio URL")] = None,
    project: Annotated[str | None, typer.Option(help="project title")] = None,
    files_root: Annotated[Path | None, typer.Option(help="the server's LOCAL_FILES_DOCUMENT_ROOT")] = None,
    risks: RisksOpt = None,
) -> None:
    """Create/update the project (labels from the catalog) and import new images with auto-labels."""
    settings = make_settings(
        manifest=manifest,
        label_studio_url=url,
        label_studio_project=project,
        label_studio_files_root=files_root,
    )
    catalog = catalog_of(settings)
    risk_ids = split_ids(risks) or [r.id for r in catalog]
    summary = studio.push(settings, risk_ids)
    out.print(
        f"project {summary.project_id}: {summary.created} new task(s), {summary.already_there} already there"
    )


@studio_app.command("pull")
@cli_errors
def studio_pull(
    manifest: ManifestOpt = None,
    url: Annotated[str | None, typer.Option(help="Label Studio URL")] = None,
    project: Annotated[str | None, typer.Option(help="project title")] = None,
) -> None:
    """Export the project and merge human annotations into labels.jsonl (they win over auto-labels)."""
    settings = make_settings(manifest=manifest, label_studio_url=url, label_studio_project=project)
    summary = studio.pull(settings)
    out.print(
        f"project {summary.project_id}: {summary.human_labelled} human-labelled, "
        f"{summary.without_annotation} not annotated yet, {summary.unknown_images} not in this pool"
    )


@registry_app.command("push")
@cli_errors
def registry_push(dataset: Annotated[Path, typer.Argument(help="built dataset folder")]) -> None:
    """Push a built dataset as a new version (nothing new when the same content hash exists)."""
    version = push_dataset(dataset)
    out.print(f"dataset {version.version} ({version.metadata.get('dataset_hash', '')[:12]})")


@registry_app.command("pull")
@cli_errors
def registry_pull(
    ref: Annotated[str, typer.Argument(help="version (v3, 3) or alias (production)")],
    dest: Annotated[Path | None, typer.Option(help="destination folder")] = None,
) -> None:
    """Pull a dataset version; prints the folder holding data.yaml."""
    out.print(str(pull_dataset(ref, dest)), highlight=False)
