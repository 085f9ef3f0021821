"""`make run`: the AgroRisk services as local processes, for machines without Docker.

    python scripts/run_local.py start [--detach]   # every service (below); prints the URLs
    python scripts/run_local.py status             # which are running and healthy
    python scripts/run_local.py stop               # what `make down` does when there is no Docker
    python scripts/run_local.py restart backend    # one service again (`make restart SERVICE=backend`)

Embedded defaults: the local registry folder (.agrorisk/registry), W&B offline, SQLite for Dagster,
a local Ray instance, Label Studio (its own venv, when installed), optuna-dashboard, Prometheus and its
Pushgateway (Debian's packages, when installed; Prometheus scrapes every service and loads
deploy/prometheus/alerts.yml; Dagster pushes drift to the Pushgateway), PyTriton when
asked for (AGRORISK_RUN_SERVICES=...,triton). The backend's admin key and Label Studio's password are
generated once into .agrorisk/ (mode 0600) unless set. Each service runs in
its own process group; pids go to .agrorisk/run/<service>.pid and output to .agrorisk/run/logs/.
Ports and the service list come from AGRORISK_RUN_* variables (see `--help`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SERVICES = ("ray", "backend", "web", "dagster", "labelstudio", "optuna", "pushgateway", "prometheus")
KNOWN_SERVICES = (
    "ray", "triton", "backend", "web", "dagster", "labelstudio", "optuna", "pushgateway", "prometheus",
)  # fmt: skip
DEFAULT_PORTS = {
    "ray": 8000,
    "triton": 8100,
    "backend": 8080,
    "web": 7860,
    "dagster": 3000,
    "labelstudio": 8089,
    "optuna": 8084,
    "pushgateway": 9091,
    "prometheus": 9090,
}
# Debian's packages (make test-deps installs them)
PROMETHEUS = Path("/usr/bin/prometheus")
PUSHGATEWAY = Path("/usr/bin/prometheus-pushgateway")
ALERT_RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
LABEL_STUDIO_USER = "admin@agrorisk.local"
RUN_MARKER = "AGRORISK_RUN_ID"
ADMIN_KEY_ENV = "AGRORISK_BACKEND_ADMIN_API_KEY"
ADMIN_KEY_FILE = "admin-key"  # in the data folder (.agrorisk/), mode 0600
LABEL_STUDIO_PASSWORD_FILE = "label-studio-password"
SERVICE_MARKER = "AGRORISK_RUN_SERVICE"
STOPPING = "stopping"  # a file in the run folder while `stop` runs
RESTARTING = "restarting-{}"  # a file in the run folder while `restart` works on one service


class RunError(RuntimeError):
    """A readable reason why the local stack cannot start or stop; printed as one line."""


class ServiceExited(RunError):
    """The service's process ended before it answered its health URL."""


@dataclass(frozen=True)
class RunConfig:
    """Where the local stack runs, from AGRORISK_RUN_* variables."""

    host: str
    ports: dict[str, int]
    services: tuple[str, ...]
    run_dir: Path
    startup_timeout_s: float
    stop_timeout_s: float
    ray_metrics_port: int
    ray_dashboard_port: int = 8265
    start_attempts: int = 3
    max_restarts: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RunConfig:
        def number(name: str, default: float, kind: Callable = int):
            raw = env.get(name, "")
            try:
                return kind(raw) if raw.strip() else default
            except ValueError:
                raise RunError(f"{name} must be a number, got {raw!r}") from None

        services = tuple(
            s.strip() for s in env.get("AGRORISK_RUN_SERVICES", ",".join(DEFAULT_SERVICES)).split(",")
        )
        services = tuple(s for s in services if s)
        unknown = sorted(set(services) - set(KNOWN_SERVICES))
        if unknown:
            raise RunError(
                f"AGRORISK_RUN_SERVICES: unknown {', '.join(unknown)} (known: {', '.join(KNOWN_SERVICES)})"
            )
        ports = {
            name: number(f"AGRORISK_RUN_{name.upper()}_PORT", port) for name, port in DEFAULT_PORTS.items()
        }
        for name, port in ports.items():
            if not 0 < port < 65536:
                raise RunError(f"AGRORISK_RUN_{name.upper()}_PORT must be 1..65535, got {port}")
        run_dir = Path(env.get("AGRORISK_RUN_DIR", "") or REPO / ".agrorisk" / "run")
        return cls(
            host=env.get("AGRORISK_RUN_HOST", "127.0.0.1"),
            ports=ports,
            services=tuple(s for s in KNOWN_SERVICES if s in services),
            run_dir=run_dir if run_dir.is_absolute() else REPO / run_dir,
            startup_timeout_s=number("AGRORISK_RUN_STARTUP_TIMEOUT_S", 240.0, float),
            stop_timeout_s=number("AGRORISK_RUN_STOP_TIMEOUT_S", 30.0, float),
            ray_metrics_port=number("AGRORISK_RUN_RAY_METRICS_PORT", 9101),
            ray_dashboard_port=number("AGRORISK_RUN_RAY_DASHBOARD_PORT", 8265),
            start_attempts=max(1, number("AGRORISK_RUN_START_ATTEMPTS", 3)),
            max_restarts=max(0, number("AGRORISK_RUN_MAX_RESTARTS", 5)),
        )

    def url(self, service: str, path: str = "/") -> str:
        return f"http://{self.host}:{self.ports[service]}{path}"


@dataclass(frozen=True)
class Service:
    """One local process: how to start it, where it answers when healthy, what to show the user."""

    name: str
    command: list[str]
    health_url: str
    urls: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)

    def pid_file(self, run_dir: Path) -> Path:
        return run_dir / f"{self.name}.pid"

    def log_file(self, run_dir: Path) -> Path:
        return run_dir / "logs" / f"{self.name}.log"


def _tool(name: str) -> str:
    """A console script of the workspace venv (the interpreter running this script)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise RunError(f"{name} is not installed in {path.parent}: run `make install`")
    return str(path)


def _served(
    config: RunConfig,
    name: str,
    health_path: str,
    urls: dict[str, str],
    env: dict[str, str],
    port_variable: str = "PORT",
) -> Service:
    """`agrorisk-<name> serve` bound to the run's host and the service's port
    (AGRORISK_<NAME>_HOST and AGRORISK_<NAME>_<port_variable>), with the rest of its `env`."""
    prefix = f"AGRORISK_{name.upper()}_"
    bind = {f"{prefix}HOST": config.host, f"{prefix}{port_variable}": str(config.ports[name])}
    command = [_tool(f"agrorisk-{name}"), "serve"]
    return Service(name, command, config.url(name, health_path), urls, bind | env)


def build_services(config: RunConfig) -> list[Service]:
    """The services to start, in start order, wired to each other on loopback."""
    host = config.host
    links = {"gradio": config.url("web"), "swagger": config.url("backend", "/docs")}
    if "dagster" in config.services:
        links["dagster"] = config.url("dagster")
    if "labelstudio" in config.services:
        links["label_studio"] = config.url("labelstudio")
    if "optuna" in config.services:
        links["optuna_dashboard"] = config.url("optuna", "/dashboard/")
    if "prometheus" in config.services:
        links["prometheus"] = config.url("prometheus")
    if "ray" in config.services:
        links["ray_dashboard"] = f"http://{host}:{config.ray_dashboard_port}/"
    data = config.run_dir.parent
    if "triton" in config.services:
        links["triton_metrics"] = f"http://{host}:{config.ports['triton'] + 2}/metrics"
    catalog = {
        "ray": _served(
            config,
            "ray",
            "/-/healthz",
            {"Ray Serve (POST /predict)": config.url("ray"), "Ray dashboard": links.get("ray_dashboard", "")},
            {
                "AGRORISK_RAY_METRICS_PORT": str(config.ray_metrics_port),
                "AGRORISK_RAY_DASHBOARD_PORT": str(config.ray_dashboard_port),
                "AGRORISK_RAY_NUM_REPLICAS": os.environ.get("AGRORISK_RAY_NUM_REPLICAS", "1"),
                "RAY_AUTH_MODE": "disabled",
            },
        ),
        "triton": _served(
            config,
            "triton",
            "/v2/health/live",
            {"Triton (PyTriton)": config.url("triton"), "Triton metrics": links.get("triton_metrics", "")},
            {
                "AGRORISK_TRITON_GRPC_PORT": str(config.ports["triton"] + 1),
                "AGRORISK_TRITON_METRICS_PORT": str(config.ports["triton"] + 2),
                # PyTriton's Python-backend stub needs libpython, or bind() hangs.
                "LD_LIBRARY_PATH": ":".join(
                    p for p in (sysconfig.get_config_var("LIBDIR"), os.environ.get("LD_LIBRARY_PATH")) if p
                ),
            },
            port_variable="HTTP_PORT",
        ),
        "backend": _served(
            config,
            "backend",
            "/healthz",
            {"Backend API": config.url("backend", "/v1/"), "Swagger": config.url("backend", "/docs")},
            {
                "AGRORISK_BACKEND_RAY_URL": config.url("ray").rstrip("/"),
                "AGRORISK_BACKEND_TRITON_URL": config.url("triton").rstrip("/"),
                "AGRORISK_BACKEND_LINKS": json.dumps(links),
                ADMIN_KEY_ENV: os.environ.get(ADMIN_KEY_ENV) or stored_secret(data / ADMIN_KEY_FILE),
            },
        ),
        "web": _served(
            config,
            "web",
            "/healthz",
            {"Gradio": config.url("web")},
            {"AGRORISK_WEB_BACKEND_URL": config.url("backend").rstrip("/")},
        ),
        "dagster": Service(
            "dagster",
            [
                _tool("dagster"),
                "dev",
                "-m",
                "agrorisk_pipeline.definitions",
                "-h",
                host,
                "-p",
                str(config.ports["dagster"]),
            ],
            config.url("dagster", "/server_info"),
            {"Dagster": config.url("dagster")},
            {"DAGSTER_HOME": str(data / "dagster")}
            | (
                {"AGRORISK_PIPELINE_PUSHGATEWAY_URL": config.url("pushgateway")}
                if "pushgateway" in config.services
                else {}
            ),
        ),
        "pushgateway": Service(
            "pushgateway",
            [str(PUSHGATEWAY), f"--web.listen-address={host}:{config.ports['pushgateway']}"],
            config.url("pushgateway", "/-/ready"),
            {"Pushgateway (drift from Dagster)": config.url("pushgateway")},
        ),
        "labelstudio": Service(
            "labelstudio",
            [
                str(label_studio_bin()),
                "start",
                "--no-browser",
                "--host",
                host,
                "--port",
                str(config.ports["labelstudio"]),
                "--data-dir",
                str(data / "label-studio"),
            ],  # fmt: skip
            config.url("labelstudio", "/health"),
            {"Label Studio": config.url("labelstudio")},
            {
                "LABEL_STUDIO_USERNAME": LABEL_STUDIO_USER,
                "LABEL_STUDIO_PASSWORD": stored_secret(data / LABEL_STUDIO_PASSWORD_FILE),
                "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
                "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(REPO),
                "COLLECT_ANALYTICS": "false",
            },
        ),
        "optuna": Service(
            "optuna",
            [
                _tool("optuna-dashboard"),
                optuna_storage(),
                "--host",
                host,
                "--port",
                str(config.ports["optuna"]),
            ],
            config.url("optuna", "/dashboard/"),
            {"Optuna dashboard": config.url("optuna", "/dashboard/")},
        ),
        "prometheus": Service(
            "prometheus",
            [
                str(PROMETHEUS),
                f"--config.file={config.run_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={data / 'prometheus'}",
                f"--web.listen-address={host}:{config.ports['prometheus']}",
            ],
            config.url("prometheus", "/-/ready"),
            {"Prometheus": config.url("prometheus")},
        ),
    }
    return [catalog[name] for name in config.services]


def stored_secret(path: Path) -> str:
    """A random secret kept in a file only its owner can read (mode 0600): read, or created once."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(24)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(value + "\n")
        return value


def label_studio_bin() -> Path:
    """The Label Studio server of its own venv (dataset-labeling/scripts/install-label-studio.sh)."""
    return Path(os.environ.get("LABEL_STUDIO_VENV") or REPO / ".venv-labelstudio") / "bin" / "label-studio"


def optuna_storage() -> str:
    """The study storage `agrorisk-train tune` writes to (AGRORISK_TRAIN_OPTUNA_STORAGE); a relative
    SQLite file is under the repository, like the CLI run from it."""
    url = os.environ.get("AGRORISK_TRAIN_OPTUNA_STORAGE") or "sqlite:///runs/optuna.db"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{REPO / url.removeprefix('sqlite:///')}"
    return url


def _create_optuna_storage(url: str) -> None:
    """optuna-dashboard fails on an SQLite file without Optuna's tables: create them first."""
    if url.startswith("sqlite:///"):
        import optuna

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            optuna.storages.RDBStorage(url)
        except Exception as exc:  # noqa: BLE001 - any storage failure is one readable line
            raise RunError(f"AGRORISK_TRAIN_OPTUNA_STORAGE={url}: {exc}") from None


def prometheus_config(config: RunConfig) -> str:
    """Prometheus' scrape targets in this run (backend, Ray's metrics and HAProxy's, Triton, the
    Pushgateway Dagster pushes drift to) and the alert rules of the compose stack, as YAML."""
    import yaml

    host = config.host
    targets = {}
    if "backend" in config.services:
        targets["backend"] = f"{host}:{config.ports['backend']}"
    if "ray" in config.services:
        targets["ray"] = f"{host}:{config.ray_metrics_port}"
        haproxy = ray_ingress_ports().get("AGRORISK_RAY_HAPROXY_METRICS_PORT")
        if haproxy:
            targets["ray-haproxy"] = f"{host}:{haproxy}"
    if "triton" in config.services:
        targets["triton"] = f"{host}:{config.ports['triton'] + 2}"
    if "pushgateway" in config.services:
        targets["pushgateway"] = f"{host}:{config.ports['pushgateway']}"
    return yaml.safe_dump({
        "global": {"scrape_interval": "5s", "evaluation_interval": "15s"},
        "rule_files": [str(ALERT_RULES)],
        "scrape_configs": [
            {"job_name": job, "honor_labels": True, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    })  # fmt: skip


def base_env(run_id: str) -> dict[str, str]:
    """The environment every service gets: offline-friendly defaults, overridable by the caller's env."""
    env = dict(os.environ)
    env.setdefault("WANDB_MODE", "offline")
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    env.setdefault("YOLO_OFFLINE", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env[RUN_MARKER] = run_id
    return env


def production_model() -> str | None:
    """The version the registry's `production` alias points at, or None (no model to serve yet)."""
    from agrorisk_storage import ModelRegistry, RegistryError, StorageSettings

    try:
        return ModelRegistry.from_settings(StorageSettings()).aliases().get("production")
    except RegistryError as exc:
        raise RunError(f"cannot read the model registry: {exc}") from None


def _reset_sigint() -> None:
    # A process started from a non-interactive shell inherits SIGINT ignored; dagster then never stops.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ray_ingress_ports() -> dict[str, int]:
    """The ports Ray Serve's HAProxy ingress binds besides its HTTP port, by setting (AGRORISK_RAY_*)."""
    from agrorisk_ray.settings import Settings

    settings = Settings()
    if settings.ingress != "haproxy":
        return {}
    return {
        "AGRORISK_RAY_HAPROXY_STATS_PORT": settings.haproxy_stats_port,
        "AGRORISK_RAY_HAPROXY_METRICS_PORT": settings.haproxy_metrics_port,
        "AGRORISK_RAY_FALLBACK_PROXY_PORT": settings.fallback_proxy_port,
    }


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    stat = _process_stat(pid)
    return stat is not None and stat[0] != "Z"


def _process_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a process from /proc, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[2])


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _process_stat(int(entry.name))
            if stat and stat[1] == pgid and stat[0] != "Z":
                members.append(int(entry.name))
    return members


def _reap_children() -> None:
    """Collect exited children of this process, so they do not linger as zombies."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _marked_pids(run_id: str | None, service: str | None = None) -> list[int]:
    """Processes carrying this run's marker in their environment (all runs' when run_id is None),
    only those of one service when it is given."""
    found = []
    needle = f"{RUN_MARKER}={run_id}".encode() if run_id else f"{RUN_MARKER}=".encode()
    own = f"{SERVICE_MARKER}={service}".encode() if service else None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            items = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(needle) for item in items) and (own is None or own in items):
            found.append(int(entry.name))
    return found


def read_pid_file(path: Path) -> tuple[int, str] | None:
    """(pid, run id) from a pid file, or None when it is missing or unreadable."""
    try:
        lines = path.read_text().split()
        return int(lines[0]), lines[1] if len(lines) > 1 else ""
    except (OSError, ValueError, IndexError):
        return None


def running(config: RunConfig) -> dict[str, int]:
    """Service name -> pid, for the pid files whose process is alive."""
    found = {}
    for name in KNOWN_SERVICES:
        entry = read_pid_file(config.run_dir / f"{name}.pid")
        if entry and _alive(entry[0]):
            found[name] = entry[0]
    return found


def healthy(url: str, timeout: float = 3.0) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(config: RunConfig, say: Callable[[str], None] = print) -> list[Service]:
    """Start every configured service, wait until each answers its health URL; returns them."""
    if running(config):
        raise RunError(f"already running: {', '.join(running(config))} (stop with `make down`)")
    services = config.services
    if "ray" in services and production_model() is None:
        say(
            "!! No production model in the model registry, so Ray Serve has nothing to serve and is not "
            "started.\n!! Run `make demo` to train, register and promote one (then `make run` again); "
            "Gemini still works in the meantime."
        )
        services = tuple(s for s in services if s != "ray")
    for name, binary in (("prometheus", PROMETHEUS), ("pushgateway", PUSHGATEWAY)):
        if name in services and not binary.exists():
            say(f"!! {binary.name} is not installed ({binary}): `make test-deps` installs it; not started.")
            services = tuple(s for s in services if s != name)
    if "labelstudio" in services and not label_studio_bin().exists():
        say(
            f"!! Label Studio is not installed ({label_studio_bin()}): `make test-deps` installs it; not started."
        )
        services = tuple(s for s in services if s != "labelstudio")
    config = RunConfig(**{**config.__dict__, "services": services})
    plan = build_services(config)
    busy = [
        f"{s.name} port {config.ports[s.name]} (set AGRORISK_RUN_{s.name.upper()}_PORT to move it)"
        for s in plan
        if not _port_free(config.host, config.ports[s.name])
    ]
    if "ray" in config.services:
        busy += [
            f"Ray's HAProxy port {port} (set {variable} to move it)"
            for variable, port in ray_ingress_ports().items()
            if not _port_free("", port)
        ]
        if not _port_free(config.host, config.ray_dashboard_port):
            busy.append(
                f"Ray dashboard port {config.ray_dashboard_port} (set AGRORISK_RUN_RAY_DASHBOARD_PORT to move it)"
            )
    if busy:
        raise RunError(f"in use: {'; '.join(busy)}")
    (config.run_dir / "logs").mkdir(parents=True, exist_ok=True)
    if "optuna" in config.services:
        _create_optuna_storage(optuna_storage())
    if "prometheus" in config.services:
        (config.run_dir / "prometheus.yml").write_text(prometheus_config(config))
    for service in plan:
        for name, value in service.env.items():
            if name == "DAGSTER_HOME":
                Path(value).mkdir(parents=True, exist_ok=True)
    env = base_env(uuid.uuid4().hex)
    for service in plan:
        _launch(service, config, env, say)
    try:
        for service in plan:
            _start_until_healthy(service, config, env, say)
            say(f"healthy {service.name}: {service.health_url}")
    except RunError:
        stop(config, say=lambda _: None)
        raise
    return plan


def _launch(service: Service, config: RunConfig, env: dict[str, str], say: Callable[[str], None]) -> int:
    """Start one service in its own process group, record its pid file; returns the pid."""
    with service.log_file(config.run_dir).open("ab") as log:
        process = subprocess.Popen(
            service.command,
            cwd=REPO,
            env={**env, **service.env, SERVICE_MARKER: service.name},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_reset_sigint,
        )
    service.pid_file(config.run_dir).write_text(f"{process.pid}\n{env[RUN_MARKER]}\n")
    say(f"started {service.name} (pid {process.pid}), log: {service.log_file(config.run_dir)}")
    return process.pid


def _end_service(service: Service, config: RunConfig, env: dict[str, str]) -> None:
    """Stop what is left of one service's attempt: its process group and its marked strays."""
    entry = read_pid_file(service.pid_file(config.run_dir))
    if entry and _alive(entry[0]):
        _terminate_group(entry[0], config.stop_timeout_s)
    for pid in _marked_pids(env[RUN_MARKER], service.name):
        _terminate_group(pid, config.stop_timeout_s / 3, group=False)


def _start_until_healthy(
    service: Service, config: RunConfig, env: dict[str, str], say: Callable[[str], None]
) -> None:
    """Wait for an already launched service; one that exits before it is healthy (Ray's node start
    times out on a busy machine) is started again, up to start_attempts in all, with a growing pause."""
    for attempt in range(1, config.start_attempts + 1):
        try:
            _wait_healthy(service, config)
            return
        except ServiceExited as exc:
            if attempt == config.start_attempts:
                raise RunError(f"{exc} (after {attempt} attempts; AGRORISK_RUN_START_ATTEMPTS)") from None
            say(f"{service.name} exited before it was healthy (attempt {attempt}/{config.start_attempts}); "
                f"starting it again")  # fmt: skip
            _end_service(service, config, env)
            time.sleep(2.0 * attempt)
            _launch(service, config, env, say)


def _wait_healthy(service: Service, config: RunConfig) -> None:
    deadline = time.monotonic() + config.startup_timeout_s
    entry = read_pid_file(service.pid_file(config.run_dir))
    pid = entry[0] if entry else -1
    while time.monotonic() < deadline:
        if healthy(service.health_url):
            return
        if not _alive(pid):
            _reap_children()
            raise ServiceExited(
                f"{service.name} exited before it was healthy; last lines of "
                f"{service.log_file(config.run_dir)}:\n{_log_tail(service.log_file(config.run_dir))}"
            )
        time.sleep(0.5)
    raise RunError(
        f"{service.name} did not answer {service.health_url} within {config.startup_timeout_s:.0f} s; "
        f"last lines of {service.log_file(config.run_dir)}:\n{_log_tail(service.log_file(config.run_dir))}"
    )


def stop(config: RunConfig, say: Callable[[str], None] = print) -> list[str]:
    """Stop every service with a pid file: SIGTERM to its process group, SIGKILL after the timeout,
    then any stray process of the same run (e.g. Ray's workers in their own sessions). Returns names."""
    if config.run_dir.is_dir():
        (config.run_dir / STOPPING).touch()  # the foreground supervisor must not restart what we stop
    try:
        return _stop_all(config, say)
    finally:
        (config.run_dir / STOPPING).unlink(missing_ok=True)


def _stop_all(config: RunConfig, say: Callable[[str], None]) -> list[str]:
    stopped = []
    run_ids = set()
    for name in reversed(KNOWN_SERVICES):
        pid_file = config.run_dir / f"{name}.pid"
        entry = read_pid_file(pid_file)
        if entry is None:
            pid_file.unlink(missing_ok=True)
            continue
        pid, run_id = entry
        run_ids.add(run_id)
        if _alive(pid) and _same_run(pid, run_id):
            _terminate_group(pid, config.stop_timeout_s)
            stopped.append(name)
            say(f"stopped {name} (pid {pid})")
        pid_file.unlink(missing_ok=True)
    for run_id in filter(None, run_ids):
        for pid in _marked_pids(run_id):
            _terminate_group(pid, config.stop_timeout_s / 3, group=False)
    return stopped


def _same_run(pid: int, run_id: str) -> bool:
    """True when the process is the one we started (not a reused pid)."""
    if not run_id:
        return True
    try:
        return f"{RUN_MARKER}={run_id}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _terminate_group(pid: int, timeout_s: float, group: bool = True) -> None:
    """SIGTERM the process group (or one process), SIGKILL what is left after timeout_s."""
    send = (lambda sig: os.killpg(pid, sig)) if group else (lambda sig: os.kill(pid, sig))
    left = (lambda: _group_members(pid)) if group else (lambda: [pid] if _alive(pid) else [])
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            send(sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap_children()
            if not left():
                return
            time.sleep(0.2)


def status(config: RunConfig) -> dict[str, dict]:
    """Per configured service: pid (or None) and whether its health URL answers."""
    alive = running(config)
    plan = {s.name: s for s in build_services(RunConfig(**{**config.__dict__, "services": KNOWN_SERVICES}))}
    return {
        name: {"pid": alive.get(name), "healthy": bool(alive.get(name)) and healthy(plan[name].health_url)}
        for name in KNOWN_SERVICES
        if name in config.services or name in alive
    }


def _print_urls(config: RunConfig, plan: list[Service]) -> None:
    width = max(len(label) for s in plan for label in s.urls)
    print("\nAgroRisk is running:")
    for service in plan:
        for label, url in service.urls.items():
            if url:
                print(f"  {label:<{width}}  {url}")
    names = {s.name for s in plan}
    if "backend" in names and not os.environ.get(ADMIN_KEY_ENV):
        print(f"Admin key (X-API-Key header of /v1/admin/*): {config.run_dir.parent / ADMIN_KEY_FILE}")
    if "labelstudio" in names:
        print(f"Label Studio login: {LABEL_STUDIO_USER}, password in "
              f"{config.run_dir.parent / LABEL_STUDIO_PASSWORD_FILE}")  # fmt: skip


def restart(config: RunConfig, name: str, say: Callable[[str], None] = print) -> Service:
    """Stop one service of the running stack and start it again with the same run id; waits until
    healthy. The foreground supervisor leaves it alone meanwhile (a marker file)."""
    if name not in KNOWN_SERVICES:
        raise RunError(f"unknown service {name!r} (known: {', '.join(KNOWN_SERVICES)})")
    entry = read_pid_file(config.run_dir / f"{name}.pid")
    if entry is None:
        raise RunError(f"{name} is not part of the running stack (`make run` starts it)")
    stack = tuple(n for n in KNOWN_SERVICES if (config.run_dir / f"{n}.pid").exists())
    service = next(
        s for s in build_services(RunConfig(**{**config.__dict__, "services": stack})) if s.name == name
    )
    marker = config.run_dir / RESTARTING.format(name)
    marker.touch()
    try:
        env = base_env(entry[1] or uuid.uuid4().hex)
        _end_service(service, config, env)
        _launch(service, config, env, say)
        _start_until_healthy(service, config, env, say)
    finally:
        marker.unlink(missing_ok=True)
    say(f"healthy {service.name}: {service.health_url}")
    return service


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _serve_foreground(config: RunConfig, plan: list[Service]) -> int:
    """Block until Ctrl-C / SIGTERM (then stop everything). A service that dies is started again after
    a growing pause (2, 4, 8 … s, at most 60), up to max_restarts times each; past that, everything stops
    and the exit code is 1."""
    signal.signal(signal.SIGTERM, _interrupt)
    print("\nCtrl-C (or `make down` in another terminal) stops everything.")
    restarts = dict.fromkeys((s.name for s in plan), 0)
    try:
        while True:
            time.sleep(1.0)
            if (config.run_dir / STOPPING).exists() or not any(config.run_dir.glob("*.pid")):
                return 0  # `make down` is stopping us
            alive = running(config)
            dead = [
                s
                for s in plan
                if s.name not in alive and not (config.run_dir / RESTARTING.format(s.name)).exists()
            ]
            if not dead:
                continue
            service = dead[0]
            tail = _log_tail(service.log_file(config.run_dir))
            if restarts[service.name] >= config.max_restarts:
                print(
                    f"{service.name} stopped unexpectedly {restarts[service.name] + 1} times "
                    f"(AGRORISK_RUN_MAX_RESTARTS); last lines of {service.log_file(config.run_dir)}:\n{tail}",
                    file=sys.stderr,
                )
                stop(config)
                return 1
            restarts[service.name] += 1
            pause = min(60.0, 2.0 ** restarts[service.name])
            print(f"{service.name} stopped unexpectedly; restart {restarts[service.name]}/{config.max_restarts} "
                  f"in {pause:.0f} s", file=sys.stderr)  # fmt: skip
            entry = read_pid_file(service.pid_file(config.run_dir))
            env = base_env(entry[1] if entry else uuid.uuid4().hex)
            _end_service(service, config, env)
            time.sleep(pause)
            _launch(service, config, env, print)
            _start_until_healthy(service, config, env, print)
            print(f"healthy {service.name}: {service.health_url}")
    except KeyboardInterrupt:
        print("\nstopping…")
        stop(config)
        return 0
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        stop(config)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run_local.py",
        description=__doc__.split("\n\n")[0]
        + " Variables: AGRORISK_RUN_SERVICES (default ray,backend,web,dagster,labelstudio,optuna,pushgateway,prometheus; add "
        "triton for PyTriton), AGRORISK_RUN_HOST, AGRORISK_RUN_<SERVICE>_PORT (ray 8000, triton 8100, "
        "backend 8080, web 7860, dagster 3000, labelstudio 8089, optuna 8084, pushgateway 9091, prometheus 9090), "
        "AGRORISK_RUN_RAY_DASHBOARD_PORT (8265), AGRORISK_RUN_DIR, AGRORISK_RUN_STARTUP_TIMEOUT_S, AGRORISK_RUN_STOP_TIMEOUT_S, "
        "AGRORISK_RUN_START_ATTEMPTS (3: a service that exits before it is healthy is started again), "
        "AGRORISK_RUN_MAX_RESTARTS (5: a service that dies later is restarted with backoff).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start the services, wait until healthy, print the URLs")
    start_parser.add_argument("--detach", action="store_true", help="return once healthy, leave them running")
    commands.add_parser("stop", help="stop the services started by `start` (pid files)")
    commands.add_parser("status", help="show which services run and answer their health URL")
    restart_parser = commands.add_parser("restart", help="restart one service of the running stack")
    restart_parser.add_argument("service", choices=KNOWN_SERVICES, help="which one")
    args = parser.parse_args(argv)
    try:
        config = RunConfig.from_env()
        if args.command == "stop":
            if not stop(config):
                print("no local AgroRisk services are running")
            return 0
        if args.command == "restart":
            restart(config, args.service)
            return 0
        if args.command == "status":
            report = status(config)
            for name, state in report.items():
                shown = (
                    "not running"
                    if not state["pid"]
                    else ("healthy" if state["healthy"] else "starting/unhealthy")
                )
                print(f"  {name:<8} {shown}" + (f" (pid {state['pid']})" if state["pid"] else ""))
            return 0 if all(s["healthy"] for s in report.values()) else 1
        plan = start(config)
        _print_urls(config, plan)
        return 0 if args.detach else _serve_foreground(config, plan)
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stop(RunConfig.from_env(), say=lambda _: None)
        return 130


if __name__ == "__main__":
    sys.exit(main())
