"""Crawl the selected risks: every engine in order until each risk holds `max_per_risk` images."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from agrorisk_common.catalog import Risk
from agrorisk_crawler.collection import ImageCollection
from agrorisk_crawler.engines import ENGINES
from agrorisk_crawler.pipeline import RiskCrawler
from agrorisk_crawler.politeness import HostRateLimiter, PoliteSession
from agrorisk_crawler.queries import build_queries
from agrorisk_crawler.report import KEPT_OUTCOMES, CrawlReport
from agrorisk_crawler.settings import Settings

log = logging.getLogger(__name__)
OVERFETCH = 2  # ask engines for twice the missing count: many results are broken or duplicates


def crawl_risks(
    risks: Sequence[Risk],
    settings: Settings,
    collection: ImageCollection,
    console: Console | None = None,
) -> CrawlReport:
    """Collect images for each risk into the collection, one progress bar per risk (when `console`).

    An engine none of whose result pages could be fetched for a risk (down, blocked, offline) is
    skipped for the remaining risks.

    The manifest is saved after every risk and on any exit, Ctrl-C included, so a re-run resumes.
    """
    progress = Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[engine]}"),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )
    bars: dict[str, TaskID] = {}

    def advance(risk_id: str, outcome: str) -> None:
        if outcome in KEPT_OUTCOMES:
            progress.advance(bars[risk_id])

    report = CrawlReport(on_add=advance)
    session = PoliteSession(
        HostRateLimiter(settings.per_host_rate),
        timeout_s=settings.timeout_s,
        retries=settings.retries,
        backoff_s=settings.backoff_s,
        user_agent=settings.user_agent,
        pool_size=settings.threads + settings.parser_threads,
    )
    engines = [ENGINES[name] for name in settings.active_engines()]
    limit = settings.max_per_risk
    with session, progress:
        try:
            for risk in risks:
                report.start(risk.id)
                held = collection.count(risk.id)
                bars[risk.id] = progress.add_task(risk.id, total=limit, completed=min(held, limit), engine="")
                queries = build_queries(risk, settings.max_queries_per_risk)
                for engine in engines:
                    missing = limit - collection.count(risk.id)
                    if missing <= 0:
                        break
                    if engine.name in report.engines_down:
                        continue
                    progress.update(bars[risk.id], engine=engine.name)
                    crawler = RiskCrawler(engine, session, collection, risk.id, limit, settings, report)
                    crawler.crawl(engine.page_urls(settings, queries, OVERFETCH * missing))
                    if crawler.parser.pages_failed and not crawler.parser.pages_ok:
                        report.engines_down.add(engine.name)
                        log.warning(
                            "%s: none of %d result pages could be fetched; skipped for the other risks",
                            engine.name,
                            crawler.parser.pages_failed,
                        )
                progress.update(bars[risk.id], engine="done")
                collection.save()
        finally:
            collection.save()
    return report
