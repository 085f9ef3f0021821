"""Label sanity checks: each rejected image gets a reason a person can act on."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from agrorisk_labeling.labels import WHOLE_IMAGE_REQUESTED, ImageLabels, LabelSource, LabelStatus

MIN_BOX_PIXELS = 2.0
EDGE_TOLERANCE = 1e-3  # rounding in exported coordinates


def image_size(path: Path) -> tuple[int, int] | str:
    """(width, height) of a readable image, or the reason it is unusable."""
    if not path.is_file():
        return "image file missing"
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        return f"image unreadable: {exc}"


def label_problems(labels: ImageLabels | None, width: int, height: int, known: set[str]) -> list[str]:
    """Every reason the labels of one image cannot go into a dataset (empty list: fine).

    `known` holds the class ids the dataset may use (catalog risks and declared extra classes). An image
    explicitly labelled as a negative may have no boxes; any other image needs at least one.
    """
    if labels is None:
        return ["no labels"]
    if not labels.boxes:
        return [] if labels.status == LabelStatus.NEGATIVE else ["no boxes"]
    problems = []
    for n, box in enumerate(labels.boxes, start=1):
        x1, y1, x2, y2 = box.coords
        if box.source == LabelSource.WHOLE_IMAGE and box.model_version != WHOLE_IMAGE_REQUESTED:
            problems.append(
                f"box {n}: whole-image box nobody asked for (old default): "
                "run `agrorisk-label autolabel` again, review it, or use --whole-image"
            )
        if box.risk_id not in known:
            problems.append(f"box {n}: unknown class {box.risk_id!r}")
        if min(x1, y1) < -EDGE_TOLERANCE or max(x2, y2) > 1 + EDGE_TOLERANCE:
            problems.append(f"box {n}: outside the image {box.coords}")
        if (x2 - x1) * width < MIN_BOX_PIXELS or (y2 - y1) * height < MIN_BOX_PIXELS:
            problems.append(f"box {n}: empty or inverted {box.coords}")
    return problems
