"""`agrorisk-ray` explains itself and refuses bad settings in one readable line."""

from __future__ import annotations

from typer.testing import CliRunner

from agrorisk_ray.cli import app


def test_help_lists_serve_and_bench():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "bench" in result.output


def test_serve_refuses_batches_that_could_never_fill():
    env = {"AGRORISK_RAY_MAX_BATCH_SIZE": "16", "AGRORISK_RAY_MAX_ONGOING_REQUESTS": "4"}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 1
    assert "max_ongoing_requests" in result.output and "Traceback" not in result.output


def test_bench_refuses_an_empty_images_folder(tmp_path, model_registry):
    storage, _ = model_registry
    env = {
        "AGRORISK_STORAGE_LOCAL_ROOT": str(storage.local_root),
        "AGRORISK_STORAGE_CACHE_DIR": str(storage.cache_dir),
    }
    result = CliRunner().invoke(app, ["bench", "--images", str(tmp_path), "--no-triton"], env=env)
    assert result.exit_code == 1
    assert "no .jpg" in result.output and "Traceback" not in result.output
