"""`agrorisk-models`: push, list, show, pull, promote, roll back and delete model or dataset versions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from agrorisk_common.cli import cli_app, err, one_line_errors, out
from agrorisk_storage.bench import BENCH_BUCKET, run_bench
from agrorisk_storage.errors import RegistryError
from agrorisk_storage.manifest import VersionInfo
from agrorisk_storage.registry import VersionRegistry, open_registry
from agrorisk_storage.settings import StorageSettings

app = cli_app(
    "The AgroRisk version registry for models and datasets. Versions live in MinIO/S3 when "
    "AGRORISK_STORAGE_ENDPOINT is set, otherwise in the local folder AGRORISK_STORAGE_LOCAL_ROOT "
    "(default .agrorisk/registry); every command prints which backend is active."
)


class Kind(StrEnum):
    models = "models"
    datasets = "datasets"


KindOption = Annotated[Kind, typer.Option("--kind", "-k", help="Which registry: models or datasets.")]
RefArgument = Annotated[str, typer.Argument(help='A version ("v3" or "3"), "latest" or an alias.')]
AliasOption = Annotated[str, typer.Option("--alias", "-a", help="Alias name, e.g. production or staging.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _clean_errors():
    """Expected failures end the command with one red line on stderr and exit code 1."""
    return one_line_errors(RegistryError)


@contextmanager
def _registry(kind: Kind) -> Iterator[VersionRegistry]:
    """The registry for `kind`, after telling which backend is active."""
    with _clean_errors():
        registry = open_registry(kind.value, StorageSettings())
        err.print(f"[dim]{kind.value} registry: {registry.location}[/dim]", highlight=False, soft_wrap=True)
        yield registry


def _metadata(meta: list[str], meta_json: Path | None) -> dict[str, Any]:
    """--meta-json's object, then each --meta key=value (values parsed as JSON when they are JSON)."""
    result: dict[str, Any] = {}
    if meta_json is not None:
        try:
            loaded = json.loads(meta_json.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RegistryError(f"cannot read --meta-json {meta_json}: {exc}") from None
        if not isinstance(loaded, dict):
            raise RegistryError(f"--meta-json {meta_json} must hold a JSON object")
        result.update(loaded)
    for item in meta:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RegistryError(f"--meta {item!r} must look like key=value")
        try:
            result[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            result[key.strip()] = value
    return result


def _transfer_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    )


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _metrics(info: VersionInfo, limit: int = 4) -> str:
    metrics = info.metadata.get("metrics")
    if not isinstance(metrics, dict):
        return ""
    shown = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in list(metrics.items())[:limit]]
    return " ".join(shown)


@app.command()
def push(
    paths: Annotated[list[Path], typer.Argument(help="Files to store (named by file name), or one folder.")],
    kind: KindOption = Kind.models,
    meta: Annotated[
        list[str], typer.Option("--meta", "-m", help="Metadata key=value (value may be JSON); repeatable.")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    meta_json: Annotated[
        Path | None, typer.Option("--meta-json", help="A JSON file with a metadata object.")
    ] = None,
) -> None:
    """Store files (weights, ONNX export, metrics.json, ...) or one folder as the next version."""
    with _registry(kind) as registry:
        metadata = _metadata(meta, meta_json)
        with _transfer_progress() as progress:
            total = sum(p.stat().st_size for path in paths for p in _files_of(path))
            task = progress.add_task("uploading", total=total)
            advance = lambda _name, size: progress.advance(task, size)  # noqa: E731
            if len(paths) == 1 and paths[0].is_dir():
                info = registry.push_dir(paths[0], metadata, progress=advance)
            else:
                info = registry.push(_named_files(paths), metadata, progress=advance)
        out.print(
            f"pushed [bold]{info.version}[/bold]: {len(info.files)} file(s), {_size(info.total_size)}",
            highlight=False,
        )


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file()]
    return [path] if path.is_file() else []


def _named_files(paths: list[Path]) -> dict[str, Path]:
    named: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            raise RegistryError(f"{path} is a folder: push one folder on its own, or files only")
        if path.name in named:
            raise RegistryError(f"two files are named {path.name!r}; rename one")
        named[path.name] = path
    return named


@app.command("list")
def list_versions(kind: KindOption = Kind.models, as_json: JsonOption = False) -> None:
    """Every version with its aliases, metrics, size and creator, oldest first."""
    with _registry(kind) as registry:
        infos = registry.list()
    if as_json:
        out.print_json(json.dumps([info.model_dump(mode="json") for info in infos]))
        return
    table = Table(title=f"{len(infos)} {kind.value} version(s)")
    for column in ("version", "created", "aliases", "files", "size", "metrics", "creator"):
        table.add_column(column, justify="right" if column in ("files", "size") else "left")
    for info in infos:
        table.add_row(
            info.version,
            info.created_at.strftime("%Y-%m-%d %H:%M"),
            ", ".join(info.aliases),
            str(len(info.files)),
            _size(info.total_size),
            _metrics(info),
            str(info.metadata.get("creator", "")),
        )
    out.print(table)


@app.command()
def show(ref: RefArgument, kind: KindOption = Kind.models, as_json: JsonOption = False) -> None:
    """One version: where it came from (parent version, data set, start weights, W&B/Optuna/Dagster
    runs, git commit), its metrics and files; --json prints the whole manifest."""
    with _registry(kind) as registry:
        info = registry.show(ref)
    if as_json:
        out.print_json(info.model_dump_json())
        return
    table = Table(title=f"{kind.value} {info.version}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field, value in _provenance(info):
        table.add_row(field, value)
    out.print(table)


def _provenance(info: VersionInfo) -> list[tuple[str, str]]:
    """The rows `show` prints: identity, where the version came from, metrics, files."""
    meta = info.metadata
    rows: list[tuple[str, Any]] = [
        ("aliases", ", ".join(info.aliases) or "—"),
        ("created", f"{info.created_at:%Y-%m-%d %H:%M} UTC by {meta.get('creator') or '?'}"),
    ]
    if "lineage" in meta or "start_weights" in meta:
        rows += _model_lineage(meta)
    else:  # a data set, or a version pushed by hand: its own metadata
        rows += [(k, v) for k, v in meta.items() if isinstance(v, str | int | float) and k != "creator"]
    rows += [
        ("metrics", _metrics(info, limit=8)),
        ("files", ", ".join(f"{name} ({_size(entry.size)})" for name, entry in sorted(info.files.items()))),
    ]
    return [(field, str(value)) for field, value in rows if value not in (None, "")]


def _model_lineage(meta: dict[str, Any]) -> list[tuple[str, Any]]:
    """What `agrorisk-train register` and the Dagster flow record about a model's origin."""
    lineage = meta.get("lineage") or {}
    start = meta.get("start_weights")
    trial = meta.get("optuna_trial")
    return [
        ("parent version", lineage.get("parent_version") or "— (not fine-tuned from a registered model)"),
        ("why this start", lineage.get("reason")),
        ("start weights", lineage.get("start") or (start.get("note") if isinstance(start, dict) else start)),
        ("data set version", meta.get("dataset_version")),
        ("data set hash", meta.get("dataset_hash")),
        ("replayed data set", lineage.get("replay_from")),
        ("W&B run", meta.get("wandb_run")),
        ("Optuna trial", f"{meta.get('optuna_study')} #{trial}" if trial is not None else None),
        ("Dagster run", meta.get("dagster_run_id") or lineage.get("dagster_run_id")),
        ("git commit", meta.get("git_commit")),
    ]


@app.command()
def pull(
    ref: RefArgument,
    kind: KindOption = Kind.models,
    dest: Annotated[Path | None, typer.Option("--dest", "-d", help="Folder to put the files in.")] = None,
) -> None:
    """Download a version's files (sha256-checked, cached by hash) and print the folder."""
    with _registry(kind) as registry:
        info = registry.show(ref)
        with _transfer_progress() as progress:
            task = progress.add_task(f"pulling {info.version}", total=info.total_size)
            folder = registry.pull(
                info.version, dest, progress=lambda _name, size: progress.advance(task, size)
            )
    typer.echo(folder)


@app.command()
def promote(ref: RefArgument, alias: AliasOption = "production", kind: KindOption = Kind.models) -> None:
    """Point an alias at a version; the alias keeps its history for rollback."""
    with _registry(kind) as registry:
        info = registry.promote(ref, alias)
    out.print(f"{alias} -> [bold]{info.version}[/bold]", highlight=False)


@app.command()
def rollback(alias: AliasOption = "production", kind: KindOption = Kind.models) -> None:
    """Point an alias back at the version it pointed to before."""
    with _registry(kind) as registry:
        info = registry.rollback(alias)
    out.print(f"{alias} -> [bold]{info.version}[/bold] (rolled back)", highlight=False)


@app.command()
def delete(
    ref: RefArgument,
    kind: KindOption = Kind.models,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even a version an alias points at (the alias rolls back).")
    ] = False,
) -> None:
    """Delete a version. Its number is never reused."""
    with _registry(kind) as registry:
        info = registry.delete(ref, force=force)
    out.print(f"deleted {info.version}", highlight=False)


@app.command()
def aliases(kind: KindOption = Kind.models) -> None:
    """Every alias with its current target and history."""
    with _registry(kind) as registry:
        targets = registry.aliases()
        histories = {alias: registry.alias_history(alias) for alias in targets}
    table = Table(title=f"{len(targets)} alias(es)")
    table.add_column("alias")
    table.add_column("version")
    table.add_column("history (oldest first)")
    for alias, version in sorted(targets.items()):
        table.add_row(alias, version, " -> ".join(histories[alias]))
    out.print(table)


@app.command()
def bench(
    out_file: Annotated[Path, typer.Option("--out", help="JSON file for the results.")] = Path(
        "bench/storage.json"
    ),
    size_mb: Annotated[int, typer.Option("--size-mb", min=1, max=4096, help="Size of the pushed file.")] = 64,
) -> None:
    """Measure push/pull throughput and small-push latency on the active backend; write JSON."""
    with _clean_errors():
        settings = StorageSettings()
        where = (
            f"S3 bucket {BENCH_BUCKET} at {settings.endpoint}" if settings.uses_s3 else "a temporary folder"
        )
        err.print(f"[dim]benchmarking {where} with a {size_mb} MB file[/dim]", highlight=False)
        results = run_bench(settings, out_file, size_mb=size_mb)
    for metric, value in results.items():
        out.print(f"{metric}: {value}", highlight=False)
    out.print(f"written to {out_file}", highlight=False)
