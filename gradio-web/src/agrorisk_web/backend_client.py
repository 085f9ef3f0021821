"""The backend's HTTP API as the UI uses it; every failure becomes a `BackendError` with a message
a person can read."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from agrorisk_web.settings import Settings


class BackendError(Exception):
    """The backend could not answer; the message says why, in Ukrainian and English. `status` is the
    HTTP status of a refusal (None when the backend did not answer at all)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class BackendClient:
    def __init__(self, settings: Settings):
        headers = (
            {"X-API-Key": settings.backend_api_key.get_secret_value()} if settings.backend_api_key else {}
        )
        self.base_url = settings.backend_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(settings.timeout_s, connect=5.0)
        )

    async def compare(self, image: bytes, filename: str, crop: str | None = None) -> dict[str, Any]:
        """Both models on the photo; `crop` (a slug) lets the verdict name the crop."""
        data = {"crop": crop} if crop else None
        return await self._call("POST", "/v1/compare", files={"file": (filename, image)}, data=data)

    async def feedback(self, image: bytes, filename: str, fields: dict[str, str]) -> dict[str, Any]:
        return await self._call("POST", "/v1/feedback", files={"file": (filename, image)}, data=fields)

    async def risks(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/v1/risks")

    async def models(self) -> dict[str, Any]:
        return await self._call("GET", "/v1/models")

    async def history(self, version: str) -> dict[str, Any]:
        return await self._call("GET", f"/v1/models/{quote(version, safe='')}/history")

    async def links(self) -> dict[str, str]:
        return await self._call("GET", "/v1/links")

    async def drift(self) -> dict[str, Any]:
        """The latest drift verdict; a `BackendError` with `status` 404 before the first report."""
        return await self._call("GET", "/v1/drift")

    async def drift_report(self) -> bytes:
        """Evidently's HTML report of the latest drift run."""
        return (await self._request("GET", "/v1/drift/report")).content

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, path, **kwargs)).json()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise BackendError(
                f"Бекенд не відповів вчасно / the backend did not answer in time ({self.base_url})"
            ) from None
        except httpx.HTTPError as exc:
            raise BackendError(
                f"Бекенд недоступний / the backend is unreachable at {self.base_url} ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            raise BackendError(
                f"Бекенд відмовив / the backend refused ({response.status_code}): {_detail(response)}",
                status=response.status_code,
            )
        return response


def _detail(response: httpx.Response) -> str:
    """The backend's `{"detail", "kind"}` error body as one line (any other body: its start)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(body, dict) or "detail" not in body:
        return response.text[:200]
    return str(body["detail"])
