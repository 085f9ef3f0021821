"""Whether each UI in the Services tab answers right now (absolute links only; paths behind the
gateway are the browser's to open)."""

from __future__ import annotations

import asyncio

import httpx


async def probe(links: dict[str, str], timeout_s: float = 2.0) -> dict[str, bool | None]:
    """Name -> True (answers with a non-error page), False (down or an error), None (not probed)."""

    async def one(client: httpx.AsyncClient, url: str) -> bool | None:
        if not url.startswith(("http://", "https://")):
            return None
        try:
            return (await client.get(url)).status_code < 400
        except httpx.HTTPError:
            return False

    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client:
        states = await asyncio.gather(*(one(client, url) for url in links.values()))
    return dict(zip(links, states, strict=True))
