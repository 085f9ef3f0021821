"""`agrorisk-pipeline`: drift reports without Dagster, the whole flow in-process, and the drift benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agrorisk_common.cli import cli_app, err, fail, one_line
from agrorisk_common.cli import out as console  # `out` names a command's output folder here

app = cli_app(
    "AgroRisk pipeline: Evidently drift reports, the full Dagster flow in-process, benchmarks. "
    "The Dagster UI: `dagster dev -m agrorisk_pipeline.definitions`."
)


@app.command()
def drift(
    reference: Annotated[
        Path, typer.Option(help="reference records: a prediction-log .jsonl file or folder")
    ],
    current: Annotated[
        Path, typer.Option(help="current records: the backend's prediction-log folder or a .jsonl")
    ],
    out: Annotated[Path, typer.Option(help="folder for drift-report.html and drift-summary.json")],
    drift_share: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="share of drifted columns = drift")
    ] = 0.3,
    window: Annotated[int, typer.Option(min=1, help="compare only the newest N current records")] = 10_000,
    min_rows: Annotated[int, typer.Option(min=1, help="fewer rows on either side: no verdict")] = 30,
    source: Annotated[
        list[str] | None,
        typer.Option(
            help="compare only current records of this source (repeatable); default: the local model"
        ),
    ] = None,
) -> None:
    """Drift of image and prediction features between two prediction logs (Evidently). Exit code 2 on drift."""
    from agrorisk_common.prediction_log import LOCAL_SOURCES, read_records
    from agrorisk_pipeline.drift import compute_drift, records_frame

    for name, path in (("reference", reference), ("current", current)):
        if not path.exists():
            raise fail(f"{name} {path} does not exist")
    try:
        with console.status("computing drift…"):
            result = compute_drift(
                records_frame(read_records(reference)),
                records_frame(read_records(current, limit=window, sources=source or LOCAL_SOURCES)),
                drift_share=drift_share, min_rows=min_rows, out_dir=out,
            )  # fmt: skip
    except (ValueError, KeyError, OSError) as exc:
        raise fail(f"cannot compute drift: {exc}") from None
    console.print(result.to_markdown(), highlight=False)
    console.print(f"report: {result.html_path or result.summary_path}")
    if result.dataset_drift:
        raise typer.Exit(2)


@app.command()
def materialize(
    work_dir: Annotated[
        Path | None, typer.Option(help="work folder (default AGRORISK_PIPELINE_WORK_DIR)")
    ] = None,
    select: Annotated[str, typer.Option(help="Dagster asset selection, e.g. 'drift_report' or '*'")] = "*",
) -> None:
    """Materialize the flow in this process (a persistent Dagster instance if DAGSTER_HOME is set)."""
    from agrorisk_pipeline.flow import materialize_flow

    try:
        result = materialize_flow(
            work_dir=work_dir, selection=select, on_step=lambda s: err.print(f"[cyan]step[/cyan] {s}")
        )
    except ValueError as exc:
        raise fail(one_line(exc)) from None
    for line in result.summary:
        console.print(line, highlight=False)
    if not result.success:
        raise fail(f"the run failed at {', '.join(result.failed_steps)}; see the log above")


@app.command()
def bench(
    out: Annotated[Path, typer.Option(help="JSON file for the results")] = Path("bench/pipeline.json"),
    rows: Annotated[int, typer.Option(min=100, help="logged predictions")] = 10_000,
) -> None:
    """Time reading `rows` logged predictions and computing their drift report (goal: 10,000 in < 5 s)."""
    from agrorisk_pipeline.bench import run_bench

    with console.status(f"drift for {rows} logged predictions…"):
        results = run_bench(out, rows)
    console.print_json(data=results)
    console.print(f"written to {out}")
