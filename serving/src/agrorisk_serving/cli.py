"""`agrorisk-serving bench`: time the detector's stages (decode, letterbox, ONNX Runtime, NMS) apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agrorisk_common.cli import cli_app, fail, one_line, out
from agrorisk_serving.model_source import ModelSource, ModelUnavailable
from agrorisk_storage import ModelRegistry, RegistryError, StorageSettings

app = cli_app(
    "The AgroRisk serving library: time the detector's pre-processing, inference and post-processing."
)


@app.command()
def bench(
    photo: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Photo to time (default: a drawn leaf).")
    ] = None,
    size: Annotated[
        int, typer.Option(min=16, help="The photo is re-encoded as a JPEG of size x size.")
    ] = 640,
    imgsz: Annotated[int, typer.Option(min=32, help="Model input size the photo is letterboxed to.")] = 640,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs of each stage.")] = 50,
    alias: Annotated[str, typer.Option(help="Registry alias or version of the model.")] = "production",
    out_file: Annotated[Path, typer.Option("--out", help="Results file (JSON).")] = Path(
        "serving-bench.json"
    ),
) -> None:
    """Median and p95 milliseconds of decode, letterbox, ONNX Runtime, head decoding + NMS and the
    whole pipeline (JPEG bytes to Prediction), and the pipeline's time over the raw ONNX Runtime run's.

    The model is the registry's (AGRORISK_STORAGE_*); to time a throwaway smoke model instead:
    `agrorisk-dev with-smoke-model -- agrorisk-serving bench`.
    """
    from agrorisk_serving.stage_bench import square_jpeg, time_stages

    try:
        model = ModelSource(ModelRegistry.from_settings(StorageSettings()), alias).pull()
        jpeg = square_jpeg(photo, size)
        results = time_stages(jpeg, model, imgsz, repeats)
    except (ModelUnavailable, RegistryError, OSError, ValueError) as exc:
        raise fail(one_line(exc)) from None
    results = {"model_version": model.version, "photo": str(photo or "drawn leaf"), **results}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title=f"{results['photo_size']} JPEG → {imgsz}px, model {model.version}")
    for column in ("stage", "median ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in ("decode", "letterbox", "onnxruntime", "decode_nms", "pipeline"):
        table.add_row(stage, f"{results[stage]['median_ms']:.2f}", f"{results[stage]['p95_ms']:.2f}")
    out.print(table)
    out.print(f"whole pipeline / raw ONNX Runtime run: {results['pipeline_over_onnxruntime']:.2f}x")
    out.print(f"results written to {out_file}")
