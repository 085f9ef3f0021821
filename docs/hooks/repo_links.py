"""MkDocs hook: the docs can link to files outside `docs/` the way GitHub reads them.

A link written GitHub-style from the repository root, `[text](/<package>/README.md#anchor)`, works on
GitHub as is. In the site the package READMEs (English) are added as pages under `packages/`, and
such links are pointed at those pages, so `mkdocs build --strict` checks them like any other link.
A root link to any other file of the repository becomes its path in code (the site has no copy of it);
a root link to a file that does not exist is reported as a warning, which fails a strict build.
"""

from __future__ import annotations

import logging
import posixpath
import re
import tomllib
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.repo_links")
REPO = Path(__file__).resolve().parents[2]
PACKAGES_DIR = "packages"
ROOT_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(/([^)\s#]+)(#[^)\s]*)?\)")
RELATIVE_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?:|mailto:|#|/)([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


def workspace_packages() -> list[str]:
    """The workspace members that have a README, in the root pyproject's order."""
    members = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    return [m for m in members if (REPO / m / "README.md").is_file()]


def _outside_fences(text: str, rewrite) -> str:
    """Apply `rewrite` to the prose of a Markdown text, never inside fenced code blocks."""
    parts = re.split(r"(^```.*?^```[^\n]*$|^~~~.*?^~~~[^\n]*$)", text, flags=re.MULTILINE | re.DOTALL)
    return "".join(part if FENCE.match(part) else rewrite(part) for part in parts)


def _package_page(package: str) -> str:
    """A package README as a site page: its links into the package become code paths."""
    text = (REPO / package / "README.md").read_text(encoding="utf-8")

    def to_path(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(package, match.group(2)))
        return f"{match.group(1)} (`{target}`)"

    return _outside_fences(text, lambda prose: RELATIVE_LINK.sub(to_path, prose))


def on_files(files, config):
    for package in workspace_packages():
        files.append(File.generated(config, f"{PACKAGES_DIR}/{package}.md", content=_package_page(package)))
    return files


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 (mkdocs passes each by name)
    packages = set(workspace_packages())
    page_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match) -> str:
        text, target, anchor = match.group(1), match.group(2), match.group(3) or ""
        folder, _, name = target.partition("/")
        if name == "README.md" and folder in packages:
            page_uri = f"{PACKAGES_DIR}/{folder}.md"
            return f"[{text}]({posixpath.relpath(page_uri, page_dir or '.')}{anchor})"
        if not (REPO / target).exists():
            log.warning("%s links to /%s, which is not a file of the repository", page.file.src_uri, target)
        return f"{text} (`{target}`)"

    return _outside_fences(markdown, lambda prose: ROOT_LINK.sub(rewrite, prose))
