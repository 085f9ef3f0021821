"""A loopback web site that plays the search engines and the image hosts: for the bench and offline runs.

Result pages have the shapes the engines really serve and icrawler's parsers read: Bing's
`images/async` HTML (`div.imgpt > a.iusc[m]` with `murl`), Baidu's `acjson` JSON (obfuscated
`objURL`), Google's `AF_initDataCallback` script, Flickr's REST `photos.search` / `photos.getSizes`.
Files are served with any status, content type and delay, and every request is counted.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

# icrawler's BaiduParser decodes objURL with this character map (after the three token swaps).
_BAIDU_CHARS = dict(
    zip("wkv1ju2it3hs4g5rq6fp7eo8dn9cm0bla", "abcdefghijklmnopqrstuvw1234567890", strict=True)
)
_BAIDU_ENCODE = {plain: cipher for cipher, plain in _BAIDU_CHARS.items()}
_BAIDU_TOKENS = {":": "_z2C$q", ".": "_z&e3B", "/": "AzdH3F"}


def baidu_obfuscate(url: str) -> str:
    """A URL as Baidu's objURL field carries it (what BaiduParser._decode_url undoes)."""
    return "".join(_BAIDU_TOKENS.get(c) or _BAIDU_ENCODE.get(c, c) for c in url)


def synthetic_photo(seed: int, size: int = 320, quality: int = 88) -> bytes:
    """A JPEG 'photo' of smooth random colour blobs: each seed gives a perceptually distinct image."""
    rng = np.random.default_rng(seed)
    blobs = Image.fromarray(rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    blobs.resize((size, size), Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when 8+ crawler threads connect at once


@dataclass(frozen=True)
class HostedFile:
    body: bytes
    content_type: str = "image/jpeg"
    status: int = 200
    delay_s: float = 0.0


class LoopbackSite:
    """Search engines + image host on 127.0.0.1 (a free port); use as a context manager."""

    def __init__(self) -> None:
        self.files: dict[str, HostedFile] = {}
        self.results: dict[tuple[str, str], list[str]] = {}
        self.hits: Counter[str] = Counter()
        self._flickr_photos: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-site", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def engine_urls(self) -> dict[str, str]:
        """Settings fields that point every engine at this site."""
        return {
            "bing_url": f"{self.base_url}/bing/images/async",
            "baidu_url": f"{self.base_url}/baidu/search/acjson",
            "google_url": f"{self.base_url}/google/search",
            "flickr_api_url": f"{self.base_url}/flickr/services/rest/",
        }

    def host(
        self,
        name: str,
        body: bytes,
        content_type: str = "image/jpeg",
        status: int = 200,
        delay_s: float = 0.0,
    ) -> str:
        """Serve `body` at /img/<name>; returns its URL."""
        self.files[f"/img/{name}"] = HostedFile(body, content_type, status, delay_s)
        return f"{self.base_url}/img/{name}"

    def set_results(self, engine: str, query: str, urls: list[str]) -> None:
        """What `engine` answers for `query` (in order, paged the way the engine pages)."""
        self.results[(engine, query)] = list(urls)

    def __enter__(self) -> LoopbackSite:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def flickr_photo_id(self, url: str) -> str:
        with self._lock:
            if url not in self._flickr_photos:
                self._flickr_photos.append(url)
            return str(self._flickr_photos.index(url))

    def flickr_photo_url(self, photo_id: str) -> str | None:
        index = int(photo_id) if photo_id.isdigit() else -1
        return self._flickr_photos[index] if 0 <= index < len(self._flickr_photos) else None


def _bing_page(urls: list[str]) -> str:
    items = []
    for i, url in enumerate(urls):
        meta = {
            "cid": f"c{i}",
            "purl": f"{url}.html",
            "murl": url,
            "turl": f"{url}?thumb=1",
            "t": f"photo {i}",
        }
        items.append(
            f'<li data-idx="{i + 1}"><div class="iuscp isv"><div class="imgpt">'
            f'<a class="iusc" m="{html.escape(json.dumps(meta, separators=(",", ":")))}" href="/images/search?view=detailV2">'
            f'<div class="img_cont hoff"><img class="mimg" alt="photo {i}"></div></a></div></div></li>'
        )
    return f'<html><body><ul class="dgControl_list">{"".join(items)}</ul></body></html>'


def _baidu_page(word: str, urls: list[str]) -> str:
    data = [
        {
            "thumbURL": f"{u}?thumb=1",
            "hoverURL": "",
            "objURL": baidu_obfuscate(u),
            "width": 640,
            "height": 480,
        }
        for u in urls
    ]
    return json.dumps({"queryEnc": word, "listNum": len(urls), "displayNum": len(urls), "data": [*data, {}]})


def _google_page(urls: list[str]) -> str:
    data = json.dumps([[None, [[f"g_{i}", [url, 480, 640]] for i, url in enumerate(urls)]]])
    return (
        "<html><head></head><body><script nonce='n'>"
        f"AF_initDataCallback({{key: 'ds:1', hash: '2', data:{data}, sideChannel: {{}}}});</script></body></html>"
    )


def _handler_for(site: LoopbackSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def handle(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()  # a crawler that timed out has hung up: nothing to answer

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with site._lock:
                site.hits[url.path] += 1
            if url.path in site.files:
                hosted = site.files[url.path]
                if hosted.delay_s:
                    time.sleep(hosted.delay_s)
                self._send(hosted.status, hosted.body, hosted.content_type)
            elif url.path == "/bing/images/async":
                first = int(query.get("first", 0))
                urls = site.results.get(("bing", query.get("q", "")), [])[first : first + 20]
                self._send(200, _bing_page(urls).encode(), "text/html; charset=utf-8")
            elif url.path == "/baidu/search/acjson":
                start, rows = int(query.get("pn", 0)), int(query.get("rn", 30))
                urls = site.results.get(("baidu", query.get("word", "")), [])[start : start + rows]
                self._send(200, _baidu_page(query.get("word", ""), urls).encode(), "application/json")
            elif url.path == "/google/search":
                start = int(query.get("start", 0))
                urls = site.results.get(("google", query.get("q", "")), [])[start : start + 100]
                self._send(200, _google_page(urls).encode(), "text/html; charset=utf-8")
            elif url.path == "/flickr/services/rest/":
                self._flickr(query)
            else:
                self._send(404, b"not found", "text/plain")

        def _flickr(self, query: dict[str, str]) -> None:
            if query.get("method") == "flickr.photos.search":
                per_page, page = int(query.get("per_page", 100)), int(query.get("page", 1))
                urls = site.results.get(("flickr", query.get("text", "")), [])
                chunk = urls[(page - 1) * per_page : page * per_page]
                photos = [{"id": site.flickr_photo_id(u), "owner": "1@N00", "title": "photo"} for u in chunk]
                pages = max(1, -(-len(urls) // per_page))
                body = {
                    "photos": {"page": page, "pages": pages, "perpage": per_page, "photo": photos},
                    "stat": "ok",
                }
            elif query.get("method") == "flickr.photos.getSizes":
                source = site.flickr_photo_url(query.get("photo_id", ""))
                sizes = [
                    {"label": "Square", "width": 75, "height": 75, "source": f"{source}?square=1"},
                    {"label": "Large", "width": 1024, "height": 768, "source": source},
                ]
                body = {"sizes": {"size": sizes}, "stat": "ok"} if source else {"stat": "fail", "code": 1}
            else:
                body = {"stat": "fail", "code": 112, "message": "Method not found"}
            self._send(200, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
