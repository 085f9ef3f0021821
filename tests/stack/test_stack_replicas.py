"""Two backend processes behind Debian's nginx (round robin) on one S3 bucket (moto's server): what
either replica was told — feedback, answers — is in the shared store, and the pipeline reads all of it."""

from __future__ import annotations

import io
import os
import random
import subprocess
from pathlib import Path

import httpx
import pytest
from stack_support import NGINX, wait_for

from agrorisk_common.ports import free_port
from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.backend_stack import backend_server
from agrorisk_devtools.s3 import moto_s3
from agrorisk_pipeline.active_learning import read_feedback
from agrorisk_pipeline.settings import Settings
from agrorisk_pipeline.shared_store import mirror_if_shared
from agrorisk_storage import StorageSettings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")]
BUCKET = "agrorisk-shared"


def _nginx_conf(prefix: Path, port: int, upstreams: list[str]) -> Path:
    user = "user root;\n" if os.geteuid() == 0 else ""
    servers = "".join(f"    server {u};\n" for u in upstreams)
    config = prefix / "nginx.conf"
    config.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log notice;\n"
        "events { worker_connections 64; }\nhttp {\n"
        "  log_format up '$upstream_addr $status';\n"
        f"  access_log {prefix}/access.log up;\n  client_body_temp_path {prefix}/body;\n"
        f"  proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fcgi;\n"
        f"  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n"
        f"  upstream backend {{\n{servers}  }}\n"
        f"  server {{ listen 127.0.0.1:{port}; client_max_body_size 25m;\n"
        "    location / { proxy_pass http://backend; proxy_set_header Host $host; } }\n}\n"
    )
    return config


def _leaf(seed: int) -> bytes:
    image, _ = draw_leaf(0, random.Random(seed), 96)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def test_feedback_through_nginx_to_two_replicas_lands_in_one_shared_store(tmp_path):
    with moto_s3() as endpoint:
        storage = StorageSettings(endpoint=endpoint, access_key="test", secret_key="replica-secret")
        env = {
            "AGRORISK_STORAGE_ENDPOINT": endpoint, "AGRORISK_STORAGE_ACCESS_KEY": "test",
            "AGRORISK_STORAGE_SECRET_KEY": "replica-secret", "AGRORISK_STORAGE_SECURE": "false",
            "AGRORISK_BACKEND_SHARED_STORE": "s3", "AGRORISK_BACKEND_SHARED_BUCKET": BUCKET,
            "AGRORISK_BACKEND_ENGINE": "ray", "AGRORISK_BACKEND_RAY_URL": f"http://127.0.0.1:{free_port()}",
            "AGRORISK_GEMINI_API_KEY": "", "GEMINI_API_KEY": "",
        }  # fmt: skip
        prefix, port = tmp_path / "nginx", free_port()
        prefix.mkdir()
        with (
            backend_server(env | {"AGRORISK_BACKEND_DATA_DIR": str(tmp_path / "a")}, tmp_path / "a.log") as a,
            backend_server(env | {"AGRORISK_BACKEND_DATA_DIR": str(tmp_path / "b")}, tmp_path / "b.log") as b,
        ):
            upstreams = [a.removeprefix("http://"), b.removeprefix("http://")]
            config = _nginx_conf(prefix, port, upstreams)
            nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(config)], stderr=subprocess.PIPE)
            try:
                wait_for(f"http://127.0.0.1:{port}/healthz", process=nginx)
                ids = []
                for seed in range(4):
                    answer = httpx.post(
                        f"http://127.0.0.1:{port}/v1/feedback",
                        files={"file": ("leaf.jpg", _leaf(seed), "image/jpeg")},
                        data={"verdict": "wrong", "comment": f"photo {seed}"},
                        timeout=30,
                    )
                    assert answer.status_code == 201, answer.text
                    ids.append(answer.json()["id"])
            finally:
                nginx.terminate()
                nginx.wait(10)
        served_by = [
            line.split()[0] for line in (prefix / "access.log").read_text().splitlines() if " 201" in line
        ]
        assert set(served_by) == set(upstreams), served_by  # both replicas took feedback

        settings = Settings(
            shared_store="s3", prediction_log_dir=tmp_path / "log", feedback_dir=tmp_path / "fb"
        )
        mirror_if_shared(settings, storage)
    feedback = read_feedback(settings.feedback_dir)
    assert sorted(f["id"] for f in feedback) == sorted(ids)
    assert not list((tmp_path / "a").rglob("*.json")) and not list((tmp_path / "b").rglob("*.json"))
