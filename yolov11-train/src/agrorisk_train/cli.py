"""`agrorisk-train`: train, fine-tune, tune, export, evaluate and register YOLO11 crop-risk detectors."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agrorisk_common.cli import err, one_line_errors, out
from agrorisk_common.logging import configure_logging
from agrorisk_train.settings import TrainSettings

app = typer.Typer(
    help="Train Ultralytics YOLO11 on a YOLO dataset of crop risks (class names = risk ids), fine-tune the "
    "production model, search hyper-parameters with Optuna, export to ONNX/TorchScript, evaluate in the "
    "report format shared with Gemini, and register models in the AgroRisk registry. Runs are tracked "
    "in Weights & Biases (offline under the run folder unless WANDB_API_KEY is set). Defaults come from "
    "AGRORISK_TRAIN_* variables; the registry from AGRORISK_STORAGE_*.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataOption = Annotated[Path, typer.Option("--data", help="YOLO data.yaml (names = risk ids).")]
EpochsOption = Annotated[int | None, typer.Option("--epochs", min=1, help="Training epochs.")]
ImgszOption = Annotated[int | None, typer.Option("--imgsz", min=32, help="Square image size, pixels.")]
BatchOption = Annotated[int | None, typer.Option("--batch", min=1, help="Images per batch.")]
DeviceOption = Annotated[str | None, typer.Option("--device", help="auto, cpu, 0, 0,1 …")]
ProjectOption = Annotated[Path | None, typer.Option("--project", help="Folder for runs (default runs/).")]
DatasetVersionOption = Annotated[
    str | None, typer.Option("--dataset-version", help="Dataset registry version the data came from.")
]


def _expected_failures[**P](command: Callable[P, None]) -> Callable[P, None]:
    """A command whose expected failures become one red line and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        import optuna

        from agrorisk_storage import RegistryError

        configure_logging()
        with one_line_errors(RuntimeError, RegistryError, optuna.exceptions.OptunaError):
            command(*args, **kwargs)

    return run


def _settings(**overrides: Any) -> TrainSettings:
    return TrainSettings(**{k: v for k, v in overrides.items() if v is not None})


def _registry():
    from agrorisk_storage import ModelRegistry, StorageSettings

    return ModelRegistry.from_settings(StorageSettings())


def _data(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"data.yaml not found: {path}")
    return path


@app.command()
@_expected_failures
def fit(
    data: DataOption,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Start weights: yolo11n.pt (pretrained, downloaded if reachable), yolo11n.yaml (random init), "
            "a .pt path, or registry:<version|alias>.",
        ),
    ] = None,
    epochs: EpochsOption = None,
    imgsz: ImgszOption = None,
    batch: BatchOption = None,
    device: DeviceOption = None,
    project: ProjectOption = None,
    name: Annotated[str | None, typer.Option("--name", help="Run folder name.")] = None,
    register: Annotated[
        bool, typer.Option("--register/--no-register", help="Push the result into the model registry.")
    ] = False,
    dataset_version: DatasetVersionOption = None,
) -> None:
    """Train a model; writes best.pt, metrics.json and an offline/online W&B run into the run folder."""
    from agrorisk_train.registering import register_model
    from agrorisk_train.training import train

    settings = _settings(epochs=epochs, imgsz=imgsz, batch=batch, device=device, project_dir=project)
    registry = _registry() if register or (model or "").startswith("registry:") else None
    result = train(settings, _data(data), model=model, run_name=name, registry=registry)
    out.print(f"best model: {result.best_pt}")
    out.print(f"metrics:    {result.metrics_json}  {json.dumps(result.metrics)}")
    out.print(f"W&B run:    {result.wandb_run}")
    if register:
        info = register_model(registry, result, settings, dataset_version=dataset_version)
        out.print(f"registered: {info.version} (not promoted)")


@app.command()
@_expected_failures
def finetune(
    data: Annotated[Path, typer.Option("--data", help="The NEW dataset version's data.yaml.")],
    base: Annotated[
        str, typer.Option("--base", help="Registry version or alias to start from.")
    ] = "production",
    old_data: Annotated[
        Path | None, typer.Option("--old-data", help="The old dataset's data.yaml, for replay.")
    ] = None,
    replay: Annotated[
        float | None,
        typer.Option("--replay", min=0.0, max=1.0, help="Share of old training images mixed in."),
    ] = None,
    freeze: Annotated[int | None, typer.Option("--freeze", min=0, help="Freeze the first N layers.")] = None,
    test_data: Annotated[
        Path | None, typer.Option("--test-data", help="data.yaml of the frozen test set (default: --data).")
    ] = None,
    test_split: Annotated[str, typer.Option("--test-split", help="Split compared on.")] = "test",
    epochs: EpochsOption = None,
    imgsz: ImgszOption = None,
    batch: BatchOption = None,
    device: DeviceOption = None,
    project: ProjectOption = None,
    register: Annotated[
        bool, typer.Option("--register/--no-register", help="Register the new version (never promoted).")
    ] = True,
    dataset_version: DatasetVersionOption = None,
) -> None:
    """Fine-tune a registered model on a new dataset; compare old vs new; register the new version."""
    from agrorisk_train.finetune import finetune as run_finetune

    settings = _settings(
        epochs=epochs, imgsz=imgsz, batch=batch, device=device, project_dir=project,
        replay_fraction=replay, freeze=freeze,
    )  # fmt: skip
    result = run_finetune(
        settings, _data(data), _registry(), base_ref=base, old_data_yaml=old_data,
        test_data_yaml=test_data, test_split=test_split, register=register, dataset_version=dataset_version,
    )  # fmt: skip
    c = result.comparison
    out.print(
        f"{c['base_version']} mAP50 {c['old_map50']:.3f} → new mAP50 {c['new_map50']:.3f} "
        f"on {c['test_split']} ({c['n_images']} images)"
    )
    out.print(f"best model: {result.train.best_pt}")
    if result.version is not None:
        out.print(f"registered: {result.version.version} with the comparison (not promoted)")


@app.command()
@_expected_failures
def tune(
    data: DataOption,
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="Trials to run now.")] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage", help="Optuna storage: sqlite:///runs/optuna.db or postgresql://user:pw@host/db."
        ),
    ] = None,
    study: Annotated[str | None, typer.Option("--study", help="Study name (joined if it exists).")] = None,
    epochs_per_trial: Annotated[int | None, typer.Option("--epochs-per-trial", min=1)] = None,
    imgsz_choices: Annotated[
        list[int] | None, typer.Option("--imgsz-choice", help="Image sizes to search (repeatable).")
    ] = None,
    batch_choices: Annotated[
        list[int] | None, typer.Option("--batch-choice", help="Batch sizes to search (repeatable).")
    ] = None,
    epochs: EpochsOption = None,
    device: DeviceOption = None,
    project: ProjectOption = None,
    final: Annotated[
        bool, typer.Option("--final/--no-final", help="Train a final model with the best parameters.")
    ] = False,
) -> None:
    """Search hyper-parameters with Optuna; writes best_params.json. Watch: optuna-dashboard <storage>."""
    from agrorisk_train.tuning import tune as run_tune

    settings = _settings(
        tune_epochs=epochs_per_trial, tune_imgsz_choices=imgsz_choices or None,
        tune_batch_choices=batch_choices or None, epochs=epochs, device=device, project_dir=project,
    )  # fmt: skip
    n = trials or settings.tune_trials
    with _progress() as progress:
        task = progress.add_task("Optuna trials", total=n)
        result = run_tune(
            settings, _data(data), n_trials=n, storage=storage, study_name=study, final_run=final,
            on_trial_end=lambda: progress.advance(task),
        )  # fmt: skip
    out.print(f"study {result.study_name} ({result.storage}): {result.n_trials} trials")
    out.print(f"best trial {result.best_trial}: fitness {result.best_value:.4f}")
    out.print(f"best params: {result.best_params_json}")
    if result.final:
        out.print(f"final model: {result.final.best_pt}")


@app.command()
@_expected_failures
def export(
    weights: Annotated[Path, typer.Argument(help="best.pt to export.")],
    imgsz: ImgszOption = None,
    torchscript: Annotated[bool, typer.Option("--torchscript/--no-torchscript")] = True,
    image: Annotated[
        Path | None, typer.Option("--image", help="Image for the ONNX-vs-PyTorch check (default: a sample).")
    ] = None,
) -> None:
    """Export to ONNX (and TorchScript) and check ONNX Runtime matches PyTorch on the same image."""
    from agrorisk_train.export import export_onnx

    result = export_onnx(weights, _settings(), imgsz=imgsz, torchscript=torchscript, image=image)
    out.print(f"onnx: {result.onnx_path}")
    if result.torchscript_path:
        out.print(f"torchscript: {result.torchscript_path}")
    out.print(f"max |ONNX - PyTorch| = {result.max_abs_diff:.3g} (tolerance {result.tolerance:.3g})")


@app.command()
@_expected_failures
def evaluate(
    weights: Annotated[Path, typer.Argument(help="best.pt or best.onnx.")],
    data: DataOption,
    split: Annotated[str, typer.Option("--split", help="Split to score.")] = "val",
    imgsz: ImgszOption = None,
    conf: Annotated[
        float,
        typer.Option(
            "--conf",
            min=0.0,
            max=1.0,
            help="Operating confidence for precision/recall/F1 (the server's threshold); mAP always "
            "uses every detection down to 0.001, as `yolo val`.",
        ),
    ] = 0.25,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report-yolo.json/.md.")] = Path(
        "runs/evaluation"
    ),
    model_version: Annotated[str | None, typer.Option("--model-version")] = None,
    dataset_version: DatasetVersionOption = None,
) -> None:
    """Score a model on a labelled split: COCO mAP@0.5 and mAP@0.5:0.95 (pycocotools, comparable
    with `yolo val` and papers), P/R/F1 at the operating threshold, latency, cost per 1,000 images."""
    from agrorisk_train.evaluation import evaluate_model

    report = evaluate_model(
        weights, _data(data), _settings(), split=split, imgsz=imgsz, operating_conf=conf,
        model_version=model_version, dataset_version=dataset_version, out_dir=out_dir,
    )  # fmt: skip
    out.print(report.to_markdown())
    out.print(f"report: {out_dir / 'report-yolo.json'}")


@app.command("wandb-sync")
@_expected_failures
def wandb_sync(
    root: Annotated[
        Path | None, typer.Argument(help="Folder to search for offline runs (default: the project dir).")
    ] = None,
) -> None:
    """Upload the offline W&B runs (training without a reachable server) to the W&B server of
    WANDB_BASE_URL with WANDB_API_KEY, each once; says how many wait when W&B is not configured."""
    from agrorisk_train.wandb_sync import sync_offline_runs

    synced, errors = sync_offline_runs(root or _settings().project_dir)
    out.print(f"uploaded {len(synced)} offline W&B run(s)" + "".join(f"\n  {run}" for run in synced))
    if errors:
        raise RuntimeError(f"{len(errors)} run(s) not uploaded: {'; '.join(errors)}")


@app.command()
@_expected_failures
def starter(
    work: Annotated[Path, typer.Option(help="Scratch folder for the copy and its ONNX export.")] = Path(
        ".agrorisk/starter-register"
    ),
) -> None:
    """Register the committed starter model (AGRORISK_TRAIN_STARTER_MODEL, models/starter/best.pt) as
    production when the registry has no production model, with lineage `start: starter vN`; does
    nothing when production exists. What `make bootstrap` and the demo's first run do."""
    from agrorisk_train.starter import register_starter

    settings, models = _settings(), _registry()
    production = models.aliases().get("production")
    if production is not None:
        out.print(f"production is {production}: nothing to register")
        return
    best_pt = settings.starter_model
    if best_pt is None or not best_pt.is_file():
        raise FileNotFoundError(f"no starter model at {best_pt} (AGRORISK_TRAIN_STARTER_MODEL)")
    info = register_starter(models, best_pt, settings, work)
    out.print(f"registered {best_pt} as {info.version} = production ({info.metadata['lineage']['start']})")


@app.command()
@_expected_failures
def push(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder (with train_result.json).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="data.yaml to hash (default: the run's).")
    ] = None,
    dataset_version: DatasetVersionOption = None,
) -> None:
    """Register a finished run: best.pt, best.onnx (exported and checked) and metrics.json + metadata."""
    from agrorisk_train.registering import register_model
    from agrorisk_train.training import TrainResult

    result = TrainResult.load(run_dir)
    info = register_model(_registry(), result, _settings(), data_yaml=data, dataset_version=dataset_version)
    out.print(f"registered: {info.version} (not promoted)")


@app.command()
@_expected_failures
def bench(
    out_file: Annotated[Path, typer.Option("--out", help="JSON file for the results.")] = Path(
        "runs/bench-train.json"
    ),
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 3,
    images_per_class: Annotated[
        int, typer.Option("--images-per-class", min=2, help="4 classes are drawn.")
    ] = 10,
    device: DeviceOption = None,
) -> None:
    """Measure training speed: seconds per epoch per 100 images at 320 px on generated leaves."""
    from agrorisk_train.bench import benchmark_training

    report = benchmark_training(
        _settings(device=device), out_file, images_per_class=images_per_class, epochs=epochs
    )
    out.print(json.dumps(report, indent=2))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
