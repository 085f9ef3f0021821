"""`agrorisk-models` end to end through its typer app, on both backends."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_storage import StorageSettings
from agrorisk_storage.cli import app


@pytest.fixture
def run(settings: StorageSettings):
    """Runs the CLI with the test's storage settings in the environment."""
    env = {f"AGRORISK_STORAGE_{k.upper()}": str(v) for k, v in settings.model_dump().items()}
    env["AGRORISK_STORAGE_SECRET_KEY"] = settings.secret_key.get_secret_value()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    return invoke


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("push", "list", "show", "pull", "promote", "rollback", "delete"):
        assert command in result.stdout


def test_push_promote_rollback_pull(run, settings: StorageSettings, make_model, tmp_path: Path) -> None:
    for i, tag in enumerate(("a", "bb", "ccc")):
        files = make_model(tag)
        result = run("push", *map(str, files.values()), "--meta", f'metrics={{"mAP50": 0.{i + 5}}}')
        assert result.exit_code == 0, result.output
        assert f"pushed v{i + 1}" in result.stdout
    backend = f"local folder {settings.local_root.resolve()}" if not settings.uses_s3 else "S3 http://"
    assert backend in result.stderr

    assert run("promote", "v2").exit_code == 0
    assert "production -> v3" in run("promote", "v3", "--alias", "production").stdout
    assert "production -> v2 (rolled back)" in run("rollback").stdout

    listing = run("list")
    assert "mAP50=0.600" in listing.stdout and "production" in listing.stdout
    shown = json.loads(run("show", "production", "--json").stdout)
    assert shown["version"] == "v2" and shown["metadata"]["metrics"] == {"mAP50": 0.6}

    pulled = run("pull", "production", "--dest", str(tmp_path / "out"))
    assert pulled.exit_code == 0, pulled.output
    assert Path(pulled.stdout.strip()) == tmp_path / "out"
    assert (tmp_path / "out" / "best.pt").read_bytes() == (tmp_path / "src" / "bb" / "best.pt").read_bytes()


def test_datasets_kind_pushes_a_folder(run, tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.jpg").write_bytes(b"jpeg")
    (folder / "data.yaml").write_text("names: {}")
    meta = tmp_path / "meta.json"
    meta.write_text('{"source": "crawler", "n_images": 1}')

    result = run("push", str(folder), "--kind", "datasets", "--meta-json", str(meta))
    assert result.exit_code == 0, result.output
    assert "datasets registry" in result.stderr
    assert json.loads(run("show", "v1", "-k", "datasets", "--json").stdout)["metadata"]["n_images"] == 1
    assert "n_images" in run("show", "v1", "-k", "datasets").stdout
    assert "0 models version(s)" in run("list").stdout


def test_show_prints_a_models_lineage(run, tmp_path: Path) -> None:
    """What the Dagster flow registers about a fine-tuned candidate, as `show` tells it."""
    (tmp_path / "best.pt").write_bytes(b"weights")
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            {
                "metrics": {"mAP50": 0.41},
                "start_weights": {"kind": "registry", "note": "registry:production (v3)"},
                "dataset_version": "v7",
                "dataset_hash": "8f5f3434e0c2",
                "wandb_run": "agrorisk/yolo11/abc123",
                "optuna_study": "agrorisk-tune",
                "optuna_trial": 4,
                "git_commit": "594546a",
                "dagster_run_id": "run-42",
                "lineage": {
                    "parent_version": "v3",
                    "replay_from": "v6",
                    "reason": "same class set",
                    "start": "production v3",
                },
            }
        )
    )
    assert run("push", str(tmp_path / "best.pt"), "--meta-json", str(meta)).exit_code == 0
    shown = run("show", "v1").stdout
    for text in ("parent version", "v3", "data set version", "v7", "production v3", "agrorisk/yolo11/abc123",
                 "agrorisk-tune #4", "run-42", "594546a", "mAP50=0.410", "replayed data set", "v6"):  # fmt: skip
        assert text in shown, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "v7"), "no models version v7"),
        (("rollback", "--alias", "staging"), "no earlier version"),
        (("push", "missing.pt"), "not a readable file"),
        (("push", "best.pt", "--meta", "novalue"), "key=value"),
        (("promote", "v1", "--alias", "Bad Name"), "invalid alias"),
    ],
)
def test_bad_input_is_one_red_line_and_exit_1(run, args, message, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "best.pt").write_bytes(b"w")
    assert run("push", "best.pt").exit_code == 0
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1


def test_delete_is_guarded_unless_forced(run, make_model) -> None:
    run("push", *map(str, make_model("a").values()))
    run("promote", "v1", "--alias", "staging")
    refused = run("delete", "v1")
    assert refused.exit_code == 1 and "alias staging" in refused.stderr
    forced = run("delete", "v1", "--force")
    assert forced.exit_code == 0 and "deleted v1" in forced.stdout
    assert "0 alias(es)" in run("aliases").stdout


def test_bench_writes_its_metrics(run, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run("bench", "--out", str(out), "--size-mb", "1")
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["file_mb"] == 1.0 and metrics["versions_listed"] == 21.0
    assert all(metrics[k] > 0 for k in ("push_mb_per_s", "pull_cold_mb_per_s", "small_push_ms"))


def test_a_down_endpoint_is_one_line_without_the_secret(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    env = {
        "AGRORISK_STORAGE_ENDPOINT": f"http://127.0.0.1:{closed_port}",
        "AGRORISK_STORAGE_ACCESS_KEY": "agrorisk",
        "AGRORISK_STORAGE_SECRET_KEY": "very-secret-value",
        "AGRORISK_STORAGE_CACHE_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["list"], env=env)
    assert result.exit_code == 1
    assert f"S3 http://127.0.0.1:{closed_port}" in result.stderr
    assert "error: cannot reach S3 endpoint" in result.stderr
    assert "very-secret-value" not in result.output
