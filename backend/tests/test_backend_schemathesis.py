"""schemathesis against the live backend (`agrorisk-backend serve` on loopback, Ray Serve with a
one-epoch YOLO11, the fake Gemini server), as `schemathesis run --mode all` would: positive and
negative requests to every operation, each answer checked against the OpenAPI schema — no 5xx, no
undocumented status code, bodies and content types as documented, negative data refused — and for
server paths. Twice: with no admin key (admin routes answer 403) and with one set and sent (admin
routes run, on a registry copy and a data folder of their own)."""

from __future__ import annotations

import io
import random
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from agrorisk_common.images import ACCEPTED_MIME_TYPES
from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.backend_stack import backend_env, backend_server
from agrorisk_storage import ModelRegistry, StorageSettings

pytestmark = pytest.mark.slow

ADMIN_KEY = "schemathesis-admin-key"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "no_server_path",
)
MULTIPART = [f"POST /v1/{name}" for name in ("predict", "gemini", "compare", "feedback", "jobs")]
MIN_REQUESTS = 500  # per run; the two runs send over 1,000
SERVER_PATH = re.compile(r"(?<![\w.:/~-])/(tmp|srv|home|work|root|usr|var|opt)/")


@schemathesis.check
def no_server_path(ctx, response, case) -> None:  # noqa: ARG001 (schemathesis' check signature)
    """No answer names an absolute server path (temporary folders, the repository, system folders)."""
    if match := SERVER_PATH.search(text := response.text):
        raise AssertionError(f"names a server path: {text[max(0, match.start() - 60) : match.end() + 60]}")


@dataclass
class Outcome:
    requests: int = 0
    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # operation -> codes
    failures: list[str] = field(default_factory=list)


def photo(mime_type: str, seed: int) -> bytes:
    image, _ = draw_leaf(seed % 4, random.Random(seed), size=96)
    buffer = io.BytesIO()
    image.save(buffer, format=mime_type.removeprefix("image/").upper())
    return buffer.getvalue()


def run_schemathesis(url: str, headers: dict[str, str]) -> Outcome:
    """Every phase of `schemathesis run --mode all` with a fixed seed and no example database, so
    CI sends the same requests each time; positive cases upload real photos of each accepted type."""
    for mime_type in ACCEPTED_MIME_TYPES:
        schemathesis.openapi.media_type(mime_type, st.sampled_from([photo(mime_type, s) for s in range(3)]))
    config = SchemathesisConfig.from_dict(
        {
            "seed": 21,
            "headers": headers,
            "generation": {"mode": "all", "max-examples": 25, "database": "none"},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            # A multipart field is text on the wire: a "negative" `crop` of true or 0 arrives as the
            # valid slug "true" or "0", so this check cannot judge multipart bodies.
            "operations": [
                {"include-name": MULTIPART, "checks": {"negative_data_rejection": {"enabled": False}}}
            ],
        }
    )
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)
    outcome = Outcome()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, interaction in event.recorder.interactions.items():
                operation = event.recorder.cases[case_id].value.operation.label
                status = interaction.response.status_code if interaction.response else 0  # 0: no answer
                outcome.requests += 1
                outcome.statuses[operation].add(status)
            for checks in event.recorder.checks.values():
                outcome.failures += [
                    f"{event.recorder.label}: {c.name}: {c.failure_info.failure.title}: "
                    f"{c.failure_info.failure.message:.2000}\n{c.failure_info.code_sample:.500}"
                    for c in checks
                    if c.status == Status.FAILURE and c.failure_info
                ]
        elif isinstance(event, events.NonFatalError):
            outcome.failures.append(f"{event.label}: schemathesis could not test it: {event.value!r:.300}")
        elif isinstance(event, events.FatalError):
            outcome.failures.append(f"schemathesis stopped: {event.exception!r:.300}")
    return outcome


@pytest.mark.parametrize("admin_key", [None, ADMIN_KEY], ids=["admin key not set", "admin key set"])
def test_schemathesis_finds_no_break_of_the_contract(admin_key, ray_stack, fake_gemini, tmp_path):
    ray_url, storage = ray_stack
    shutil.copytree(storage.local_root, tmp_path / "registry")
    registry = StorageSettings(local_root=tmp_path / "registry", cache_dir=tmp_path / "cache")
    copy = ModelRegistry.from_settings(registry)
    v1 = copy.pull("v1", tmp_path / "v1")
    copy.push({name: v1 / name for name in ("best.onnx", "best.pt")}, {})  # v2, to promote to
    env = backend_env(registry, ray_url, tmp_path / "data", fake_gemini.base_url, fake_gemini.api_key)
    headers = {}
    if admin_key:
        env["AGRORISK_BACKEND_ADMIN_API_KEY"] = admin_key
        headers = {"X-API-Key": admin_key}

    with backend_server(env, tmp_path / "backend.log") as url:
        outcome = run_schemathesis(url, headers)
        spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    operations = {f"{method.upper()} {path}" for path, methods in spec["paths"].items() for method in methods}

    statuses = outcome.statuses
    print(f"\nschemathesis: {outcome.requests} requests; {dict(sorted(statuses.items()))}")
    assert not outcome.failures, "\n\n".join(outcome.failures)
    assert outcome.requests >= MIN_REQUESTS, outcome.requests
    assert set(statuses) == operations, sorted(operations ^ set(statuses))  # every operation was called
    for operation in ("POST /v1/predict", "POST /v1/gemini", "POST /v1/compare"):
        assert {200, 422} <= statuses[operation], (operation, statuses[operation])  # photos recognised
    assert 201 in statuses["POST /v1/feedback"]
    admin = statuses["POST /v1/admin/promote"] | statuses["POST /v1/admin/retrain"]
    if admin_key:
        assert {200, 202, 401, 404, 422} <= admin and 403 not in admin, admin
    else:  # refused; only a body that does not parse is answered (400/422) before the key check
        assert 403 in admin and not admin & {200, 202, 401, 404, 409}, admin
