"""Helpers of the stack tests: docker-compose.yml as Compose reads it (YAML anchors merged, `${VAR}`
interpolated from .env.example plus test secrets), and the nginx gateway rendered the way the nginx
image's entrypoint renders it, for Debian's nginx on loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import yaml

from agrorisk_common.ports import free_port

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
GATEWAY_TEMPLATE = REPO / "deploy" / "nginx" / "templates" / "gateway.conf.template"
GATEWAY_HTML = REPO / "deploy" / "nginx" / "html"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$\$")


class MissingVariable(KeyError):
    """A `${VAR:?message}` whose variable is unset or empty: compose refuses to start."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = env.get(name)
        if op == ":?" and not value:
            raise MissingVariable(f"{name}: {arg}")
        if op == "?" and value is None:
            raise MissingVariable(f"{name}: {arg}")
        if op == ":-" and not value:
            return arg
        if op == "-" and value is None:
            return arg
        return value or ""

    return _VARIABLE.sub(substitute, text)


def env_example() -> dict[str, str]:
    """The assignments of .env.example (commented-out lines excluded)."""
    values = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def _strings(node: object) -> Iterator[str]:
    """Every string value (and mapping key) in the parsed file: what Compose interpolates."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _map_strings(node: object, change: Callable[[str], str]) -> object:
    if isinstance(node, str):
        return change(node)
    if isinstance(node, dict):
        return {key: _map_strings(value, change) for key, value in node.items()}
    if isinstance(node, list):
        return [_map_strings(item, change) for item in node]
    return node


def raw_compose() -> dict:
    """docker-compose.yml parsed (anchors and merge keys resolved), not yet interpolated."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _references() -> list[re.Match]:
    return [m for text in _strings(raw_compose()) for m in _VARIABLE.finditer(text) if m.group("name")]


def compose_variables() -> set[str]:
    """Every ${VAR} docker-compose.yml refers to."""
    return {m.group("name") for m in _references()}


def required_variables() -> set[str]:
    """The ${VAR:?} ones: secrets without defaults."""
    return {m.group("name") for m in _references() if m.group("op") in (":?", "?")}


def defaulted_variables() -> dict[str, str]:
    """The ${VAR:-default} ones, with their defaults."""
    return {m.group("name"): m.group("arg") for m in _references() if m.group("op") in (":-", "-")}


def filled_env() -> dict[str, str]:
    """.env.example with every required secret filled, as a user's .env would be."""
    env = env_example()
    for name in required_variables():
        env[name] = env.get(name) or f"test-{name.lower()}-0123456789"
    return env


def load_compose(env: Mapping[str, str] | None = None) -> dict:
    """docker-compose.yml as Compose sees it: parsed, then every string interpolated."""
    values = filled_env() if env is None else env
    return _map_strings(raw_compose(), lambda text: interpolate(text, values))


def render_gateway(values: Mapping[str, str]) -> str:
    """The template with ${VAR}s replaced, like the nginx image's envsubst step (only defined names)."""
    text = GATEWAY_TEMPLATE.read_text()
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def gateway_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", GATEWAY_TEMPLATE.read_text()))


def write_nginx_prefix(prefix: Path, values: Mapping[str, str]) -> Path:
    """A prefix folder with the rendered gateway inside a minimal main config (what the image's
    /etc/nginx/nginx.conf provides: pid, logs, temp paths, `include conf.d/*.conf` in http)."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "conf.d").mkdir(exist_ok=True)
    (prefix / "conf.d" / "gateway.conf").write_text(render_gateway(values))
    main = prefix / "nginx.conf"
    # As root, workers would switch to `nobody`, who cannot enter pytest's private temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log {prefix}/access.log;\n"
        f"  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n"
        "  include conf.d/*.conf;\n"
        "}\n"
    )
    return main


def nginx_test(prefix: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-e", "stderr", "-p", str(prefix), "-c", str(config)], capture_output=True, text=True
    )


def loopback_values(listen_port: int, upstreams: Mapping[str, str]) -> dict[str, str]:
    """Template values for a loopback gateway: every upstream not given points at a closed port."""
    closed = f"127.0.0.1:{free_port()}"
    values = {name: closed for name in gateway_variables() if name.startswith("AGRORISK_GATEWAY_")}
    values.update(
        NGINX_LOCAL_RESOLVERS="127.0.0.1",
        AGRORISK_GATEWAY_LISTEN=f"127.0.0.1:{listen_port}",
        AGRORISK_GATEWAY_HTML_ROOT=str(GATEWAY_HTML),
        AGRORISK_GATEWAY_MAX_BODY=load_compose()["services"]["nginx"]["environment"][
            "AGRORISK_GATEWAY_MAX_BODY"
        ],
    )
    values.update(upstreams)
    return values


def wait_for(url: str, timeout_s: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")
