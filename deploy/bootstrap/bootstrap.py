"""`make bootstrap` (compose service `bootstrap`): a Label Studio access token and a first model.

Runs in the yolov11-train image against the compose stack; each step is skipped when already done:
1. Label Studio personal access token -> $AGRORISK_BOOTSTRAP_TOKEN_FILE (set it as
   AGRORISK_LABELING_LABEL_STUDIO_API_KEY for `agrorisk-label studio ...`).
2. No `production` model in the registry -> train a starter YOLO11 on generated leaf images, register
   and promote it, so serving has something to serve until a real model is trained (`make demo`).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path


def label_studio_token(base_url: str, email: str, password: str, token_file: Path) -> None:
    if token_file.exists() and token_file.read_text().strip():
        print(f"label studio: token already in {token_file}")
        return
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"{base_url}/user/login/"
    opener.open(login, timeout=30).read()

    def csrf() -> str:
        return next((c.value for c in jar if c.name == "csrftoken"), "")

    form = urllib.parse.urlencode({"email": email, "password": password, "csrfmiddlewaretoken": csrf()})
    opener.open(urllib.request.Request(login, data=form.encode(), headers={"Referer": login}), timeout=30)
    request = urllib.request.Request(
        f"{base_url}/api/token/",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf(), "Referer": login},
    )
    answer = json.loads(opener.open(request, timeout=30).read())
    token = answer.get("token") or answer.get("refresh")
    if not token:
        raise SystemExit(f"label studio: no token in the answer (keys: {sorted(answer)})")
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    print(f"label studio: personal access token written to {token_file}")


def first_model(epochs: int, imgsz: int) -> None:
    from agrorisk_common.catalog import load_catalog
    from agrorisk_common.procedural import generate_leaf_dataset
    from agrorisk_storage import ModelRegistry, StorageSettings

    registry = ModelRegistry.from_settings(StorageSettings())
    if "production" in registry.aliases():
        print(f"registry: production is {registry.aliases()['production']}, nothing to train")
        return
    risk_ids = [risk.id for risk in load_catalog()][:8]
    with tempfile.TemporaryDirectory() as tmp:
        data_yaml = generate_leaf_dataset(Path(tmp) / "leaves", risk_ids, images_per_class=16, imgsz=imgsz)
        print(f"registry: no production model; training a starter model on {len(risk_ids)} drawn classes")
        subprocess.run(
            [
                "agrorisk-train",
                "fit",
                "--data",
                str(data_yaml),
                "--model",
                "yolo11n.yaml",
                "--epochs",
                str(epochs),
                "--imgsz",
                str(imgsz),
                "--name",
                "bootstrap",
                "--register",
            ],
            check=True,
        )
    newest = max(registry.list(), key=lambda info: info.number)
    registry.promote(newest.version, "production")
    print(
        f"registry: {newest.version} promoted to production (a starter model: train a real one with make demo)"
    )


def main() -> None:
    token_file = Path(os.environ.get("AGRORISK_BOOTSTRAP_TOKEN_FILE", "/secrets/label-studio-token"))
    label_studio_token(
        os.environ.get("AGRORISK_BOOTSTRAP_LABEL_STUDIO_URL", "http://label-studio:8080").rstrip("/"),
        os.environ["LABEL_STUDIO_USERNAME"],
        os.environ["LABEL_STUDIO_PASSWORD"],
        token_file,
    )
    first_model(
        int(os.environ.get("AGRORISK_BOOTSTRAP_EPOCHS", "10")),
        int(os.environ.get("AGRORISK_BOOTSTRAP_IMGSZ", "320")),
    )


if __name__ == "__main__":
    try:
        main()
    except (OSError, subprocess.CalledProcessError, KeyError) as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
