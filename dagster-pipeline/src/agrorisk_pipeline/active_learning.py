"""Active learning: photos where Gemini and the local model disagree, or that users marked wrong,
become Label Studio tasks with both predictions as pre-annotations.

The photos are added to the labelling pool first, so a reviewed task pulled back by
`agrorisk_labeling.studio.pull` lands in the labels manifest and the next dataset version.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agrorisk_common.detection import Detection, match_by_iou
from agrorisk_common.prediction_log import LOCAL_SOURCES

log = logging.getLogger(__name__)


class QueueItem(BaseModel):
    image_sha256: str
    image_path: str
    reason: str
    weak_risk_id: str
    predictions: dict[str, list[Detection]]  # source -> detections
    model_versions: dict[str, str | None]


def disagree(local: list[Detection], gemini: list[Detection], iou_threshold: float = 0.5) -> bool:
    """True when some box of one side has no box of the same risk on the other side."""
    _, unmatched_local, unmatched_gemini = match_by_iou(local, gemini, iou_threshold, same_risk_only=True)
    return bool(unmatched_local or unmatched_gemini)


def _resolve(path: str | None, base: Path) -> Path | None:
    if not path:
        return None
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def _top(detections: list[Detection]) -> str | None:
    return max(detections, key=lambda d: d.confidence).risk_id if detections else None


def select_for_review(
    records: Iterable[dict[str, Any]], feedback: Iterable[dict[str, Any]], log_dir: Path, feedback_dir: Path
) -> list[QueueItem]:
    """Disagreements of a local model and Gemini on one photo, then photos with negative feedback."""
    by_image: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for record in records:
        source = "gemini" if record.get("source") == "gemini" else "local"
        if record.get("source") in LOCAL_SOURCES or source == "gemini":
            by_image[record["image_sha256"]][source] = record
    items: dict[str, QueueItem] = {}

    def item(sha: str, image: Path | None, reason: str, weak: str | None) -> None:
        if sha in items or image is None or not image.is_file():
            return
        sources = by_image.get(sha, {})
        predictions = {
            s: [Detection.model_validate(d) for d in r.get("detections", [])] for s, r in sources.items()
        }
        guess = weak or next((t for t in (_top(p) for p in predictions.values()) if t), None)
        items[sha] = QueueItem(
            image_sha256=sha, image_path=str(image), reason=reason, weak_risk_id=guess or "",
            predictions=predictions, model_versions={s: r.get("model_version") for s, r in sources.items()},
        )  # fmt: skip

    for sha, sources in by_image.items():
        if {"local", "gemini"} <= sources.keys():
            local, gemini = (
                [Detection.model_validate(d) for d in sources[s].get("detections", [])]
                for s in ("local", "gemini")
            )
            if not sources["gemini"].get("error") and disagree(local, gemini):
                record = sources["local"]
                item(
                    sha, _resolve(record.get("image_path"), log_dir), "gemini and local model disagree", None
                )
    for entry in feedback:
        if entry.get("verdict") == "wrong":
            item(
                entry["image_sha256"], _resolve(entry.get("image_file"), feedback_dir),
                f"user feedback: wrong ({entry.get('source', 'both')})", entry.get("correct_risk_id"),
            )  # fmt: skip
    return list(items.values())


def read_feedback(feedback_dir: Path) -> list[dict[str, Any]]:
    """Feedback records of the backend's feedback store (`<day>/<id>.json`), oldest first."""
    if not feedback_dir.is_dir():
        return []
    entries = []
    for path in sorted(feedback_dir.glob("*/*.json")):
        try:
            entries.append(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, OSError) as exc:
            log.warning("skipping unreadable feedback %s: %s", path, exc)
    return entries


def studio_task(item: QueueItem, sha256: str, file: str, url: str) -> dict[str, Any]:
    """A Label Studio task keyed by sha256 (as `agrorisk_labeling.studio` keys them), one prediction per model."""
    from agrorisk_labeling.labels import LabelBox, LabelSource
    from agrorisk_labeling.studio import boxes_to_result

    predictions = []
    for source, detections in item.predictions.items():
        boxes = [
            LabelBox.from_detection(d, LabelSource.GEMINI if source == "gemini" else LabelSource.YOLO)
            for d in detections
        ]
        score = sum(b.confidence for b in boxes) / len(boxes) if boxes else 0.0
        version = f"{source}:{item.model_versions.get(source) or 'unknown'}"
        predictions.append(
            {"model_version": version, "score": round(score, 4), "result": boxes_to_result(boxes, None, None)}
        )
    data = {
        "image": url,
        "sha256": sha256,
        "risk_id": item.weak_risk_id,
        "file": file,
        "reason": item.reason,
    }
    return {"data": data, "predictions": predictions}


def add_to_pool(items: list[QueueItem], manifest: Path) -> list[tuple[str, str]]:
    """Copy the photos into the labelling pool; returns (sha256, pool file relative to images/) per item."""
    from agrorisk_labeling.manifest import append_rows, image_row, images_dir_of

    rows = [
        image_row(Path(i.image_path).read_bytes(), i.weak_risk_id or "unreviewed", images_dir_of(manifest),
                  engine="active-learning", source_url=i.reason)
        for i in items
    ]  # fmt: skip
    append_rows(manifest, rows)
    return [(row["sha256"], row["file"]) for row in rows]


def queue_for_review(
    items: list[QueueItem], manifest: Path, labeling_settings, risk_ids: list[str], out_dir: Path
) -> dict[str, Any]:
    """Add the photos to the pool and create tasks: in Label Studio when it has a key, else in a
    JSON file for Label Studio's import dialog. Photos already queued are skipped."""
    from agrorisk_labeling import studio
    from agrorisk_labeling.manifest import images_dir_of

    out_dir.mkdir(parents=True, exist_ok=True)
    queued_file = out_dir / "queued.txt"
    queued = set(queued_file.read_text().split()) if queued_file.exists() else set()
    fresh = [i for i in items if i.image_sha256 not in queued]
    pooled = add_to_pool(fresh, manifest)
    images_dir = images_dir_of(manifest)
    files_root = labeling_settings.label_studio_files_root or images_dir
    tasks = [
        studio_task(item, sha, file, studio.image_url(file, images_dir, files_root))
        for item, (sha, file) in zip(fresh, pooled, strict=True)
    ]
    result: dict[str, Any] = {
        "selected": len(items),
        "new_tasks": len(tasks),
        "already_queued": len(items) - len(fresh),
    }
    if tasks and labeling_settings.label_studio_api_key.get_secret_value():
        client = studio.connect(labeling_settings)
        project_id = studio.ensure_project(client, labeling_settings, risk_ids)
        studio.ensure_local_storage(client, labeling_settings, project_id, images_dir, files_root)
        # The SDK types an imported prediction as PredictionRequest, which requires the `task` it will
        # belong to; Label Studio's import takes plain task dicts.
        client.projects.import_tasks(id=project_id, request=tasks)  # pyright: ignore[reportArgumentType]
        result["label_studio"] = f"{labeling_settings.label_studio_url}/projects/{project_id}"
    elif tasks:
        tasks_file = out_dir / f"tasks-{len(queued) + len(tasks):06d}.json"
        tasks_file.write_text(json.dumps(tasks, indent=1))
        result["tasks_file"] = str(tasks_file.resolve())
        log.warning(
            "Label Studio is not configured: %d tasks written to %s for manual import", len(tasks), tasks_file
        )
    queued_file.write_text("".join(f"{s}\n" for s in sorted(queued | {i.image_sha256 for i in fresh})))
    return result
