"""`RayDetectorClient`: the backend's `DetectorClient` for the Ray Serve detector, over HTTP (httpx)."""

from __future__ import annotations

import httpx

from agrorisk_common.detection import Prediction
from agrorisk_common.images import sniff_mime_type
from agrorisk_serving.detector import SOURCE


class RayDetectorClient:
    """POSTs raw image bytes to `<base_url>/predict`. Never raises for a down or failing server:
    the returned Prediction's `error` says what went wrong (with the server's message for 4xx)."""

    name = "ray"

    def __init__(self, base_url: str, timeout_s: float = 30.0, max_connections: int = 64):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def predict(self, image: bytes) -> Prediction:
        headers = {"content-type": sniff_mime_type(image) or "application/octet-stream"}
        try:
            response = await self.http.post("/predict", content=image, headers=headers)
        except httpx.HTTPError as exc:
            return Prediction(
                source=SOURCE, error=f"Ray Serve at {self.base_url} is unreachable ({type(exc).__name__})"
            )
        if response.status_code != 200:
            return Prediction(
                source=SOURCE, error=f"Ray Serve answered {response.status_code}: {_detail(response)}"
            )
        return Prediction.model_validate(response.json())

    async def health(self) -> bool:
        try:
            return (await self.http.get("/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def version(self) -> str | None:
        """The model version being served, or None when the server is down or has no model."""
        try:
            response = await self.http.get("/version")
        except httpx.HTTPError:
            return None
        return response.json().get("model_version") if response.status_code == 200 else None

    async def aclose(self) -> None:
        await self.http.aclose()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]
