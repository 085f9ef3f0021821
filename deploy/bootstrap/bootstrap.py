"""`make bootstrap` (compose service `bootstrap`): a Label Studio access token and a first model.

Runs in the yolov11-train image against the compose stack; each step is skipped when already done:
1. Label Studio personal access token -> $AGRORISK_BOOTSTRAP_TOKEN_FILE (set it as
   AGRORISK_LABELING_LABEL_STUDIO_API_KEY for `agrorisk-label studio ...`).
2. No `production` model in the registry -> register the committed starter model (YOLO11n trained on
   real PlantDoc photos, models/starter/MODEL_CARD.md) and promote it: `agrorisk-train starter`.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
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


def first_model() -> None:
    """The starter model as production of an empty registry (nothing happens when one exists)."""
    subprocess.run(["agrorisk-train", "starter", "--work", "/data/runs/starter-register"], check=True)


def main() -> None:
    token_file = Path(os.environ.get("AGRORISK_BOOTSTRAP_TOKEN_FILE", "/secrets/label-studio-token"))
    label_studio_token(
        os.environ.get("AGRORISK_BOOTSTRAP_LABEL_STUDIO_URL", "http://label-studio:8080").rstrip("/"),
        os.environ["LABEL_STUDIO_USERNAME"],
        os.environ["LABEL_STUDIO_PASSWORD"],
        token_file,
    )
    first_model()


if __name__ == "__main__":
    try:
        main()
    except (OSError, subprocess.CalledProcessError, KeyError) as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
