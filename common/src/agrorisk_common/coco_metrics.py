"""COCO-style detection metrics by pycocotools, the reference implementation that papers and
Ultralytics' `save_json` evaluation use: mAP@0.5, mAP@0.5:0.95 and the one-to-one matches at
IoU 0.5 that precision and recall are counted from."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from agrorisk_common.detection import Detection

# An image without a known size is scored in normalised coordinates scaled by this: IoU does not
# depend on the scale; only COCO's small/medium/large split (not reported here) would.
_UNKNOWN_SIZE = 1000


@dataclass(frozen=True)
class ScoredImage:
    """Ground truth and detections of one image, boxes normalised; size in pixels when known."""

    ground_truth: Sequence[Detection]
    detections: Sequence[Detection]
    width: int | None = None
    height: int | None = None


@dataclass
class CocoResult:
    ap50: dict[str, float | None] = field(default_factory=dict)  # None: class has no ground truth
    ap50_95: dict[str, float | None] = field(default_factory=dict)
    # detection hit flags per image (index-aligned with the detections given), at the match IoU
    hits: list[list[bool]] = field(default_factory=list)
    matched_ious: list[float] = field(default_factory=list)


def _xywh(det: Detection, width: int, height: int) -> list[float]:
    b = det.box
    return [b.x1 * width, b.y1 * height, (b.x2 - b.x1) * width, (b.y2 - b.y1) * height]


def coco_evaluate(
    images: Sequence[ScoredImage],
    risk_ids: Sequence[str],
    *,
    max_det: int = 300,
    match_iou: float = 0.5,
) -> CocoResult:
    """Score detections against ground truth with COCOeval (bbox). Classes outside `risk_ids`
    found in the data are scored too (after them)."""
    names = list(
        dict.fromkeys([*risk_ids, *(d.risk_id for im in images for d in (*im.ground_truth, *im.detections))])
    )
    cat = {name: i + 1 for i, name in enumerate(names)}
    gt = {"images": [], "annotations": [], "categories": [{"id": i, "name": n} for n, i in cat.items()]}
    dt: list[dict] = []
    det_ids: list[list[int]] = []
    for image_id, im in enumerate(images, start=1):
        w, h = im.width or _UNKNOWN_SIZE, im.height or _UNKNOWN_SIZE
        gt["images"].append({"id": image_id, "width": w, "height": h})
        for g in im.ground_truth:
            box = _xywh(g, w, h)
            gt["annotations"].append(
                {"id": len(gt["annotations"]) + 1, "image_id": image_id, "category_id": cat[g.risk_id],
                 "bbox": box, "area": box[2] * box[3], "iscrowd": 0}
            )  # fmt: skip
        ids = []
        for d in im.detections:
            dt.append({"id": len(dt) + 1, "image_id": image_id, "category_id": cat[d.risk_id],
                       "bbox": _xywh(d, w, h), "score": d.confidence})  # fmt: skip
            ids.append(len(dt))
        det_ids.append(ids)
    result = CocoResult(hits=[[False] * len(ids) for ids in det_ids])
    if not gt["annotations"] and not dt:
        result.ap50 = dict.fromkeys(names)
        result.ap50_95 = dict.fromkeys(names)
        return result
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
        coco_gt = COCO()
        coco_gt.dataset = gt  # pyright: ignore[reportAttributeAccessIssue]  # stub requires unused fields
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dt) if dt else COCO()  # pyright: ignore[reportArgumentType]  # stub omits list input
        if not dt:
            coco_dt.dataset = {"images": gt["images"], "annotations": [], "categories": gt["categories"]}
            coco_dt.createIndex()
        evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluator.params.maxDets = [1, 10, max_det]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"]  # [iou thresholds, recall points, classes, areas, maxDets]
    iou_thrs = evaluator.params.iouThrs
    t50 = int(np.argmin(np.abs(iou_thrs - 0.5)))
    n_gt = {n: 0 for n in names}
    for a in gt["annotations"]:
        n_gt[names[a["category_id"] - 1]] += 1
    for k, name in enumerate(names):
        if not n_gt[name]:
            result.ap50[name] = result.ap50_95[name] = None
            continue
        p = precision[:, :, k, 0, -1]
        result.ap50[name] = float(np.mean(np.where(p[t50] > -1, p[t50], 0.0)))
        result.ap50_95[name] = float(np.mean(np.where(p > -1, p, 0.0)))
    _collect_matches(evaluator, images, det_ids, match_iou, result)
    return result


def _collect_matches(
    evaluator: COCOeval,
    images: Sequence[ScoredImage],
    det_ids: list[list[int]],
    match_iou: float,
    result: CocoResult,
) -> None:
    """Hit flags and matched-pair IoUs at `match_iou` from COCOeval's own per-image matching."""
    t = int(np.argmin(np.abs(evaluator.params.iouThrs - match_iou)))
    if abs(evaluator.params.iouThrs[t] - match_iou) > 1e-9:
        raise ValueError(f"match IoU {match_iou} is not one of COCO's thresholds 0.50:0.05:0.95")
    matched: dict[int, int] = {}
    for entry in evaluator.evalImgs:
        if entry is None or entry["aRng"] != evaluator.params.areaRng[0]:
            continue
        for det_id, gt_id in zip(entry["dtIds"], entry["dtMatches"][t], strict=True):
            if gt_id > 0:
                matched[int(det_id)] = int(gt_id)
    anns = evaluator.cocoGt.anns
    for i, ids in enumerate(det_ids):
        for j, det_id in enumerate(ids):
            gt_id = matched.get(det_id)
            if gt_id is None:
                continue
            result.hits[i][j] = True
            w, h = images[i].width or _UNKNOWN_SIZE, images[i].height or _UNKNOWN_SIZE
            d = images[i].detections[j]
            result.matched_ious.append(_iou_xywh(_xywh(d, w, h), anns[gt_id]["bbox"]))


def _iou_xywh(a: Sequence[float], b: Sequence[float]) -> float:
    return float(coco_mask.iou([list(a)], [list(b)], [0])[0][0])  # pyright: ignore[reportArgumentType]  # stub omits xywh boxes
