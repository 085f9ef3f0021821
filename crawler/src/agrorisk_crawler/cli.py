"""`agrorisk-crawl`: collect photos for catalog risks, count them, benchmark the crawler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from agrorisk_common.catalog import CatalogError, Risk, RiskType, load_catalog
from agrorisk_common.cli import cli_app, err, fail, one_line, out
from agrorisk_crawler.bench import run_bench
from agrorisk_crawler.collection import ImageCollection
from agrorisk_crawler.crawl import crawl_risks
from agrorisk_crawler.manifest import ManifestError, load_manifest
from agrorisk_crawler.queries import build_queries
from agrorisk_crawler.settings import KNOWN_ENGINES, Settings
from agrorisk_crawler.stats import collection_stats

app = cli_app(
    "Collect photos of every catalog risk (crawler/risks/*.csv) from image search engines with "
    "icrawler into crawler/download/images/<risk_id>/<sha256>.<ext>, validated and de-duplicated, "
    "with crawler/download/manifest.csv. Settings: AGRORISK_CRAWLER_* variables (see README)."
)


class CliError(Exception):
    """An expected failure: shown as one red line, exit code 1."""


RiskOption = Annotated[list[str], typer.Option("--risk", "-r", help="Risk id (repeatable).")]
CropOption = Annotated[
    list[str], typer.Option("--crop", "-c", help="Crop slug, e.g. winter_wheat (repeatable).")
]
TypeOption = Annotated[list[RiskType], typer.Option("--risk-type", "-t", help="Risk type (repeatable).")]
CatalogOption = Annotated[
    Path | None, typer.Option("--catalog", help="Catalog folder or CSV (default: crawler/risks).")
]
DownloadOption = Annotated[
    Path | None,
    typer.Option("--download-dir", help="Folder for images/ and manifest.csv (default: crawler/download)."),
]


def _settings(catalog: Path | None, download_dir: Path | None = None, **overrides: Any) -> Settings:
    """The environment's settings, overridden by the options the command was given."""
    values = {"catalog_dir": catalog, "download_dir": download_dir, **overrides}
    try:
        return Settings(**{k: v for k, v in values.items() if v is not None and v != []})
    except ValidationError as exc:
        raise CliError(one_line(exc)) from None


def _select(settings: Settings, risk: list[str], crop: list[str], risk_type: list[RiskType]) -> list[Risk]:
    try:
        catalog = load_catalog(settings.catalog_dir)
        risks = catalog.select(ids=risk, crops=crop, risk_types=risk_type)
    except CatalogError as exc:
        raise CliError(f"catalog: {exc}") from None
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    if not risks:
        raise CliError("no catalog risk matches the given --risk/--crop/--risk-type filters")
    return risks


@app.command()
def run(
    risk: RiskOption = [],  # noqa: B006 - typer reads list defaults
    crop: CropOption = [],  # noqa: B006
    risk_type: TypeOption = [],  # noqa: B006
    max_per_risk: Annotated[
        int | None, typer.Option("--max-per-risk", "-n", min=1, help="Stop a risk at this many images.")
    ] = None,
    engine: Annotated[
        list[str],
        typer.Option("--engine", "-e", help=f"Engine, in order (repeatable): {', '.join(KNOWN_ENGINES)}."),
    ] = [],  # noqa: B006
    threads: Annotated[int | None, typer.Option(min=1, max=64, help="Download threads.")] = None,
    catalog: CatalogOption = None,
    download_dir: DownloadOption = None,
) -> None:
    """Crawl the selected risks (all by default). Resumable: a re-run keeps what is there and adds only new images."""
    try:
        settings = _settings(
            catalog, download_dir, max_per_risk=max_per_risk, engines=engine, threads=threads
        )
        risks = _select(settings, risk, crop, risk_type)
        collection = ImageCollection(settings.images_dir, settings.manifest_path, settings.phash_threshold)
    except (CliError, ManifestError) as exc:
        raise fail(str(exc)) from None
    skipped = [e for e in settings.engines if e not in settings.active_engines()]
    if skipped:
        err.print(f"[yellow]note:[/yellow] {', '.join(skipped)} skipped: set AGRORISK_CRAWLER_FLICKR_API_KEY")
    if not settings.active_engines():
        raise fail("no engine can run")
    report = crawl_risks(risks, settings, collection, console=out)
    out.print(report.table(held=collection.count))
    out.print(f"manifest: {settings.manifest_path} ({len(collection.rows)} images)")
    if report.engines_down >= set(settings.active_engines()):
        raise fail(
            f"no search engine could be reached ({', '.join(sorted(report.engines_down))}): "
            "check the network or the AGRORISK_CRAWLER_*_URL settings"
        )


@app.command()
def stats(
    risk: RiskOption = [],  # noqa: B006
    crop: CropOption = [],  # noqa: B006
    risk_type: TypeOption = [],  # noqa: B006
    target: Annotated[int | None, typer.Option(min=1, help="Images each risk should have.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    catalog: CatalogOption = None,
    download_dir: DownloadOption = None,
) -> None:
    """Images per risk (crawled, synthetic, flagged cross-risk) and the risks under the target count."""
    try:
        settings = _settings(catalog, download_dir, target_per_risk=target)
        risks = _select(settings, risk, crop, risk_type)
        rows = load_manifest(settings.manifest_path)
    except (CliError, ManifestError) as exc:
        raise fail(str(exc)) from None
    result = collection_stats(rows, [r.id for r in risks], settings.target_per_risk)
    if as_json:
        payload = result.model_dump() | {"under_target": result.under_target}
        out.print_json(json.dumps(payload))
        return
    table = Table(title=f"Images per risk ({settings.manifest_path})")
    table.add_column("risk", no_wrap=True, min_width=max(len(r.risk_id) for r in result.risks))
    for name in ("crawled", "synthetic", "total", "flagged", f"missing to {result.target}"):
        table.add_column(name, justify="right")
    for count in result.risks:
        missing = result.under_target.get(count.risk_id, 0)
        table.add_row(
            count.risk_id,
            str(count.crawled),
            str(count.synthetic),
            str(count.total),
            str(count.cross_risk_flagged),
            f"[red]{missing}[/red]" if missing else "0",
        )
    out.print(table)
    under = result.under_target
    out.print(f"{len(under)} of {len(result.risks)} risk(s) under {result.target} images")


@app.command()
def queries(
    risk: RiskOption = [],  # noqa: B006
    crop: CropOption = [],  # noqa: B006
    risk_type: TypeOption = [],  # noqa: B006
    catalog: CatalogOption = None,
) -> None:
    """Show the search queries each selected risk would be crawled with."""
    try:
        settings = _settings(catalog)
        risks = _select(settings, risk, crop, risk_type)
    except CliError as exc:
        raise fail(str(exc)) from None
    for selected in risks:
        out.print(f"[bold]{selected.id}[/bold]")
        for query in build_queries(selected, settings.max_queries_per_risk):
            out.print(f"  {query}", highlight=False)


@app.command()
def bench(
    out_file: Annotated[Path, typer.Option("--out", help="JSON file for the results.")] = Path(
        "bench/crawler.json"
    ),
) -> None:
    """Seconds to dedup 10,000 pHashes (check-then-add, 1 in 10 a near copy), as a crawl does.

    The crawl's images/s on a loopback search engine + image host: `agrorisk-dev bench-crawler`.
    """
    results = run_bench(out_file)
    out.print_json(json.dumps(results))
    out.print(f"written to {out_file}")
