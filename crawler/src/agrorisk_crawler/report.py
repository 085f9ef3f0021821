"""What a crawl did, per risk: kept, duplicates, skipped, rejected by reason, and its summary table."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable

from rich.table import Table

from agrorisk_crawler.collection import DUPLICATE, KEPT, KEPT_CROSS_RISK, LIMIT_REACHED, NEAR_DUPLICATE

ALREADY_HAVE = "already_have"  # the URL is in the manifest for this risk: not downloaded again
SEEN_URL = "seen_url"  # the URL came up again in this run (another query or engine)
KEPT_OUTCOMES = frozenset({KEPT, KEPT_CROSS_RISK})
DUPLICATE_OUTCOMES = frozenset({DUPLICATE, NEAR_DUPLICATE})
SKIPPED_OUTCOMES = frozenset({ALREADY_HAVE, SEEN_URL, LIMIT_REACHED})


class CrawlReport:
    """Thread-safe outcome counts per risk; `on_add(risk_id, outcome)` is called for each one."""

    def __init__(self, on_add: Callable[[str, str], None] | None = None):
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._lock = threading.Lock()
        self._on_add = on_add
        self.engines_down: set[str] = set()

    def add(self, risk_id: str, outcome: str) -> None:
        with self._lock:
            self._counts[risk_id][outcome] += 1
        if self._on_add:
            self._on_add(risk_id, outcome)

    def start(self, risk_id: str) -> None:
        """List a risk even if nothing happens to it (e.g. it is already full)."""
        with self._lock:
            self._counts[risk_id].update()

    @property
    def risk_ids(self) -> list[str]:
        return list(self._counts)

    def counts(self, risk_id: str) -> Counter[str]:
        with self._lock:
            return Counter(self._counts.get(risk_id, Counter()))

    def kept(self, risk_id: str | None = None) -> int:
        return self._total(risk_id, KEPT_OUTCOMES)

    def duplicates(self, risk_id: str | None = None) -> int:
        return self._total(risk_id, DUPLICATE_OUTCOMES)

    def rejected(self, risk_id: str | None = None) -> Counter[str]:
        """Rejected image downloads by reason (HTTP errors, timeouts, invalid or too small images)."""
        ids = [risk_id] if risk_id else self.risk_ids
        total: Counter[str] = Counter()
        for rid in ids:
            total.update(
                {
                    k: v
                    for k, v in self.counts(rid).items()
                    if k not in KEPT_OUTCOMES | DUPLICATE_OUTCOMES | SKIPPED_OUTCOMES
                    and not k.startswith("page_")
                }
            )
        return total

    def page_errors(self, risk_id: str | None = None) -> int:
        ids = [risk_id] if risk_id else self.risk_ids
        return sum(v for rid in ids for k, v in self.counts(rid).items() if k.startswith("page_"))

    def _total(self, risk_id: str | None, outcomes: frozenset[str]) -> int:
        ids = [risk_id] if risk_id else self.risk_ids
        return sum(self.counts(rid)[o] for rid in ids for o in outcomes)

    def table(self, held: Callable[[str], int]) -> Table:
        """The summary: one row per risk and a total row; `held(risk_id)` is the count now on disk.

        flagged = kept but also found for another risk; dupl. = exact + near duplicates;
        skipped = URL already held, repeated in this run, or the risk was full.
        """
        table = Table(title="Crawl summary")
        table.add_column("risk", no_wrap=True, min_width=max([len(r) for r in self.risk_ids] + [5]))
        for name in ("held", "kept", "flagged", "dupl.", "skipped", "rejected"):
            table.add_column(name, justify="right")
        table.add_column("reasons", min_width=10)
        for risk_id in [*self.risk_ids, None]:
            counts = self.counts(risk_id) if risk_id else Counter()
            if risk_id is None:
                for rid in self.risk_ids:
                    counts.update(self.counts(rid))
            rejected = self.rejected(risk_id)
            page_errors = self.page_errors(risk_id)
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items()))
            if page_errors:
                reasons = ", ".join(filter(None, [reasons, f"result pages failed {page_errors}"]))
            table.add_row(
                risk_id or "[bold]total[/bold]",
                str(held(risk_id)) if risk_id else str(sum(held(r) for r in self.risk_ids)),
                str(self.kept(risk_id)),
                str(counts[KEPT_CROSS_RISK]),
                str(self.duplicates(risk_id)),
                str(sum(counts[o] for o in SKIPPED_OUTCOMES)),
                str(sum(rejected.values())),
                reasons,
                end_section=risk_id == self.risk_ids[-1] if self.risk_ids else False,
            )
        return table
