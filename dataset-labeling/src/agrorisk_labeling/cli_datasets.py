"""`agrorisk-label datasets | fetch | pack`: the registered public labelled data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agrorisk_common.catalog import is_healthy_class
from agrorisk_labeling.archives import pack_canonical
from agrorisk_labeling.cli_support import (
    ManifestOpt,
    catalog_of,
    cli_errors,
    make_settings,
    out,
    progress_bar,
    show_import,
)
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.fetch import fetch_dataset
from agrorisk_labeling.public_datasets import PublicDatasets, local_copy, repo_root

RegistryOpt = Annotated[
    Path | None,
    typer.Option("--registry", help="a data set registry YAML of your own (default: the package's)"),
]


@cli_errors
def datasets_cmd(registry: RegistryOpt = None) -> None:
    """List the registered public data sets: licence, images, source, local copy, catalog coverage."""
    settings = make_settings()
    catalog, datasets = catalog_of(settings), PublicDatasets.load(registry)
    root = repo_root(settings.catalog_dir)
    table = Table(title=f"Public labelled data sets ({datasets.path.name})")
    for column in ("name", "licence", "images", "local copy", "classes"):
        table.add_column(column, overflow="fold")
    details = []
    for dataset in datasets:
        targets = set(datasets.class_mapping(dataset).values())
        healthy = {t for t in targets if is_healthy_class(t)}
        gaps = datasets.catalog_gaps(dataset, catalog)
        folder = local_copy(dataset, root)
        table.add_row(
            dataset.name,
            dataset.license,
            str(dataset.images),
            "found" if folder else "not found",
            f"{len(targets) - len(healthy) - len(gaps)} in catalog, {len(gaps)} missing, {len(healthy)} healthy",
        )
        archive = dataset.archive
        details += [
            f"{dataset.name}:",
            f"  source  {', '.join(dataset.sources)}",
            f"  local   {folder or f'{dataset.local or None} (not found)'}",
            f"  archive {archive.format}, sha256 {archive.sha256 or f'unknown ({archive.sha256_unknown})'}, "
            f"{archive.url or 'no public URL: fetch --url MIRROR or --src FOLDER|ARCHIVE'}",
        ]
        if gaps:
            details.append(f"  kept as extra-<id> until the catalog has: {', '.join(gaps)}")
    out.print(table)
    for line in details:
        out.print(line, highlight=False, soft_wrap=True)


@cli_errors
def fetch_cmd(
    name: Annotated[str, typer.Argument(help="registered data set name (see `datasets`)")],
    src: Annotated[Path | None, typer.Option(help="offline: the data set folder or its archive")] = None,
    url: Annotated[str | None, typer.Option(help="download the archive from here")] = None,
    unmapped: Annotated[
        str | None, typer.Option(help="override the registry: fail, drop, or keep as extra-<id>")
    ] = None,
    manifest: ManifestOpt = None,
    registry: RegistryOpt = None,
) -> None:
    """Download (or take --src), check the sha256 before the pool is touched, unpack and import with the
    registry's class mapping; each image records the data set and its licence."""
    if unmapped not in (None, "fail", "drop", "keep"):
        raise LabelingError("--unmapped must be fail, drop or keep")
    settings = make_settings(manifest=manifest)
    datasets = PublicDatasets.load(registry)
    with progress_bar(f"downloading {name}") as advance:
        summary = fetch_dataset(
            datasets,
            name,
            settings.manifest,
            catalog_of(settings),
            repo=repo_root(settings.catalog_dir),
            src=src,
            url=url,
            unmapped=unmapped,  # type: ignore[arg-type]
            on_progress=advance,
        )
    dataset = datasets.get(name)
    checked = "matches the registry" if summary.checked else "not registered, not checked"
    out.print(
        f"{name} from {summary.source}: sha256 {summary.sha256} {checked}", highlight=False, soft_wrap=True
    )
    show_import(summary.imported, settings.manifest)
    out.print(f"licence {dataset.license}: attribute {dataset.citation}", highlight=False, soft_wrap=True)


@cli_errors
def pack_cmd(
    name: Annotated[str, typer.Argument(help="registered data set name")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="the zip to write")],
    src: Annotated[
        Path | None, typer.Option("--src", help="data set folder (default: its local copy)")
    ] = None,
    registry: RegistryOpt = None,
) -> None:
    """Write the canonical zip of a data set folder (for a mirror) and compare its sha256 with the registry."""
    settings = make_settings()
    dataset = PublicDatasets.load(registry).get(name)
    folder = src or local_copy(dataset, repo_root(settings.catalog_dir))
    if folder is None:
        raise LabelingError(f"{name}: no local copy at {dataset.local or '(none)'}: pass --src FOLDER")
    sha = pack_canonical(folder, dataset.archive.subdir or name, out_file)
    verdict = "matches the registry" if sha == dataset.archive.sha256 else "differs from the registry"
    out.print(f"{out_file}: sha256 {sha} ({verdict})", highlight=False, soft_wrap=True)
