"""icrawler's feeder -> parser -> downloader pipeline for one risk and one engine.

`RiskCrawler` is an icrawler `Crawler` with our page feeder, the engine's parser and a downloader
that validates, hashes and offers each image to the `ImageCollection` instead of numbering files.
It polls its threads every 50 ms (icrawler's own loop polls every second and idles up to 5 s at
the end of each crawl, which dominates short polite crawls).
"""

from __future__ import annotations

import json
import logging
import time
from queue import Full, Queue
from typing import override

import requests
from icrawler import Crawler, ImageDownloader
from icrawler.utils.cached_queue import CachedQueue
from urllib3.exceptions import ReadTimeoutError

from agrorisk_crawler.collection import LIMIT_REACHED, ImageCollection
from agrorisk_crawler.engines import Engine, PageListFeeder, QueryTaggingParser
from agrorisk_crawler.handoff import taken
from agrorisk_crawler.politeness import PoliteSession
from agrorisk_crawler.report import ALREADY_HAVE, KEPT_OUTCOMES, SEEN_URL, CrawlReport
from agrorisk_crawler.settings import Settings
from agrorisk_crawler.validation import Rejected, validate_image

POLL_S = 0.05
_CHUNK = 64 * 1024
ICRAWLER_LOGGERS = ("icrawler", "feeder", "parser", "downloader")


class TaskQueue(CachedQueue):
    """icrawler's de-duplicating queue, minus its bug: a put that times out (queue full) used to
    leave the item marked as seen, so the caller's retry dropped it silently."""

    def put(self, item, block=True, timeout=None, dup_callback=None):
        if self.is_duplicated(item):
            if dup_callback:
                dup_callback(item)
            return
        try:
            Queue.put(self, item, block, timeout)
        except Full:
            self._cache.pop(json.dumps(item, sort_keys=True) if isinstance(item, dict) else item, None)
            raise


class CollectingDownloader(ImageDownloader):
    """Downloads each task's image and hands it to the collection; counts every outcome."""

    def __init__(
        self,
        thread_num,
        signal,
        session,
        storage,
        *,
        collection: ImageCollection,
        risk_id: str,
        engine: str,
        limit: int,
        settings: Settings,
        report: CrawlReport,
    ):
        super().__init__(thread_num, signal, session, storage)
        self.collection, self.risk_id, self.engine, self.limit = collection, risk_id, engine, limit
        self.settings, self.report = settings, report
        self._attempted: set[str] = set()

    @override
    def worker_exec(self, queue_timeout: float = POLL_S, **kwargs) -> None:  # type: ignore[override]
        """Take tasks until the risk is full, or the parsers are done and the queue is empty."""
        for task in taken(self, "parser_exited", queue_timeout):
            try:
                self.download(task, default_ext="jpg")
            finally:
                self.in_queue.task_done()

    @override
    def download(self, task, default_ext, timeout=None, max_retry=0, overwrite=False, **kwargs) -> None:  # type: ignore[override]
        outcome = self._fetch_and_offer(task["file_url"], task.get("query", ""))
        self.report.add(self.risk_id, outcome)
        task["success"] = outcome in KEPT_OUTCOMES
        if task["success"]:
            with self.lock:
                self.fetched_num += 1
        if self.collection.count(self.risk_id) >= self.limit:
            self.signal.set(reach_max_num=True)

    def _fetch_and_offer(self, url: str, query: str) -> str:
        if self.collection.knows_url(self.risk_id, url):
            return ALREADY_HAVE
        with self.lock:
            if url in self._attempted:
                return SEEN_URL
            self._attempted.add(url)
        if self.collection.count(self.risk_id) >= self.limit:
            return LIMIT_REACHED
        try:
            data = self._fetch(url)
            image = validate_image(
                data, self.settings.min_side, self.settings.max_bytes, self.settings.max_pixels
            )
        except Rejected as exc:
            return exc.reason
        return self.collection.offer(
            self.risk_id, image, query=query, engine=self.engine, source_url=url, limit=self.limit
        )

    def _fetch(self, url: str) -> bytes:
        """The body of a 200 response, read up to the size limit; Rejected with a reason otherwise."""
        try:
            with self.session.get(url, stream=True) as response:
                if response.status_code != 200:
                    raise Rejected(f"http_{response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(_CHUNK):
                    body += chunk
                    if len(body) > self.settings.max_bytes:
                        raise Rejected("too_large")
                return bytes(body)
        except requests.Timeout:
            raise Rejected("timeout") from None
        except requests.ConnectionError as exc:
            timed_out = any(isinstance(arg, ReadTimeoutError) for arg in exc.args)
            raise Rejected("timeout" if timed_out else "connection_error") from None
        except requests.RequestException:
            raise Rejected("bad_url") from None


class RiskCrawler(Crawler):
    """One engine's result pages for one risk, through icrawler's threads, into the collection."""

    parser: QueryTaggingParser

    def __init__(
        self,
        engine: Engine,
        session: PoliteSession,
        collection: ImageCollection,
        risk_id: str,
        limit: int,
        settings: Settings,
        report: CrawlReport,
    ):
        self._shared_session = session
        self.engine, self.settings, self.report, self.risk_id = engine, settings, report, risk_id
        super().__init__(
            feeder_cls=PageListFeeder,
            parser_cls=engine.parser,
            downloader_cls=CollectingDownloader,
            parser_threads=settings.parser_threads,
            downloader_threads=settings.threads,
            storage=collection.files,
            extra_downloader_args={
                "collection": collection,
                "risk_id": risk_id,
                "engine": engine.name,
                "limit": limit,
                "settings": settings,
                "report": report,
            },
        )
        self.feeder.out_queue = self.parser.in_queue = TaskQueue(5 * self.feeder.thread_num)
        self.parser.out_queue = self.downloader.in_queue = TaskQueue(5 * self.downloader.thread_num)

    @override
    def set_logger(self, log_level=logging.INFO) -> None:
        """No basicConfig (the CLI owns logging); icrawler's per-URL INFO lines are silenced, errors stay."""
        for name in ICRAWLER_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self.logger = logging.getLogger("icrawler")

    @override
    def set_session(self, headers=None) -> None:
        self.session = self._shared_session  # one session, so the per-host rate limit is global

    def crawl(self, page_urls: list[str]) -> None:  # type: ignore[override]
        """Run until the risk is full or every page and image is done."""
        self.signal.reset()
        self.feeder.start(page_urls=page_urls)
        self.parser.start(
            queue_timeout=POLL_S,
            req_timeout=self.settings.timeout_s,
            tally=lambda outcome: self.report.add(self.risk_id, outcome),
            **self.engine.parser_kwargs(self.settings),
        )
        self.downloader.start(queue_timeout=POLL_S)
        while self.downloader.is_alive():
            if not self.feeder.is_alive():
                self.signal.set(feeder_exited=True)
            if not self.parser.is_alive():
                self.signal.set(parser_exited=True)
            time.sleep(POLL_S)
