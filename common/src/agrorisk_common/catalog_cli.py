"""`agrorisk-catalog`: validate the risk catalog, show its statistics, look up one risk."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agrorisk_common.catalog import Catalog, CatalogError, load_catalog
from agrorisk_common.cli import cli_app, err, out

app = cli_app(
    "The AgroRisk risk catalog (CSV files in crawler/risks/): validate it, count it, look up a risk."
)
PathOption = Annotated[
    Path | None,
    typer.Option(
        "--path", help="Catalog folder or CSV file (default: $AGRORISK_CATALOG_DIR or crawler/risks)."
    ),
]


def _load(path: Path | None) -> Catalog:
    try:
        return load_catalog(path)
    except CatalogError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@app.command()
def validate(path: PathOption = None) -> None:
    """Load and validate every CSV; exit 1 with file, line and reason on the first broken row."""
    catalog = _load(path)
    out.print(f"[green]ok[/green]: {len(catalog)} risks, {len(catalog.crops)} crops")


@app.command()
def stats(path: PathOption = None) -> None:
    """Risks per crop and type, and the risks that lack guidance (control measures + source).

    Exits 1 when any risk lacks guidance, so CI can hold the catalog to it.
    """
    catalog = _load(path)
    counts = Counter((r.crop, r.risk_type.value) for r in catalog)
    types = sorted({t for _, t in counts})
    table = Table(title=f"{len(catalog)} risks")
    table.add_column("crop")
    for t in types:
        table.add_column(t, justify="right")
    table.add_column("total", justify="right")
    for crop in catalog.crops:
        row = [counts.get((crop, t), 0) for t in types]
        table.add_row(crop, *map(str, row), str(sum(row)))
    out.print(table)
    missing = [r.id for r in catalog if not r.has_guidance]
    if missing:
        err.print(f"[red]{len(missing)} risk(s) without guidance:[/red] {', '.join(missing)}")
        raise typer.Exit(1)
    out.print("[green]every risk has control measures and a source[/green]")


@app.command()
def show(risk_id: str, path: PathOption = None) -> None:
    """Print one risk's card: names, symptoms, guidance, look-alikes, source."""
    catalog = _load(path)
    try:
        risk = catalog.get(risk_id)
    except KeyError as exc:
        err.print(f"[red]error:[/red] {exc.args[0]}")
        raise typer.Exit(1) from None
    for field, value in risk.model_dump(mode="json").items():
        if value not in ("", [], None):
            out.print(f"[bold]{field}[/bold]: {', '.join(value) if isinstance(value, list) else value}")
