"""docker-compose.yml is a valid Compose file and follows the stack's rules: healthchecks, pinned images,
named volumes for state, secrets from .env, and every address one service uses to reach another is wired
to a service that listens there. (No Docker engine here: the file is checked, not started.)"""

from __future__ import annotations

import copy
import importlib
import json
import re
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator
from stack_support import (
    REPO,
    MissingVariable,
    compose_variables,
    defaulted_variables,
    env_example,
    filled_env,
    gateway_variables,
    load_compose,
    required_variables,
)

SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())

# Where each service listens inside the network (ours: from their settings below; others: their images).
LISTENS = {
    "minio": {9000, 9001},
    "postgres": {5432},
    "wandb": {8080},
    "label-studio": {8080},
    "optuna-dashboard": {8080},
    "triton": {8000, 8001, 8002},
    "ray": {8000, 8265, 6379, 9101, 9102},
    "backend": {8080},
    "web": {7860},
    "dagster-code": {4000},
    "dagster-webserver": {3000},
    "nginx": {80},
    "prometheus": {9090},
    "pushgateway": {9091},
    "grafana": {3000},
}
# Services that keep state, and where it lives: each must mount a named volume there.
STATE = {
    "minio": "/data",
    "postgres": "/var/lib/postgresql/data",
    "wandb": "/vol",
    "label-studio": "/label-studio/data",
    "triton-repo": "/models",
    "triton": "/models",
    "triton-sync": "/models",
    "triton-gpu-sync": "/models",
    "backend": "/data/backend",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
    "dagster-code": "/data/dagster",
    "dagster-webserver": "/data/dagster",
    "dagster-daemon": "/data/dagster",
    "bootstrap": "/secrets",
    "train-gpu": "/data/runs",
}
# Settings class per env prefix: a compose variable with the prefix must be one of its fields.
SETTINGS = {
    "AGRORISK_BACKEND_": "agrorisk_backend.settings:Settings",
    "AGRORISK_WEB_": "agrorisk_web.settings:Settings",
    "AGRORISK_RAY_": "agrorisk_ray.settings:Settings",
    "AGRORISK_TRITON_": "agrorisk_triton.settings:Settings",
    "AGRORISK_STORAGE_": "agrorisk_storage.settings:StorageSettings",
    "AGRORISK_TRAIN_": "agrorisk_train.settings:TrainSettings",
    "AGRORISK_PIPELINE_": "agrorisk_pipeline.settings:Settings",
}
# What each of our services must be told to find the others (the rest has working defaults).
WIRING = {
    "backend": {
        "AGRORISK_BACKEND_HOST",
        "AGRORISK_BACKEND_PORT",
        "AGRORISK_BACKEND_RAY_URL",
        "AGRORISK_BACKEND_TRITON_URL",
        "AGRORISK_BACKEND_DATA_DIR",
        "AGRORISK_BACKEND_PUBLIC_BASE_URL",
        "AGRORISK_STORAGE_ENDPOINT",
        "AGRORISK_STORAGE_ACCESS_KEY",
        "AGRORISK_STORAGE_SECRET_KEY",
    },
    "web": {"AGRORISK_WEB_HOST", "AGRORISK_WEB_PORT", "AGRORISK_WEB_BACKEND_URL"},
    "ray": {
        "AGRORISK_RAY_HOST",
        "AGRORISK_RAY_PORT",
        "AGRORISK_STORAGE_ENDPOINT",
        "AGRORISK_STORAGE_SECRET_KEY",
    },
    "triton-repo": {
        "AGRORISK_TRITON_REPOSITORY_DIR",
        "AGRORISK_STORAGE_ENDPOINT",
        "AGRORISK_STORAGE_SECRET_KEY",
    },
    **{
        name: {
            "DAGSTER_HOME",
            "DAGSTER_POSTGRES_HOST",
            "DAGSTER_POSTGRES_PASSWORD",
            "AGRORISK_STORAGE_ENDPOINT",
            "AGRORISK_STORAGE_SECRET_KEY",
            "AGRORISK_PIPELINE_PREDICTION_LOG_DIR",
            "AGRORISK_PIPELINE_PUSHGATEWAY_URL",
            "AGRORISK_LABELING_LABEL_STUDIO_URL",
            "AGRORISK_LABELING_LABEL_STUDIO_API_KEY_FILE",
            "AGRORISK_LABELING_LABEL_STUDIO_FILES_ROOT",
            "AGRORISK_TRAIN_OPTUNA_STORAGE",
            "GEMINI_API_KEY",
        }
        for name in ("dagster-code", "dagster-webserver", "dagster-daemon")
    },
    "triton-gpu-sync": {"AGRORISK_TRITON_URL", "AGRORISK_TRITON_REPOSITORY_DIR", "AGRORISK_STORAGE_ENDPOINT"},
    "triton-sync": {"AGRORISK_TRITON_URL", "AGRORISK_TRITON_REPOSITORY_DIR", "AGRORISK_STORAGE_ENDPOINT"},
    "nginx": {f"AGRORISK_GATEWAY_{n}" for n in ("WEB", "BACKEND", "DAGSTER", "MINIO_CONSOLE", "OPTUNA")},
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|LICENSE|API_KEY", re.I)


def _services(compose: dict, *, jobs: bool | None = None) -> dict[str, dict]:
    return {
        name: service
        for name, service in compose["services"].items()
        if jobs is None or bool(service.get("x-one-shot")) == jobs
    }


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    return dict(env) if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def _settings_fields(target: str) -> set[str] | None:
    module, name = target.split(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None  # that package has no settings yet: nothing to check against
    return {field.upper() for field in cls.model_fields}


def _named_volume(mount: str) -> tuple[str, str] | None:
    source, target = mount.split(":")[:2]
    return None if source.startswith((".", "/")) else (source, target)


def test_compose_file_is_valid_against_the_compose_specification(compose):
    errors = sorted(Draft201909Validator(SCHEMA).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_the_schema_check_catches_a_misspelt_key(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["backend"]["healthcheck"]["intervall"] = "5s"
    broken["services"]["web"]["depends_on"]["backend"]["condition"] = "service_ready"
    assert len(list(Draft201909Validator(SCHEMA).iter_errors(broken))) == 2


def test_every_long_running_service_has_a_healthcheck_and_jobs_run_once(compose):
    for name, service in _services(compose, jobs=False).items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service.get("restart") == "unless-stopped", f"{name} does not come back after a crash/reboot"
    for name, service in _services(compose, jobs=True).items():
        assert service.get("restart") == "no", f"one-shot {name} must not restart"


def test_dependencies_wait_for_health_or_completion(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            expected = (
                "service_completed_successfully" if services[target].get("x-one-shot") else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {target}: {rule['condition']}"
            if not services[target].get("profiles"):
                continue
            assert set(services[target]["profiles"]) <= set(service.get("profiles", [])), (
                f"{name} depends on {target}, which only runs in profile {services[target]['profiles']}"
            )


def test_every_image_is_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not a pinned version"
        if repository.startswith("agrorisk/"):
            assert "build" in service or any(
                other.get("image") == image and "build" in other for other in compose["services"].values()
            ), f"{name}: our image {image} is built nowhere"


def test_our_images_build_from_their_package_dockerfile_at_the_repo_root(compose):
    not_yet = []
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        build = service["build"]
        assert build["context"] == ".", f"{name} must build from the repo root"
        dockerfile = REPO / build["dockerfile"]
        folder = build["dockerfile"].split("/")[0]
        assert (REPO / folder / "pyproject.toml").exists() or folder == "deploy", f"{name}: {folder}"
        expected = Path(build["dockerfile"]).parent.name
        if build["dockerfile"].endswith("Dockerfile.server"):
            expected = "triton-server"
        assert service["image"].startswith(f"agrorisk/{expected}:"), f"{name}: {service['image']}"
        if not dockerfile.exists():
            not_yet.append(build["dockerfile"])
    if not_yet:
        pytest.skip(f"not written yet (their packages' helpers add them): {sorted(set(not_yet))}")


def test_state_lives_in_named_volumes_and_bind_mounts_are_read_only_config(compose):
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        mounts = service.get("volumes") or []
        for mount in mounts:
            volume = _named_volume(mount)
            if volume:
                assert volume[0] in declared, f"{name} mounts undeclared volume {volume[0]}"
                used.add(volume[0])
            else:
                source = mount.split(":")[0]
                # read-only config (deploy/) or the committed starter model (models/)
                assert mount.endswith(":ro") and source.startswith(("./deploy/", "./models/")), (
                    f"{name}: {mount}"
                )
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
        if name in STATE:
            targets = {v[1] for v in map(_named_volume, mounts) if v}
            assert STATE[name] in targets, f"{name} keeps state in {STATE[name]} without a named volume"
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_secrets_come_from_env_without_defaults(compose):
    required = required_variables()
    for name in (
        "MINIO_ROOT_PASSWORD",
        "POSTGRES_PASSWORD",
        "AGRORISK_STORAGE_SECRET_KEY",
        "LABEL_STUDIO_PASSWORD",
    ):
        assert name in required, f"{name} must be ${{{name}:?...}} in docker-compose.yml"
    for variable, default in defaulted_variables().items():
        assert not (SECRET_NAME.search(variable) and default), f"secret {variable} has a default"
    for name, service in compose["services"].items():
        for variable, value in _env(service).items():
            if SECRET_NAME.search(variable) and not variable.endswith("_FILE") and value:  # _FILE: a path
                assert str(value).startswith("test-"), f"{name}.{variable} is a literal, not from .env"


def test_missing_secrets_stop_compose_with_a_message():
    env = env_example()
    for name in required_variables():
        env.pop(name, None)
    with pytest.raises(MissingVariable, match="set .* in .env"):
        load_compose(env)


def test_every_compose_variable_is_in_env_example():
    documented = set(env_example())
    example_text = (REPO / ".env.example").read_text()
    missing = {v for v in compose_variables() if v not in documented and f"# {v}=" not in example_text}
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_setting_compose_sets_exists_in_that_service(compose):
    checked = 0
    for name, service in compose["services"].items():
        for variable in _env(service):
            prefix = next((p for p in SETTINGS if variable.startswith(p)), None)
            if prefix is None:
                continue
            fields = _settings_fields(SETTINGS[prefix])
            if fields is None:
                continue
            checked += 1
            assert variable.removeprefix(prefix) in fields, (
                f"{name}: {variable} is not a setting of {prefix}*"
            )
    assert checked >= 20


def test_services_are_told_where_the_others_are(compose):
    for name, variables in WIRING.items():
        env = _env(compose["services"][name])
        assert variables <= set(env), f"{name} lacks {sorted(variables - set(env))}"


def test_every_address_points_at_a_service_that_listens_there(compose):
    services = compose["services"]
    own_ports = {
        "backend": int(_env(services["backend"])["AGRORISK_BACKEND_PORT"]),
        "web": int(_env(services["web"])["AGRORISK_WEB_PORT"]),
        "ray": int(_env(services["ray"])["AGRORISK_RAY_PORT"]),
    }
    for service, port in own_ports.items():
        assert port in LISTENS[service], f"{service} listens on {port}, the others expect {LISTENS[service]}"
        assert f"localhost:{port}/" in " ".join(services[service]["healthcheck"]["test"]), service
    addresses = 0
    for name, service in services.items():
        for variable, value in _env(service).items():
            for host, port in re.findall(r"(?:^|//|@)([a-z][a-z0-9-]+):(\d+)", str(value)):
                if host == "localhost":
                    continue
                addresses += 1
                target = "triton" if host == "triton-gpu" else host
                assert target in services, f"{name}.{variable}: no service {host}"
                assert int(port) in LISTENS.get(target, set()), (
                    f"{name}.{variable}: {host} does not listen on {port}"
                )
    assert addresses >= 15


def test_gateway_template_gets_every_variable_it_uses(compose):
    env = _env(compose["services"]["nginx"])
    provided = set(env) | (
        {"NGINX_LOCAL_RESOLVERS"} if env.get("NGINX_ENTRYPOINT_LOCAL_RESOLVERS") == "1" else set()
    )
    assert gateway_variables() <= provided, f"nginx lacks {sorted(gateway_variables() - provided)}"
    assert {v for v in env if v.startswith("AGRORISK_GATEWAY_")} <= gateway_variables()


def test_gateway_accepts_what_the_backend_and_the_ui_accept(compose):
    from agrorisk_backend.settings import Settings as BackendSettings
    from agrorisk_web.settings import Settings as WebSettings

    limit = _env(compose["services"]["nginx"])["AGRORISK_GATEWAY_MAX_BODY"]
    assert limit.endswith("m")
    nginx_bytes = int(limit[:-1]) * 1024 * 1024
    backend_bytes = int(_env(compose["services"]["backend"]).get("AGRORISK_BACKEND_MAX_UPLOAD_BYTES", 0)) or (
        BackendSettings().max_upload_bytes
    )
    web_bytes = int(_env(compose["services"]["web"])["AGRORISK_WEB_MAX_UPLOAD_MB"]) * 1024 * 1024
    assert backend_bytes == BackendSettings().max_upload_bytes == WebSettings().max_upload_mb * 1024 * 1024
    # Above the backend's limit, so the backend answers an oversize photo with its own message,
    # and not by much (the multipart envelope of one photo).
    assert backend_bytes < nginx_bytes <= backend_bytes + 2 * 1024 * 1024
    assert web_bytes < nginx_bytes


def test_gpu_profile_reserves_gpus_and_nothing_else_does(compose):
    gpu_services = {n for n, s in compose["services"].items() if "gpu" in s.get("profiles", [])}
    assert {"triton-gpu", "triton-gpu-sync", "ray-gpu-worker", "train-gpu"} <= gpu_services
    gpu_services -= {"triton-gpu-sync"}  # in the profile, on the CPU: it loads models into triton-gpu
    for name, service in compose["services"].items():
        devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        if name in gpu_services:
            assert devices and devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"], name
        else:
            assert not devices, f"{name} reserves a GPU outside the gpu profile"


def test_postgres_init_creates_the_databases_the_tools_use(compose):
    script = (REPO / "deploy/postgres/init-databases.sh").read_text()
    created = set(re.findall(r"^create (\w+) ", script, re.M))
    dagster = _env(compose["services"]["dagster-code"])
    label_studio = _env(compose["services"]["label-studio"])
    optuna_url = compose["services"]["optuna-dashboard"]["command"][0]
    assert {
        dagster["DAGSTER_POSTGRES_DB"],
        label_studio["POSTGRE_NAME"],
        optuna_url.rsplit("/", 1)[1],
    } == created
    assert dagster["DAGSTER_POSTGRES_USER"] == dagster["DAGSTER_POSTGRES_DB"]
    assert label_studio["POSTGRE_USER"] == label_studio["POSTGRE_NAME"]
    assert optuna_url.split("//")[1].startswith("optuna:")


def test_minio_init_creates_the_buckets_the_registry_uses(compose):
    init = _env(compose["services"]["minio-init"])
    backend = _env(compose["services"]["backend"])
    for variable in (
        "AGRORISK_STORAGE_MODELS_BUCKET",
        "AGRORISK_STORAGE_DATASETS_BUCKET",
        "AGRORISK_STORAGE_ACCESS_KEY",
    ):
        assert init[variable] == backend[variable]
    script = (REPO / "deploy/minio/create-buckets.sh").read_text()
    assert "mc version enable" in script and "mc mb --ignore-existing" in script


def test_dagster_instance_and_workspace_match_the_compose_services(compose):
    import yaml

    # The dagster-pipeline image carries these two files in /opt/dagster/deploy (its DAGSTER_HOME).
    assert _env(compose["services"]["dagster-code"])["DAGSTER_HOME"] == "/opt/dagster/deploy"
    workspace = yaml.safe_load((REPO / "dagster-pipeline/deploy/workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    code = compose["services"]["dagster-code"]
    assert server["host"] == "dagster-code" and str(server["port"]) in code["command"]
    assert "agrorisk_pipeline.definitions" in code["command"]
    instance = yaml.safe_load((REPO / "dagster-pipeline/deploy/dagster.yaml").read_text())
    env_names = {
        v["env"] for v in instance["storage"]["postgres"]["postgres_db"].values() if isinstance(v, dict)
    }
    assert env_names <= set(_env(code))
    for name in ("dagster-webserver", "dagster-daemon"):
        command = compose["services"][name]["command"]
        assert command[command.index("-w") + 1] == "/opt/dagster/deploy/workspace.yaml"
    webserver = compose["services"]["dagster-webserver"]["command"]
    assert webserver[webserver.index("--path-prefix") + 1] == "/dagster"


def test_links_the_backend_gives_are_paths_the_gateway_routes():
    from agrorisk_backend.settings import DEFAULT_LINKS

    template = (REPO / "deploy/nginx/templates/gateway.conf.template").read_text()
    locations = re.findall(r"location\s+(?:=\s+)?(\S+)\s*\{", template)
    for name, path in DEFAULT_LINKS.items():
        assert any(path == loc or (loc.endswith("/") and path.startswith(loc)) for loc in locations), (
            f"{name}: {path} is not routed by the gateway"
        )


def test_env_example_keeps_every_package_section_and_adds_the_stack():
    text = (REPO / ".env.example").read_text()
    assert "# --- the full stack: docker-compose.yml" in text
    assert "# --- make run:" in text
    for name in filled_env():
        assert text.count(f"\n{name}=") <= 1, f"{name} is assigned twice in .env.example"


def test_package_scripts_the_compose_file_runs_exist(compose):
    scripts = set()
    for pyproject in REPO.glob("*/pyproject.toml"):
        scripts |= set(tomllib.loads(pyproject.read_text())["project"].get("scripts", {}))
    commands = {
        "triton-repo": "agrorisk-triton",
        "ray": "agrorisk-ray",
        "train-gpu": "agrorisk-train",
    }
    for name, script in commands.items():
        service = compose["services"][name]
        assert script in " ".join(service.get("entrypoint", []) + service.get("command", [])), name
        assert script in scripts, f"{script} is not a console script of any package"


def test_dagster_reads_the_files_and_token_label_studio_and_bootstrap_share(compose):
    """The pool photos Dagster pushes for review sit where Label Studio serves files from, and the
    token file is the one `make bootstrap` writes."""
    services = compose["services"]
    studio = _env(services["label-studio"])
    bootstrap = _env(services["bootstrap"])
    for name in ("dagster-code", "dagster-daemon"):
        env, mounts = _env(services[name]), services[name]["volumes"]
        root = env["AGRORISK_LABELING_LABEL_STUDIO_FILES_ROOT"]
        assert root == studio["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"]
        assert f"label-studio-files:{root}" in mounts
        token = Path(env["AGRORISK_LABELING_LABEL_STUDIO_API_KEY_FILE"])
        assert token == Path(bootstrap["AGRORISK_BOOTSTRAP_TOKEN_FILE"])
        assert f"bootstrap-secrets:{token.parent}:ro" in mounts


def test_bootstrap_registers_the_committed_starter_model(compose):
    """`make bootstrap` runs `agrorisk-train starter` on the starter model mounted from the repository."""
    bootstrap = compose["services"]["bootstrap"]
    starter = Path(_env(bootstrap)["AGRORISK_TRAIN_STARTER_MODEL"])
    assert f"./models/starter:{starter.parent}:ro" in bootstrap["volumes"]
    assert (REPO / "models" / "starter" / starter.name).is_file()
    script = (REPO / "deploy" / "bootstrap" / "bootstrap.py").read_text()
    assert '"agrorisk-train", "starter"' in script and "generate_leaf_dataset" not in script


def test_one_label_studio_version_across_compose_and_tests(compose):
    image = compose["services"]["label-studio"]["image"].split(":")[1]
    installed = re.search(
        r'"label-studio==([\d.]+)"', (REPO / "dataset-labeling/scripts/install-label-studio.sh").read_text()
    )
    assert installed and installed.group(1) == image
