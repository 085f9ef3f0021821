"""Pool statistics: per risk, how many images, how many synthetic, negatives, waiting for review, and who
labelled them."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from pydantic import BaseModel

from agrorisk_labeling.labels import LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import labels_path_of, manifest_rows, read_manifest


class RiskStats(BaseModel):
    risk_id: str
    images: int = 0
    synthetic: int = 0
    unlabelled: int = 0
    negatives: int = 0
    needs_review: int = 0
    by_source: dict[str, int] = {}


def pool_stats(manifest: Path) -> list[RiskStats]:
    frame = read_manifest(manifest).drop_duplicates("sha256")
    store = LabelStore.load(labels_path_of(manifest))
    stats: dict[str, RiskStats] = {}
    sources: dict[str, Counter[str]] = defaultdict(Counter)
    for row in manifest_rows(frame):
        item = stats.setdefault(row.risk_id, RiskStats(risk_id=row.risk_id))
        item.images += 1
        item.synthetic += bool(row.synthetic)
        labels = store.get(row.sha256)
        if labels is None:
            item.unlabelled += 1
        elif labels.status == LabelStatus.NEEDS_REVIEW:
            item.needs_review += 1
        else:
            item.negatives += labels.status == LabelStatus.NEGATIVE
            sources[row.risk_id][labels.source.value] += 1
    for risk_id, item in stats.items():
        item.by_source = {
            s.value: sources[risk_id][s.value] for s in LabelSource if sources[risk_id][s.value]
        }
    return sorted(stats.values(), key=lambda s: s.risk_id)
