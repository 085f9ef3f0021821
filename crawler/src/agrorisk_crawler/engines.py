"""Search engines: result-page URLs per engine, and icrawler's own parsers for their pages.

The parsers are icrawler's built-in Bing, Baidu and Google parsers (Flickr follows icrawler's
FlickrParser with the API address made a setting); each task they yield is tagged with the query
its page came from. Endpoints are settings, so a mirror, or the loopback site in tests and benches,
can stand in.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from icrawler import Feeder, Parser
from icrawler.builtin.baidu import BaiduParser
from icrawler.builtin.bing import BingParser
from icrawler.builtin.google import GoogleParser

from agrorisk_crawler.handoff import handed_on, taken
from agrorisk_crawler.settings import Settings

log = logging.getLogger(__name__)
GIVE_UP_AFTER_FAILED_PAGES = 4  # ... when not one result page of the crawl has loaded
FLICKR_SIZES = ("original", "large 2048", "large 1600", "large", "medium 800", "medium 640", "medium")


class PageListFeeder(Feeder):
    """Feeds a prepared list of result-page URLs; stops as soon as the risk has enough images."""

    def feed(self, page_urls: list[str]) -> None:
        for url in page_urls:
            if not handed_on(self, url, timeout=0.2):
                return


class QueryTaggingParser(Parser):
    """Fetches result pages, runs the engine's parser on them, tags each task with its query.

    Outcomes go to `tally(outcome)`: a page that cannot be fetched is `page_unreachable`, one that
    is not HTTP 200 `page_http_<code>`. `pages_ok` / `pages_failed` tell whether the engine works.
    """

    query_param: ClassVar[str]
    pages_ok = 0
    pages_failed = 0

    def worker_exec(self, tally, queue_timeout: float, req_timeout: float, **kwargs) -> None:  # type: ignore[override]
        """icrawler's parser loop, minus its per-page log lines and with failures counted."""
        for url in taken(self, "feeder_exited", queue_timeout):
            try:
                response = self.session.get(url, timeout=req_timeout)
            except requests.RequestException as exc:
                log.debug("result page %s failed: %s", url, exc)
                with self.lock:
                    self.pages_failed += 1
                    if not self.pages_ok and self.pages_failed >= GIVE_UP_AFTER_FAILED_PAGES:
                        self.signal.set(reach_max_num=True)  # the engine is down: stop this crawl
                tally("page_unreachable")
                continue
            finally:
                self.in_queue.task_done()
            with self.lock:
                self.pages_ok += response.status_code == 200
                self.pages_failed += response.status_code != 200
            for task in self.parse(response, tally, **kwargs):
                handed_on(self, task, timeout=1)

    def parse(self, response, tally: Callable[[str], None], **kwargs) -> Iterator[dict]:
        if response.status_code != 200:
            tally(f"page_http_{response.status_code}")
            return
        query = parse_qs(urlsplit(response.url).query).get(self.query_param, [""])[0]
        for task in self.parse_tasks(response, tally, **kwargs):
            yield {**task, "query": query}

    def parse_tasks(self, response, tally: Callable[[str], None], **kwargs) -> Iterable[dict]:
        del tally  # HTML result pages: `parse` tallies their HTTP errors
        return super().parse(response, **kwargs) or ()


class BingPageParser(QueryTaggingParser, BingParser):
    query_param = "q"


class BaiduPageParser(QueryTaggingParser, BaiduParser):
    query_param = "word"


class GooglePageParser(QueryTaggingParser, GoogleParser):
    query_param = "q"


class FlickrApiParser(QueryTaggingParser):
    """Flickr REST API: `photos.search` pages, then `photos.getSizes` per photo for the largest size.

    Same steps as icrawler's FlickrParser, which hard-codes the API host; here it is a setting.
    """

    query_param = "text"

    def parse_tasks(self, response, tally, apikey: str, api_url: str) -> Iterator[dict]:  # type: ignore[override]
        content = json.loads(response.content.decode("utf-8", "ignore"))
        if content.get("stat") != "ok":
            tally("page_error")
            return
        for photo in content["photos"]["photo"]:
            params = {"method": "flickr.photos.getSizes", "api_key": apikey, "photo_id": photo["id"]}
            params |= {"format": "json", "nojsoncallback": 1}
            try:
                info = self.session.get(f"{api_url}?{urlencode(params)}").json()
            except (OSError, ValueError):
                tally("page_error")
                continue
            if info.get("stat") != "ok":
                continue
            urls = {str(size["label"]).lower(): size["source"] for size in info["sizes"]["size"]}
            best = next((urls[size] for size in FLICKR_SIZES if size in urls), None)
            if best:
                yield {"file_url": best, "meta": photo}


@dataclass(frozen=True)
class Engine:
    """One search engine: how to page through its results and which parser reads them."""

    name: str
    parser: type[QueryTaggingParser]
    page_size: int
    max_results: int
    page_url: Callable[[Settings, str, int], str]  # (settings, query, offset) -> URL

    def page_urls(self, settings: Settings, queries: list[str], wanted: int) -> list[str]:
        """Result pages enough for `wanted` images per query, query by query, best queries first."""
        wanted = min(wanted, self.max_results)
        pages = max(1, math.ceil(wanted / self.page_size))
        return [
            self.page_url(settings, query, page * self.page_size)
            for query in queries
            for page in range(pages)
        ]

    def parser_kwargs(self, settings: Settings) -> dict:
        if self.name != "flickr" or settings.flickr_api_key is None:
            return {}
        return {"apikey": settings.flickr_api_key.get_secret_value(), "api_url": settings.flickr_api_url}


def _bing(settings: Settings, query: str, offset: int) -> str:
    return f"{settings.bing_url}?{urlencode({'q': query, 'first': offset})}"


def _baidu(settings: Settings, query: str, offset: int) -> str:
    params = {"tn": "resultjson_com", "ipn": "rj", "word": query, "pn": offset, "rn": 30}
    return f"{settings.baidu_url}?{urlencode(params)}"


def _google(settings: Settings, query: str, offset: int) -> str:
    params = {"q": query, "ijn": offset // 100, "start": offset, "tbs": "", "tbm": "isch"}
    return f"{settings.google_url}?{urlencode(params)}"


def _flickr(settings: Settings, query: str, offset: int) -> str:
    key = settings.flickr_api_key.get_secret_value() if settings.flickr_api_key else ""
    params = {"method": "flickr.photos.search", "api_key": key, "format": "json", "nojsoncallback": 1}
    params |= {
        "text": query,
        "sort": "relevance",
        "content_type": 1,
        "per_page": 100,
        "page": offset // 100 + 1,
    }
    return f"{settings.flickr_api_url}?{urlencode(params)}"


ENGINES: dict[str, Engine] = {
    "bing": Engine("bing", BingPageParser, 20, 1000, _bing),
    "baidu": Engine("baidu", BaiduPageParser, 30, 1000, _baidu),
    "google": Engine("google", GooglePageParser, 100, 1000, _google),
    "flickr": Engine("flickr", FlickrApiParser, 100, 4000, _flickr),
}
