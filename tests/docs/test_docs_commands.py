"""The Ukrainian docs (docs/uk) cannot drift from the code: every command and setting they show is real.

Convention for shell blocks in docs/uk/**/*.md:
- `<!-- runnable -->` on the line right before a fenced ```bash block: every line is a real command.
  Each program must exist (`.venv/bin/<cli>`, a `make` target of the Makefile, or a standard tool
  from STANDARD_TOOLS); for click/typer programs every sub-command must be listed by `--help` and
  every option used (`--name`, `-n`) must be accepted by that sub-command's `--help`.
- `<!-- runnable: run -->`: the same checks, and the block is also executed (cheap, read-only commands).
- A ```bash block that calls an `agrorisk-*` CLI or `make` must carry one of the two markers.
- Inline code in the prose that starts with `agrorisk-` or `make ` is checked the same way.
- `AGRORISK_*` variables named in the docs are read by the code, and each block page names every
  variable of its package's settings.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "uk"
BIN = REPO / ".venv" / "bin"
MARKER = re.compile(r"<!--\s*runnable(?::\s*(run))?\s*-->\s*$")
FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})\s*([\w-]*)")
SHELL_LANGS = {"bash", "sh", "shell", "console"}
STANDARD_TOOLS = {
    "apt-get", "cat", "cd", "chmod", "cp", "curl", "date", "docker", "echo", "export", "git", "grep",
    "gunzip", "gzip", "kill", "ls", "lsof", "mkdir", "mv", "nvidia-smi", "python3", "rm", "sed", "source",
    "ss", "sudo", "tail", "tar", "unset", "uv",
}  # fmt: skip
OTHER_VENVS = (REPO / ".venv-labelstudio" / "bin",)
HELP_ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "YOLO_OFFLINE": "1"}
SETTINGS_PAGES = {
    "crawler": "crawler",
    "dataset-labeling": "dataset-labeling",
    "gemini-integration": "gemini-integration",
    "yolov11-train": "yolov11-train",
    "minio-storage": "minio-storage",
    "triton-inference": "serving",
    "ray-inference": "serving",
    "backend": "backend",
    "gradio-web": "gradio-web",
    "dagster-pipeline": "dagster-pipeline",
}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    text: str
    execute: bool


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def parse_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """(runnable blocks, problems) of one Markdown page: unmarked shell blocks that call our CLIs are problems."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, problems, i = [], [], 0
    rel = str(path.relative_to(REPO))
    while i < len(lines):
        opened = FENCE_OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, lang, start = opened.group(1), opened.group(2), i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        text = "\n".join(body)
        marker = MARKER.match(lines[start - 1].strip()) if start else None
        if marker and lang in SHELL_LANGS:
            blocks.append(Block(rel, start + 1, text, execute=marker.group(1) == "run"))
        elif marker:
            problems.append(f"{rel}:{start + 1}: runnable marker on a ```{lang} block (use bash)")
        elif lang in SHELL_LANGS and re.search(r"(^|\s)(agrorisk-[a-z]+|make)\s", text + "\n"):
            problems.append(f"{rel}:{start + 1}: shell block calls a CLI but has no <!-- runnable --> marker")
    return blocks, problems


def shell_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell snippet, each as tokens: leading VAR=value and redirections dropped,
    and each `$(...)` checked as a command of its own."""
    inner = re.findall(r"\$\(([^()]*)\)", text)
    text = re.sub(r"\$\(([^()]*)\)", "SUBSTITUTED", text.replace("\\\n", " "))
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current, redirect = [], [], False
    for token in lexer:
        if redirect:
            redirect = False  # the file a redirection names
        elif token in {">", ">>", "<", "2>", "&>"} or re.fullmatch(r"\d?>>?&?\d?", token):
            redirect = not token.endswith("&")
        elif set(token) <= set(";&|()"):
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    result = [c for snippet in inner for c in shell_commands(snippet)]
    for tokens in commands:
        while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
            tokens = tokens[1:]
        if tokens:
            result.append(tokens)
    return result


def split_lines(text: str) -> list[str]:
    """Logical lines of a snippet: backslash continuations joined, blank lines dropped."""
    return [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]


TREE_DUMP = """
import json, sys
from importlib.metadata import entry_points
import typer

def tree(cmd):  # duck-typed: typer vendors its own copy of click
    options = {
        o for p in cmd.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)
    }
    node = {"options": sorted(options | {"--help"}), "commands": {}}
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        node["commands"][name] = tree(sub)
    return node

out = {}
for name in sys.argv[1:]:
    found = entry_points(group="console_scripts", name=name)
    try:
        obj = next(iter(found)).load() if found else None
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    if isinstance(obj, typer.Typer):
        obj = typer.main.get_command(obj)
    out[name] = tree(obj) if hasattr(obj, "params") and hasattr(obj, "main") else None
print("TREE " + json.dumps(out))
"""


@functools.cache
def command_trees(programs: tuple[str, ...]) -> dict:
    """Sub-commands and options of click/typer console scripts, read in one subprocess (None: not click)."""
    run = subprocess.run(
        [str(BIN / "python"), "-c", TREE_DUMP, *programs], capture_output=True, text=True, env=HELP_ENV,
        timeout=300, cwd=REPO,
    )  # fmt: skip
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("TREE ")), None)
    assert line, f"could not read the CLIs' command trees:\n{run.stderr[-3000:]}"
    return json.loads(line.removeprefix("TREE "))


def venv_programs_in_docs() -> tuple[str, ...]:
    """Our CLIs and every other .venv/bin program a runnable block calls (one subprocess reads them all)."""
    names = {p.name for p in BIN.iterdir() if p.name.startswith("agrorisk-")}
    for page in doc_pages():
        for block in parse_blocks(page)[0]:
            for line in split_lines(block.text):
                names |= {t[0] for t in shell_commands(line) if (BIN / t[0]).is_file()}
    return tuple(sorted(names))


@functools.cache
def help_text(program: str, path: tuple[str, ...]) -> tuple[int, str]:
    run = subprocess.run(
        [program, *path, "--help"], capture_output=True, text=True, env=HELP_ENV, timeout=120, cwd=REPO
    )
    return run.returncode, run.stdout + run.stderr


def listed_commands(help_output: str) -> set[str]:
    """Sub-command names from a typer (rich panel) or click (plain) help screen."""
    names, inside = set(), False
    for line in help_output.splitlines():
        if re.match(r"^\s*[╭+]?[─-]*\s*Commands\b|^Commands:", line.strip()):
            inside = True
            continue
        if inside:
            if re.match(r"^\s*[╰╭]", line) or (not line.strip() and names):
                inside = False
                continue
            found = re.match(r"^\s*[│|]?\s{1,4}([a-z][\w-]*)(\s{2,}|\s*│?\s*$)", line)
            if found:
                names.add(found.group(1))
    return names


@functools.cache
def make_targets() -> frozenset[str]:
    text = (REPO / "Makefile").read_text()
    return frozenset(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


def resolve_program(name: str) -> str | None:
    for folder in (BIN, *OTHER_VENVS):
        if (folder / name).is_file():
            return str(folder / name)
    return None


def check_command(tokens: list[str]) -> list[str]:
    """What is wrong with one simple command (empty when it is real)."""
    program, args = tokens[0], tokens[1:]
    if "--" in args and args[-1] != "--" and args[args.index("--") + 1].startswith("agrorisk-"):
        cut = args.index("--")  # `agrorisk-dev with-smoke-model -- agrorisk-…`: a command of its own
        return check_command([program, *args[:cut]]) + check_command(args[cut + 1 :])
    if program.startswith(".venv/bin/"):
        program = program.removeprefix(".venv/bin/")
    if program == "make":
        unknown = [t for t in args if not t.startswith("-") and "=" not in t and t not in make_targets()]
        return [f"make target {t!r} is not in the Makefile" for t in unknown]
    resolved = resolve_program(program)
    if resolved is None:
        if program in STANDARD_TOOLS:
            return []
        return [f"program {program!r} is neither in .venv/bin nor a standard tool"]
    tree = command_trees(venv_programs_in_docs()).get(program) if resolved.startswith(str(BIN)) else None
    if tree is None:
        return _check_by_help_screen(program, resolved, args)
    if "error" in tree:
        return [f"{program} does not load: {tree['error']}"]
    path: list[str] = []
    rest = list(args)
    while rest and not rest[0].startswith("-") and tree["commands"]:
        if rest[0] not in tree["commands"]:
            return [
                f"`{program} {' '.join(path)}` has no sub-command {rest[0]!r} (has: {sorted(tree['commands'])})"
            ]
        path.append(rest.pop(0))
        tree = tree["commands"][path[-1]]
    if tree["commands"] and not rest:
        return []  # a group shown on its own: `prog group` prints its help
    return [
        f"`{program} {' '.join(path)}` does not accept {option}"
        for option in _options(rest)
        if option not in tree["options"]
    ]


def _options(tokens: list[str]) -> list[str]:
    found = [t.split("=", 1)[0] for t in tokens]
    return [o for o in found if re.fullmatch(r"--?[A-Za-z][\w-]*", o)]


def _check_by_help_screen(program: str, resolved: str, args: list[str]) -> list[str]:
    """For programs that are not click/typer: sub-commands and options must appear on the help screens."""
    path: list[str] = []
    rest = list(args)
    while rest and not rest[0].startswith("-"):
        code, output = help_text(resolved, tuple(path))
        if code != 0:
            return [f"`{program} {' '.join(path)} --help` exits {code}"]
        commands = listed_commands(output)
        if rest[0] not in commands:
            if not commands:
                break  # a positional argument of a leaf command
            return [f"`{program} {' '.join(path)}` has no sub-command {rest[0]!r} (has: {sorted(commands)})"]
        path.append(rest.pop(0))
    code, output = help_text(resolved, tuple(path))
    if code != 0:
        return [f"`{program} {' '.join(path)} --help` exits {code}"]
    return [
        f"`{program} {' '.join(path)}` does not accept {option}"
        for option in _options(rest)
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", output)
    ]


def problems_in(text: str) -> list[str]:
    problems = []
    for line in split_lines(text):
        for tokens in shell_commands(line):
            problems += [f"{line.strip()!r}: {p}" for p in check_command(tokens)]
    return problems


ALL_BLOCKS = [block for page in doc_pages() for block in parse_blocks(page)[0]]


def test_the_docs_have_runnable_blocks_on_every_main_page():
    pages_with_blocks = {Path(b.page).name for b in ALL_BLOCKS}
    for name in ("README.md", "workflow.md", "common.md", "minio-storage.md", "gemini-integration.md"):
        assert name in pages_with_blocks, f"{name} shows no runnable commands"


def test_every_shell_block_that_calls_a_cli_is_marked():
    problems = [p for page in doc_pages() for p in parse_blocks(page)[1]]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: f"{b.page}:{b.line}")
def test_runnable_block_uses_only_real_commands_and_options(block):
    problems = problems_in(block.text)
    assert not problems, f"{block.page}:{block.line}\n" + "\n".join(problems)


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.execute], ids=lambda b: f"{b.page}:{b.line}")
def test_cheap_blocks_run(block):
    env = {**HELP_ENV, "PATH": f"{BIN}:{os.environ['PATH']}"}
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, f"{block.page}:{block.line} failed:\n{run.stdout}\n{run.stderr}"


def test_inline_commands_in_the_prose_are_real():
    problems = []
    for page in doc_pages():
        text = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
        for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text):
            if re.match(r"^(\.venv/bin/)?agrorisk-[a-z]+ [a-z]|^make [a-z-]+( [A-Z_]+=\S+)*$", span):
                problems += [f"{page.relative_to(REPO)}: {p}" for p in problems_in(span)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_an_unknown_option_sub_command_program_and_target():
    assert problems_in("agrorisk-catalog show wheat-leaf-rust --path crawler/risks") == []
    assert any("does not accept --no-such" in p for p in problems_in("agrorisk-catalog stats --no-such"))
    assert any("no sub-command 'destroy'" in p for p in problems_in("agrorisk-catalog destroy"))
    assert any("neither in .venv/bin" in p for p in problems_in("agrorisk-nothing run"))
    assert any("not in the Makefile" in p for p in problems_in("make deploy-to-mars"))
    assert problems_in("X=1 agrorisk-catalog validate && cp a b  # comment --bad") == []


def _settings_env_vars() -> dict[str, set[str]]:
    """Package folder -> the env variables its Settings classes read (prefix + field, or the aliases)."""
    found: dict[str, set[str]] = {}
    for folder in SETTINGS_PAGES:
        module_name = f"agrorisk_{folder.split('-')[0]}".replace("agrorisk_minio", "agrorisk_storage")
        module_name = {
            "agrorisk_dataset": "agrorisk_labeling",
            "agrorisk_yolov11": "agrorisk_train",
            "agrorisk_gradio": "agrorisk_web",
            "agrorisk_dagster": "agrorisk_pipeline",
        }.get(module_name, module_name)
        try:
            module = importlib.import_module(f"{module_name}.settings")
        except ModuleNotFoundError:
            continue  # the package has no settings module yet
        names = set()
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseSettings) or cls.__module__ != module.__name__:
                continue
            prefix = cls.model_config.get("env_prefix", "")
            for name, field in cls.model_fields.items():
                alias = field.validation_alias
                if isinstance(alias, AliasChoices):
                    names.add(next(c for c in alias.choices if isinstance(c, str)).upper())
                elif isinstance(alias, str):
                    names.add(alias.upper())
                else:
                    names.add(f"{prefix}{name}".upper())
        found[folder] = names
    return found


def _env_names_in_code() -> tuple[set[str], list[re.Pattern]]:
    """AGRORISK_* names the code, scripts and deploy files spell out, and f-string templates of names
    (`AGRORISK_RUN_{name.upper()}_PORT`) as patterns."""
    names, patterns = set(), []
    sources = [*REPO.glob("*/src/**/*.py"), *REPO.glob("scripts/*.py"), *REPO.glob("deploy/**/*")]
    for path in [*sources, REPO / "docker-compose.yml"]:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            names |= set(re.findall(r"\b(AGRORISK_[A-Z0-9_]*[A-Z0-9_])\b", text))
            for head, tail in re.findall(r"\b(AGRORISK_[A-Z0-9_]*)\{[^}]*\}([A-Z0-9_]*)", text):
                patterns.append(re.compile(rf"{head}[A-Z0-9_]+{tail}"))
    return names, patterns


def test_every_setting_the_docs_name_is_read_by_the_code():
    literals, templates = _env_names_in_code()
    known = set().union(*_settings_env_vars().values()) | literals
    problems = []
    for page in doc_pages():
        for match in re.finditer(r"AGRORISK_[A-Z0-9_]+(\*)?", page.read_text(encoding="utf-8")):
            name = match.group(0).rstrip("*")
            prefix = name.endswith("_") or match.group(1)
            real = any(k.startswith(name) for k in known) if prefix else name in known
            nested = any(name.startswith(k + "__") for k in known)
            templated = any(t.fullmatch(name) for t in templates)
            if not (real or nested or templated):
                problems.append(f"{page.relative_to(REPO)}: {name} is read by no code")
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("folder", sorted(SETTINGS_PAGES))
def test_each_block_page_lists_its_package_settings(folder):
    names = _settings_env_vars().get(folder)
    if not names:
        pytest.skip(f"{folder} has no settings module yet")
    page = DOCS / "blocks" / f"{SETTINGS_PAGES[folder]}.md"
    text = page.read_text(encoding="utf-8")
    missing = sorted(n for n in names if n not in text)
    assert not missing, f"{page.relative_to(REPO)} does not mention {missing}"
