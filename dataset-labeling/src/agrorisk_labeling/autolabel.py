"""Auto-labelling of a pool: every image gets boxes of its weak class from the first labeller that finds any."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from agrorisk_common.aio import run_sync
from agrorisk_labeling.labellers import Labeller
from agrorisk_labeling.labels import PRIORITY, ImageLabels, LabelSource, LabelStore
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, read_manifest

log = logging.getLogger(__name__)
AUTO_PRIORITY = max(PRIORITY[LabelSource.YOLO], PRIORITY[LabelSource.GEMINI])


class AutolabelSummary(BaseModel):
    labelled: int = 0
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

    Human and imported labels are never touched. Writes the labels manifest beside the pool manifest.
    """
    frame = read_manifest(manifest).drop_duplicates("sha256")
    if only_sha256 is not None:
        frame = frame[frame["sha256"].isin(only_sha256)]
    images_dir = images_dir or images_dir_of(manifest)
    store = LabelStore.load(labels_path or labels_path_of(manifest))
    summary = AutolabelSummary(labels_path=str(store.path))
    sources: Counter[str] = Counter()

    async def run() -> None:
        for done, row in enumerate(frame.itertuples(index=False), start=1):
            current = store.get(row.sha256)
            keep = current is not None and (current.priority > AUTO_PRIORITY or not relabel)
            path = images_dir / row.file
            if keep:
                summary.kept_existing += 1
            elif not path.is_file():
                summary.missing_files.append(row.file)
            else:
                source, boxes = await label_image(labellers, path.read_bytes(), row.risk_id)
                if source is not None:
                    store.put(ImageLabels(sha256=row.sha256, file=row.file, source=source, boxes=boxes))
                    summary.labelled += 1
                    sources[source.value] += 1
            if on_progress:
                on_progress(done, len(frame))

    run_sync(run())
    store.save()
    summary.by_source = dict(sources)
    return summary
