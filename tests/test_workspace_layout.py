"""The workspace is what the README promises: 12 independent packages, each complete."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {
    "common": "agrorisk_common",
    "minio-storage": "agrorisk_storage",
    "serving": "agrorisk_serving",
    "yolov11-train": "agrorisk_train",
    "crawler": "agrorisk_crawler",
    "gemini-integration": "agrorisk_gemini",
    "dataset-labeling": "agrorisk_labeling",
    "triton-inference": "agrorisk_triton",
    "ray-inference": "agrorisk_ray",
    "backend": "agrorisk_backend",
    "gradio-web": "agrorisk_web",
    "dagster-pipeline": "agrorisk_pipeline",
}


@pytest.mark.parametrize("folder", PACKAGES)
def test_package_folder_is_complete(folder):
    root = REPO / folder
    for name in ("pyproject.toml", "requirements.txt", "Dockerfile", "README.md"):
        assert (root / name).is_file(), f"{folder}/{name} is missing"
    assert (root / "src" / PACKAGES[folder] / "__init__.py").is_file()
    assert any((root / "tests").glob("test_*.py")), f"{folder}/tests has no tests"
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"agrorisk-{folder}"
    assert project["requires-python"] == ">=3.12"


@pytest.mark.parametrize("folder", [f for f in PACKAGES if f != "common"])
def test_every_package_depends_on_common(folder):
    """Imports and roles (no service uses another service) are checked in test_package_roles.py."""
    deps = tomllib.loads((REPO / folder / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "agrorisk-common" in deps


def test_dockerfiles_install_their_own_package_from_the_repo_root():
    for folder in PACKAGES:
        text = (REPO / folder / "Dockerfile").read_text()
        assert "python:3.12-slim" in text, folder
        assert f"{folder}/requirements.txt" in text, folder


@pytest.mark.slow
def test_wheels_of_common_and_a_service_install_alone_in_a_new_venv(tmp_path):
    """`uv build --package` gives wheels that install without the workspace (common + minio-storage)."""
    uv = os.environ.get("UV", "uv")
    uv = (
        uv
        if subprocess.run(["which", uv], capture_output=True).returncode == 0
        else str(REPO / ".tools/bin/uv")
    )
    dist = tmp_path / "dist"
    for package in ("agrorisk-common", "agrorisk-minio-storage"):
        subprocess.run(
            [uv, "build", "--package", package, "--out-dir", str(dist), "-q"], cwd=REPO, check=True
        )
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 2
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *map(str, wheels)], check=True)
    catalog_dir = REPO / "crawler" / "risks"
    out = subprocess.run(
        [str(python), "-c", "from agrorisk_common.catalog import load_catalog; print(len(load_catalog()))"],
        cwd=tmp_path,
        env={**os.environ, "AGRORISK_CATALOG_DIR": str(catalog_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) >= 60
    help_text = subprocess.run(
        [str(venv / "bin" / "agrorisk-models"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "push" in help_text and "promote" in help_text
