"""Packages keep their roles: no service uses another service, no library uses a service, and no
product (library or service) uses the dev tools.

A package is *dev* when it is the dev-only member `devtools` (stand-ins, smoke models, the local stack
for tests and benchmarks): it may use anything, and nothing of the product may use it. Otherwise it is
a *service* when it runs as a long-lived process of the stack: its CLI has a `serve` or
`watch` command (an `@app.command()` function of that name, or `@app.command("serve")`), or its code
builds Dagster `Definitions` (a `dagster dev` code location). Every other workspace member is a
*library*. Uses are read from each member's `[project] dependencies` (runtime only: dev groups and
extras are for tests and tools) and from the `import` statements of its `src/` (by `ast`, so a
module name inside a string — a child process started by command line — is not an import).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEMBERS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
SERVICE_COMMANDS = {"serve", "watch"}
DEV = {"devtools"}


def project(folder: str) -> dict:
    return tomllib.loads((REPO / folder / "pyproject.toml").read_text())["project"]


def module_of(folder: str) -> str:
    (package,) = (REPO / folder / "src").glob("agrorisk_*/__init__.py")
    return package.parent.name


def sources(folder: str) -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted((REPO / folder / "src").rglob("*.py"))}


def is_service(trees: dict[Path, ast.Module]) -> bool:
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                        continue
                    if decorator.func.attr != "command":
                        continue
                    named = [a.value for a in decorator.args if isinstance(a, ast.Constant)]
                    if (named[0] if named else node.name) in SERVICE_COMMANDS:
                        return True
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == "Definitions":
                    return True
    return False


def imported_modules(trees: dict[Path, ast.Module]) -> dict[str, Path]:
    """Top-level module name -> the first file importing it."""
    found: dict[str, Path] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def declared(folder: str) -> set[str]:
    return {re.split(r"[ \[<>=~!;]", dep, maxsplit=1)[0] for dep in project(folder).get("dependencies", [])}


def role(folder: str, trees: dict[Path, ast.Module]) -> str:
    if folder in DEV:
        return "dev"
    return "service" if is_service(trees) else "library"


PACKAGES = {
    folder: {
        "dist": project(folder)["name"],
        "module": module_of(folder),
        "role": role(folder, trees := sources(folder)),
        "imports": imported_modules(trees),
        "declared": declared(folder),
    }
    for folder in MEMBERS
}


PRODUCTS = [folder for folder in MEMBERS if PACKAGES[folder]["role"] != "dev"]


def test_the_roles_are_the_ones_the_readme_describes():
    services = {folder for folder, p in PACKAGES.items() if p["role"] == "service"}
    assert services == {"triton-inference", "ray-inference", "backend", "gradio-web", "dagster-pipeline"}
    assert {folder for folder, p in PACKAGES.items() if p["role"] == "dev"} == DEV


# What no product may use, by role: how the message names it, and what to do instead of depending
# on it and instead of importing it.
FORBIDDEN = {
    "service": (
        "the service",
        "use agrorisk-serving's clients or HTTP",
        "move the shared code into a library",
    ),
    "dev": (
        "the dev-only",
        "products ship none of it",
        "keep what the product needs at run time in the product",
    ),
}


@pytest.mark.parametrize("forbidden", FORBIDDEN)
@pytest.mark.parametrize("folder", PRODUCTS)
def test_no_product_uses_another_service_or_the_dev_tools(folder, forbidden):
    package = PACKAGES[folder]
    role = package["role"]
    what, instead_of_depending, instead_of_importing = FORBIDDEN[forbidden]
    for other_folder, other in PACKAGES.items():
        if other_folder == folder or other["role"] != forbidden:
            continue
        assert other["dist"] not in package["declared"], (
            f"{folder} ({role}) depends on {what} {other['dist']}: {instead_of_depending}"
        )
        path = package["imports"].get(other["module"])
        assert path is None, (
            f"{path.relative_to(REPO)} ({role} {folder}) imports {what} {other['module']}: {instead_of_importing}"
        )


@pytest.mark.parametrize("folder", MEMBERS)
def test_every_workspace_import_is_declared(folder):
    package = PACKAGES[folder]
    for other_folder, other in PACKAGES.items():
        if other_folder != folder and other["module"] in package["imports"]:
            assert other["dist"] in package["declared"], f"{folder} imports {other['module']} undeclared"
