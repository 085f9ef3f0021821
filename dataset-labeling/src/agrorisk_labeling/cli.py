"""`agrorisk-label`: from crawled photos to a versioned YOLO dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agrorisk_labeling import cli_datasets, studio
from agrorisk_labeling.autolabel import autolabel
from agrorisk_labeling.build import build_with_settings
from agrorisk_labeling.cli_support import (
    ManifestOpt,
    catalog_of,
    cli_errors,
    make_settings,
    out,
    progress_bar,
    show_import,
    split_ids,
)
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

LabellerOpt = Annotated[
    str | None,
    typer.Option("--labeller", help="chain tried in order: auto (yolo/gemini when configured), yolo, gemini"),
]
WholeImageOpt = Annotated[
    bool,
    typer.Option(
        "--whole-image",
        help="one box over the whole image when no labeller finds one (close-up leaf photos only)",
    ),
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
OutDirOpt = Annotated[Path | None, typer.Option("--out", "-o", help="dataset folder (data.yaml inside)")]
SeedOpt = Annotated[int | None, typer.Option(help="split seed")]
PushOpt = Annotated[bool, typer.Option(help="push the dataset to the registry")]
StudioUrlOpt = Annotated[str | None, typer.Option(help="Label Studio URL")]
StudioProjectOpt = Annotated[str | None, typer.Option(help="project title")]
RelabelOpt = Annotated[bool, typer.Option(help="replace earlier auto-labels (human/imported ones stay)")]


def show_report(report: BuildReport) -> None:
    table = Table(title=f"Class balance — dataset {report.dataset_hash[:12]}")
    for column in ("class", "train", "val", "test", "synthetic", "boxes"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for b in report.balance:
        table.add_row(b.risk_id, *(str(v) for v in (b.train, b.val, b.test, b.synthetic, b.boxes)))
    out.print(table)
    negatives = "/".join(str(report.negatives.get(s, 0)) for s in ("train", "val", "test"))
    out.print(
        f"imbalance ratio {report.imbalance_ratio}; negatives (train/val/test) {negatives}; "
        f"waiting for review {report.needs_review}; whole-image boxes {report.whole_image_boxes}; "
        f"rejected {len(report.rejected)} image(s)",
        highlight=False,
    )
    for source in report.sources:
        out.print(f"  {source.images} image(s) from {source.dataset} ({source.license})", highlight=False)
    for rejected in report.rejected[:10]:
        out.print(f"  rejected {rejected.file}: {'; '.join(rejected.reasons)}", highlight=False)
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")
    out.print(f"data.yaml: {report.data_yaml}", highlight=False)


def labeller_settings(whole_image: bool, **overrides) -> Settings:
    """Settings with the labeller chain; `--whole-image` adds the whole-image labeller last."""
    settings = make_settings(**overrides)
    if whole_image:
        settings = settings.model_copy(update={"labellers": f"{settings.labellers},whole-image"})
    return settings


def _autolabel(settings: Settings, relabel: bool) -> None:
    labellers = build_labellers(settings, catalog_of(settings))
    with progress_bar("auto-labelling") as advance:
        summary = autolabel(settings.manifest, labellers, relabel=relabel, on_progress=advance)
    out.print(
        f"labelled {summary.labelled} image(s) {summary.by_source}; needs review {summary.needs_review}; "
        f"kept {summary.kept_existing} existing; missing files {len(summary.missing_files)} "
        f"-> {summary.labels_path}",
        highlight=False,
    )
    if summary.needs_review:
        out.print(
            f"{summary.needs_review} image(s) no labeller could box wait for review, out of every split: "
            "`agrorisk-label studio push` (marked needs review), or --whole-image for close-up leaf photos",
            highlight=False,
        )


def _build(settings: Settings, out_dir: Path | None, risks: str | None, push: bool) -> None:
    with progress_bar("checking labels") as advance:
        report = build_with_settings(
            settings,
            out_dir or settings.dataset_dir,
            catalog_of(settings),
            risk_ids=split_ids(risks),
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
    whole_image: WholeImageOpt = False,
    relabel: RelabelOpt = False,
) -> None:
    """Give every unlabelled pool image boxes of its weak class (the risk it was crawled for); images no
    labeller can box wait for review in Label Studio."""
    settings = labeller_settings(
        whole_image, manifest=manifest, labellers=labeller, yolo_model=yolo_model, yolo_confidence=conf
    )
    _autolabel(settings, relabel)


@app.command("build")
@cli_errors
def build_cmd(
    manifest: ManifestOpt = None,
    out_dir: OutDirOpt = None,
    risks: RisksOpt = None,
    seed: SeedOpt = None,
    val: Annotated[float | None, typer.Option(help="validation fraction")] = None,
    test: Annotated[float | None, typer.Option(help="test fraction")] = None,
    push: PushOpt = False,
) -> None:
    """Check labels, split (near-duplicates together), write images/, labels/, data.yaml and the report."""
    settings = make_settings(manifest=manifest, seed=seed, val_fraction=val, test_fraction=test)
    _build(settings, out_dir, risks, push)


@app.command("prepare")
@cli_errors
def prepare_cmd(
    manifest: ManifestOpt = None,
    out_dir: OutDirOpt = None,
    labeller: LabellerOpt = None,
    yolo_model: YoloOpt = None,
    conf: ConfOpt = None,
    whole_image: WholeImageOpt = False,
    risks: RisksOpt = None,
    seed: SeedOpt = None,
    push: PushOpt = False,
) -> None:
    """One step from a crawled-images folder + manifest to a data.yaml dataset: autolabel, then build."""
    settings = labeller_settings(
        whole_image,
        manifest=manifest,
        labellers=labeller,
        yolo_model=yolo_model,
        yolo_confidence=conf,
        seed=seed,
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
    dataset: Annotated[
        str | None, typer.Option(help="data set name recorded per image (default: the --src name)")
    ] = None,
    license_: Annotated[
        str, typer.Option("--license", help="its licence, SPDX id (e.g. CC-BY-4.0), recorded per image")
    ] = "unknown",
    manifest: ManifestOpt = None,
) -> None:
    """Bring an existing labelled dataset into the pool with class names mapped to catalog risk ids;
    healthy:<crop> boxes are dropped and images with only those become negatives."""
    if unmapped not in ("fail", "drop", "keep"):
        raise LabelingError("--unmapped must be fail, drop or keep")
    settings = make_settings(manifest=manifest)
    summary = import_dataset(
        fmt,
        src,
        settings.manifest,
        catalog_of(settings),
        mapping,
        unmapped,  # type: ignore[arg-type]
        images,
        dataset=dataset or src.stem,
        license=license_,
    )
    show_import(summary, settings.manifest)


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
    whole_image: WholeImageOpt = False,
    manifest: ManifestOpt = None,
) -> None:
    """Generate synthetic images for rare risks with Stable Diffusion; marked synthetic, auto-labelled."""
    if (count is None) == (target is None):
        raise LabelingError("give exactly one of --count or --target")
    settings = labeller_settings(
        whole_image,
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
        assert target is not None  # exactly one of --count / --target, checked above
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
    """Per risk: images in the pool, synthetic ones, negatives, waiting for review, and who labelled them."""
    settings = make_settings(manifest=manifest)
    table = Table(title=f"Pool {settings.manifest}")
    for column in ("risk", "images", "synthetic", "unlabelled", "negatives", "review", "labelled by"):
        table.add_column(column)
    for s in pool_stats(settings.manifest):
        by = ", ".join(f"{k} {v}" for k, v in s.by_source.items())
        counts = (s.images, s.synthetic, s.unlabelled, s.negatives, s.needs_review)
        table.add_row(s.risk_id, *(str(c) for c in counts), by)
    out.print(table)


@studio_app.command("push")
@cli_errors
def studio_push(
    manifest: ManifestOpt = None,
    url: StudioUrlOpt = None,
    project: StudioProjectOpt = None,
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
    url: StudioUrlOpt = None,
    project: StudioProjectOpt = None,
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


app.command("datasets")(cli_datasets.datasets_cmd)
app.command("fetch")(cli_datasets.fetch_cmd)
app.command("pack")(cli_datasets.pack_cmd)
