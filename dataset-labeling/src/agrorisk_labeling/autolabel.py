"""Auto-labelling of a pool: every image gets boxes of its weak class from the first labeller that finds any,
or waits for review when none does (never a silent whole-image guess)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from agrorisk_common.aio import run_sync
from agrorisk_labeling.labellers import Labeller
from agrorisk_labeling.labels import (
    PRIORITY,
    WHOLE_IMAGE_REQUESTED,
    ImageLabels,
    LabelSource,
    LabelStatus,
    LabelStore,
)
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, manifest_rows, read_manifest

log = logging.getLogger(__name__)
AUTO_PRIORITY = max(PRIORITY[LabelSource.YOLO], PRIORITY[LabelSource.GEMINI])


class AutolabelSummary(BaseModel):
    labelled: int = 0
    needs_review: int = 0  # no labeller boxed them: they wait in Label Studio, out of every split
    kept_existing: int = 0
    missing_files: list[str] = []
    by_source: dict[str, int] = {}
    labels_path: str = ""


async def label_image(labellers: Sequence[Labeller], image: bytes, weak_risk_id: str) -> tuple:
    """(source, boxes) from the first labeller that proposes boxes; a failing labeller is skipped."""
    for labeller in labellers:
        try:
            boxes = await labeller.propose(image, weak_risk_id)
        except Exception as exc:  # a down dependency degrades to the next labeller, never stops the run
            log.warning("labeller %s failed, trying the next one: %s", labeller.source, exc)
            continue
        if boxes:
            return labeller.source, boxes
    return None, []


def _retry(current: ImageLabels | None, relabel: bool) -> bool:
    """Label again: nothing yet, still waiting for review, a whole-image box of the old default (no one
    asked for it), or an auto label when `relabel`."""
    if current is None or current.source == LabelSource.NONE:
        return True
    if current.source == LabelSource.WHOLE_IMAGE and any(
        b.model_version != WHOLE_IMAGE_REQUESTED for b in current.boxes
    ):
        return True
    return relabel and current.priority <= AUTO_PRIORITY


def autolabel(
    manifest: Path,
    labellers: Sequence[Labeller],
    images_dir: Path | None = None,
    labels_path: Path | None = None,
    relabel: bool = False,
    only_sha256: set[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> AutolabelSummary:
    """Label every image of the manifest that has no labels yet (or only auto labels with `relabel`).

    An image no labeller boxes is marked needs-review (source `none`). Human and imported labels are never
    touched. Writes the labels manifest beside the pool manifest.
    """
    frame = read_manifest(manifest).drop_duplicates("sha256")
    if only_sha256 is not None:
        frame = frame.loc[frame["sha256"].isin(list(only_sha256))]
    images_dir = images_dir or images_dir_of(manifest)
    store = LabelStore.load(labels_path or labels_path_of(manifest))
    summary = AutolabelSummary(labels_path=str(store.path))
    sources: Counter[str] = Counter()

    async def run() -> None:
        for done, row in enumerate(manifest_rows(frame), start=1):
            path = images_dir / row.file
            if not _retry(store.get(row.sha256), relabel):
                summary.kept_existing += 1
            elif not path.is_file():
                summary.missing_files.append(row.file)
            else:
                source, boxes = await label_image(labellers, path.read_bytes(), row.risk_id)
                if source is not None:
                    labels = ImageLabels(sha256=row.sha256, file=row.file, source=source, boxes=boxes)
                    summary.labelled += 1
                    sources[source.value] += 1
                else:
                    labels = ImageLabels(
                        sha256=row.sha256,
                        file=row.file,
                        source=LabelSource.NONE,
                        status=LabelStatus.NEEDS_REVIEW,
                    )
                    summary.needs_review += 1
                store.put(labels, replace=True)
            if on_progress:
                on_progress(done, len(frame))

    run_sync(run())
    store.save()
    summary.by_source = dict(sources)
    return summary
