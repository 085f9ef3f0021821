"""Label Studio round trip: project from the catalog, tasks with auto-labels as predictions, export back.

Tasks are keyed by the image sha256 in their data, so pushing again never duplicates a task, and a
human annotation pulled back always replaces auto-labels in the labels manifest. Images no labeller
could box carry `data.review = "needs review"`; a submitted annotation without boxes is a negative.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from pydantic import BaseModel

from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import ImageLabels, LabelBox, LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import (
    ManifestRow,
    images_dir_of,
    labels_path_of,
    manifest_rows,
    read_manifest,
)
from agrorisk_labeling.settings import Settings

FROM_NAME, TO_NAME = "label", "image"
NEEDS_REVIEW = "needs review"  # data.review of tasks no labeller could box
IMPORT_CHUNK = 200


class PushSummary(BaseModel):
    project_id: int
    created: int
    already_there: int


class PullSummary(BaseModel):
    project_id: int
    human_labelled: int
    without_annotation: int
    unknown_images: int


def _colour(risk_id: str) -> str:
    return "#" + hashlib.sha256(risk_id.encode()).hexdigest()[:6]


def label_config(risk_ids: Sequence[str]) -> str:
    """RectangleLabels config with one label per risk id (the id is what exports carry)."""
    labels = "\n".join(
        f"    <Label value={quoteattr(r)} background={quoteattr(_colour(r))}/>" for r in risk_ids
    )
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image" zoom="true"/>\n'
        f'  <RectangleLabels name="{FROM_NAME}" toName="{TO_NAME}">\n{labels}\n  </RectangleLabels>\n'
        "</View>\n"
    )


def boxes_to_result(boxes: Iterable[LabelBox], width: int | None, height: int | None) -> list[dict]:
    """Our normalised boxes as Label Studio rectangle results (percent of the image)."""
    result = []
    for box in boxes:
        item = {
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "rectanglelabels",
            "value": {
                "x": box.x1 * 100,
                "y": box.y1 * 100,
                "width": (box.x2 - box.x1) * 100,
                "height": (box.y2 - box.y1) * 100,
                "rotation": 0,
                "rectanglelabels": [box.risk_id],
            },
        }
        if width and height:
            item |= {"original_width": width, "original_height": height}
        result.append(item)
    return result


def result_to_boxes(result: Iterable[dict], source: LabelSource, confidence: float = 1.0) -> list[LabelBox]:
    """Rectangle results of an annotation as our boxes (other result types are ignored)."""
    boxes = []
    for item in result:
        if item.get("type") != "rectanglelabels":
            continue
        value = item["value"]
        x, y, w, h = (float(value[k]) / 100 for k in ("x", "y", "width", "height"))
        for risk_id in value.get("rectanglelabels", []):
            boxes.append(
                LabelBox(
                    risk_id=risk_id, x1=x, y1=y, x2=x + w, y2=y + h, confidence=confidence, source=source
                )
            )
    return boxes


def latest_annotation(task: dict) -> dict | None:
    """The newest finished (not cancelled) annotation of an exported task."""
    done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
    return max(done, key=lambda a: (a.get("updated_at") or "", a.get("id") or 0), default=None)


def connect(settings: Settings):
    """A Label Studio SDK client authenticated with a personal access token."""
    from label_studio_sdk import LabelStudio

    key = settings.label_studio_api_key.get_secret_value()
    if not key:
        raise LabelingError(
            "Label Studio needs a personal access token: set AGRORISK_LABELING_LABEL_STUDIO_API_KEY"
        )
    return LabelStudio(base_url=settings.label_studio_url, api_key=key)


def _call(what: str, settings: Settings, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # httpx and SDK ApiError both mean the server said no or is down
        detail = getattr(exc, "body", None) or exc
        raise LabelingError(f"Label Studio at {settings.label_studio_url}: {what} failed: {detail}") from None


def ensure_project(client, settings: Settings, risk_ids: Sequence[str]) -> int:
    """The project titled `settings.label_studio_project`, created or its label config updated."""
    config = label_config(risk_ids)
    projects = _call("listing projects", settings, lambda: list(client.projects.list()))
    project = next((p for p in projects if p.title == settings.label_studio_project), None)
    if project is None:
        project = _call(
            "creating the project",
            settings,
            client.projects.create,
            title=settings.label_studio_project,
            label_config=config,
        )
    elif (project.label_config or "").strip() != config.strip():
        _call(
            "updating the label config", settings, client.projects.update, id=project.id, label_config=config
        )
    return project.id


def ensure_local_storage(
    client, settings: Settings, project_id: int, images_dir: Path, _files_root: Path
) -> None:
    """Connect the images folder as local-files storage so Label Studio may serve it."""
    path = str(images_dir.resolve())
    storages = _call("listing storages", settings, client.import_storage.local.list, project=project_id)
    if not any(s.path == path for s in storages):
        _call(
            "adding local-files storage",
            settings,
            client.import_storage.local.create,
            project=project_id,
            path=path,
            use_blob_urls=False,
            title="AgroRisk images",
        )


def image_url(file: str, images_dir: Path, files_root: Path) -> str:
    """URL under which Label Studio's local-files serving returns an image of the pool."""
    try:
        relative = (images_dir.resolve() / file).relative_to(files_root.resolve())
    except ValueError:
        raise LabelingError(
            f"images folder {images_dir} is outside the Label Studio files root {files_root} "
            "(LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT / AGRORISK_LABELING_LABEL_STUDIO_FILES_ROOT)"
        ) from None
    return f"/data/local-files/?d={quote(relative.as_posix())}"


def existing_sha256(client, settings: Settings, project_id: int) -> set[str]:
    tasks = _call(
        "listing tasks", settings, lambda: list(client.tasks.list(project=project_id, fields="all"))
    )
    return {t.data.get("sha256") for t in tasks if t.data and t.data.get("sha256")}


def build_task(row: ManifestRow, labels: ImageLabels | None, url: str) -> dict:
    """One task: the image, its weak class, and its labels (human labels as an annotation); marked
    needs review when no labeller could box it."""
    width = int(row.width) if str(row.width).isdigit() else None
    height = int(row.height) if str(row.height).isdigit() else None
    task: dict = {"data": {"image": url, "sha256": row.sha256, "risk_id": row.risk_id, "file": row.file}}
    if labels and labels.status == LabelStatus.NEEDS_REVIEW:
        task["data"]["review"] = NEEDS_REVIEW
    if labels and labels.boxes:
        result = boxes_to_result(labels.boxes, width, height)
        if labels.source == LabelSource.HUMAN:
            task["annotations"] = [{"result": result}]
        else:
            versions = {b.model_version for b in labels.boxes if b.model_version}
            score = sum(b.confidence for b in labels.boxes) / len(labels.boxes)
            version = labels.source.value + (f":{sorted(versions)[0]}" if versions else "")
            task["predictions"] = [{"model_version": version, "score": round(score, 4), "result": result}]
            first = labels.boxes[0]
            if first.prompt or first.cost_usd is not None:  # a model asked with a prompt (Gemini): for review
                task["data"]["labelled_by"] = version
                task["data"]["prompt_sha256"] = first.prompt or ""
                task["data"]["cost_usd"] = f"{first.cost_usd or 0:.6f}"
    return task


def push(settings: Settings, risk_ids: Sequence[str], manifest: Path | None = None) -> PushSummary:
    """Create/update the project and import every pool image that is not a task yet."""
    manifest = manifest or settings.manifest
    images_dir = images_dir_of(manifest)
    files_root = settings.label_studio_files_root or images_dir
    frame = read_manifest(manifest).drop_duplicates("sha256")
    store = LabelStore.load(labels_path_of(manifest))
    client = connect(settings)
    project_id = ensure_project(client, settings, risk_ids)
    ensure_local_storage(client, settings, project_id, images_dir, files_root)
    known = existing_sha256(client, settings, project_id)
    tasks = [
        build_task(row, store.get(row.sha256), image_url(row.file, images_dir, files_root))
        for row in manifest_rows(frame)
        if row.sha256 not in known
    ]
    for start in range(0, len(tasks), IMPORT_CHUNK):
        _call(
            "importing tasks",
            settings,
            client.projects.import_tasks,
            id=project_id,
            request=tasks[start : start + IMPORT_CHUNK],
        )
    return PushSummary(project_id=project_id, created=len(tasks), already_there=len(frame) - len(tasks))


def export_tasks(client, settings: Settings, project_id: int) -> list[dict]:
    chunks = _call(
        "exporting",
        settings,
        lambda: b"".join(
            client.projects.exports.download_sync(id=project_id, export_type="JSON", download_all_tasks=True)
        ),
    )
    return json.loads(chunks)


def apply_export(tasks: Iterable[dict], store: LabelStore, known_files: dict[str, str]) -> PullSummary:
    """Put every finished human annotation into the store; they outrank any auto or imported label.
    One without boxes says the image shows no risk: a negative."""
    human = missing = unknown = 0
    for task in tasks:
        sha = (task.get("data") or {}).get("sha256")
        annotation = latest_annotation(task)
        if annotation is None:
            missing += 1
            continue
        if sha not in known_files:
            unknown += 1
            continue
        boxes = result_to_boxes(annotation.get("result", []), LabelSource.HUMAN)
        updated = annotation.get("updated_at") or datetime.now(UTC).isoformat(timespec="seconds")
        status = LabelStatus.BOXED if boxes else LabelStatus.NEGATIVE
        store.put(
            ImageLabels(
                sha256=sha,
                file=known_files[sha],
                source=LabelSource.HUMAN,
                boxes=boxes,
                status=status,
                updated_at=updated,
            )
        )
        human += 1
    return PullSummary(project_id=0, human_labelled=human, without_annotation=missing, unknown_images=unknown)


def pull(settings: Settings, manifest: Path | None = None) -> PullSummary:
    """Export the project and merge human annotations into the labels manifest."""
    manifest = manifest or settings.manifest
    frame = read_manifest(manifest).drop_duplicates("sha256")
    client = connect(settings)
    projects = _call("listing projects", settings, lambda: list(client.projects.list()))
    project = next((p for p in projects if p.title == settings.label_studio_project), None)
    if project is None:
        raise LabelingError(
            f"no Label Studio project titled {settings.label_studio_project!r}: run `studio push` first"
        )
    store = LabelStore.load(labels_path_of(manifest))
    summary = apply_export(
        export_tasks(client, settings, project.id),
        store,
        dict(zip(frame["sha256"], frame["file"], strict=True)),
    )
    store.save()
    return summary.model_copy(update={"project_id": project.id})
