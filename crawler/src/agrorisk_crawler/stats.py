"""Images per risk from the manifest, and which risks are below a target (for Stable Diffusion top-up)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel


class RiskCount(BaseModel):
    risk_id: str
    crawled: int
    synthetic: int
    cross_risk_flagged: int

    @property
    def total(self) -> int:
        return self.crawled + self.synthetic


class CollectionStats(BaseModel):
    target: int
    risks: list[RiskCount]

    @property
    def under_target(self) -> dict[str, int]:
        """Risk id -> images missing to reach the target, for every risk below it."""
        return {r.risk_id: self.target - r.total for r in self.risks if r.total < self.target}


def collection_stats(rows: Iterable[dict], risk_ids: Iterable[str], target: int) -> CollectionStats:
    """Counts for the given risks, in that order (zero for a risk the manifest lacks)."""
    crawled: Counter[str] = Counter()
    synthetic: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    for row in rows:
        (synthetic if row["synthetic"] else crawled)[row["risk_id"]] += 1
        if row["cross_risk_duplicate_of"]:
            flagged[row["risk_id"]] += 1
    ids = list(dict.fromkeys(risk_ids))
    return CollectionStats(
        target=target,
        risks=[
            RiskCount(risk_id=r, crawled=crawled[r], synthetic=synthetic[r], cross_risk_flagged=flagged[r])
            for r in ids
        ],
    )
