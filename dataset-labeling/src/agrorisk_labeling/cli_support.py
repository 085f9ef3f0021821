"""What every `agrorisk-label` command shares: consoles, readable errors, settings, progress bars."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agrorisk_common.catalog import Catalog, load_catalog
from agrorisk_common.cli import err, one_line, one_line_errors, out
from agrorisk_common.logging import configure_logging
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.importer import ImportSummary
from agrorisk_labeling.settings import Settings

ManifestOpt = Annotated[
    Path | None, typer.Option("--manifest", "-m", help="pool manifest.csv (images/ beside it)")
]


def cli_errors(fn: Callable) -> Callable:
    """Expected failures become one red line on stderr and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        configure_logging()
        with one_line_errors(LabelingError):  # CatalogError is a ValueError
            return fn(*args, **kwargs)

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
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def show_import(summary: ImportSummary, manifest: Path) -> None:
    out.print(
        f"imported {summary.images} image(s) ({summary.new_manifest_rows} new), {summary.boxes} box(es), "
        f"{summary.negatives} negative(s) "
        f"({summary.healthy_boxes} healthy box(es) dropped) into {manifest}",
        highlight=False,
        soft_wrap=True,
    )
    if summary.unmapped_classes:
        action = "kept as " + ", ".join(summary.kept_as_extra) if summary.kept_as_extra else "dropped"
        out.print(f"unmapped classes ({action}): {summary.unmapped_classes}", highlight=False, soft_wrap=True)
    for skipped in summary.skipped[:10]:
        out.print(f"  skipped {skipped}", highlight=False, soft_wrap=True)
    if len(summary.skipped) > 10:
        out.print(f"  ... and {len(summary.skipped) - 10} more skipped", highlight=False, soft_wrap=True)
