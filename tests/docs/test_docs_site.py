"""`make docs` builds the Ukrainian docs as a static site with no broken internal link (mkdocs --strict)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MKDOCS = REPO / ".venv" / "bin" / "mkdocs"
HOOK = REPO / "docs" / "hooks" / "repo_links.py"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True, text=True, env=ENV, timeout=300, cwd=config.parent,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    run = build(REPO / "mkdocs.yml", out)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    assert "WARNING" not in run.stderr, run.stderr
    return out


def test_every_ukrainian_page_is_built_into_the_site(site):
    for page in (REPO / "docs" / "uk").rglob("*.md"):
        rel = page.relative_to(REPO / "docs" / "uk").with_suffix(".html")
        built = site / ("index.html" if rel.name == "README.html" else rel)
        assert built.is_file(), f"{page} was not built"
    html = (site / "index.html").read_text(encoding="utf-8")
    assert '<html lang="uk"' in html


def test_the_architecture_diagram_is_mermaid(site):
    html = (site / "architecture.html").read_text(encoding="utf-8")
    assert 'class="mermaid"' in html and "flowchart" in html


def test_links_to_package_readmes_land_on_their_pages_in_the_site(site):
    html = (site / "gemini.html").read_text(encoding="utf-8")
    targets = set(re.findall(r'href="(packages/gemini-integration\.html[^"]*)"', html))
    assert "packages/gemini-integration.html#verification-protocol" in targets
    page = (site / "packages" / "gemini-integration.html").read_text(encoding="utf-8")
    assert 'id="verification-protocol"' in page
    # links inside a package README to its own files become plain paths, not dead links
    assert "<code>gemini-integration/src/agrorisk_gemini/pricing.json</code>" in page


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("[gone](missing-page.md)", "missing-page.md"),
        ("[bad anchor](#no-such-heading)", "no-such-heading"),
        ("[gone](/no-such-package/README.md)", "not a file of the repository"),
    ],
)
def test_a_broken_link_fails_the_strict_build(tmp_path, link, message):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Сторінка\n\n{link}\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"site_name: t\ndocs_dir: docs\nhooks: ['{HOOK}']\n"
        "validation: {anchors: warn, absolute_links: warn, unrecognized_links: warn}\n",
        encoding="utf-8",
    )
    run = build(config, tmp_path / "site")
    assert run.returncode != 0
    assert message in run.stdout + run.stderr
