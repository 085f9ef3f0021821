"""The dataset builder: pool (manifest + images + labels) -> YOLO dataset with data.yaml and a report.

Explicit negatives (healthy leaves) go into every split with an empty label file; images waiting for
review stay out. The report names the data sets, licences and citations of the images it holds.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import imagehash
import yaml
from PIL import Image

from agrorisk_common.catalog import Catalog, ClassMap
from agrorisk_common.detection import Box
from agrorisk_labeling.checks import image_size, label_problems
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import ImageLabels, LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, manifest_rows, read_manifest
from agrorisk_labeling.public_datasets import PublicDatasets
from agrorisk_labeling.report import BuildReport, ClassBalance, Rejected, SourceUse
from agrorisk_labeling.settings import Settings
from agrorisk_labeling.split import SPLITS, SplitItem, near_duplicate_groups, stratified_split

EXTRA_CLASSES_FILE = "extra_classes.txt"
SETTINGS_OPTIONS = {"seed", "val_fraction", "test_fraction", "phash_distance", "synthetic_max_share"}
OWNED = ("images", "labels", "data.yaml", "dataset.json", "balance.md", "rejected.csv")


def read_extra_classes(manifest: Path) -> list[str]:
    """Classes kept from imports that are not in the catalog (declared by `import --unmapped keep`)."""
    path = manifest.parent / EXTRA_CLASSES_FILE
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def choose_classes(
    catalog: Catalog, extra: Sequence[str], store: LabelStore, risk_ids: Sequence[str] | None
) -> ClassMap:
    """Explicit risk ids, else every catalog risk (in catalog order) and extra class that has a label."""
    known = [r.id for r in catalog] + [e for e in extra if e not in catalog]
    if risk_ids:
        unknown = [r for r in risk_ids if r not in known]
        if unknown:
            raise LabelingError(f"unknown risk id(s): {', '.join(unknown)}")
        return ClassMap(tuple(dict.fromkeys(risk_ids)))
    used = {box.risk_id for labels in store for box in labels.boxes}
    return ClassMap(tuple(r for r in known if r in used))


def _prepare_out_dir(out_dir: Path) -> None:
    """Empty the parts of out_dir this builder owns; refuse a non-empty folder that is not a dataset."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "dataset.json").exists():
        raise LabelingError(f"{out_dir} is not empty and holds no dataset.json: refusing to write into it")
    for name in OWNED:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _stratum(labels: ImageLabels, weak_risk_id: str) -> str:
    """The class an image is split with: its weak class when boxed so, else its commonest box class
    (a negative splits with its own weak class, e.g. healthy:apple)."""
    counts = Counter(box.risk_id for box in labels.boxes)
    if weak_risk_id in counts or not counts:
        return weak_risk_id
    return min(counts, key=lambda r: (-counts[r], r))


def _phash(path: Path, recorded: str) -> str:
    if len(recorded) == 16:
        return recorded
    with Image.open(path) as img:
        return str(imagehash.phash(img.convert("RGB")))


def yolo_lines(labels: ImageLabels, class_map: ClassMap) -> str:
    """The YOLO label text of one image; empty for a negative."""
    lines = []
    for box in labels.boxes:
        cx, cy, w, h = Box.clipped(*box.coords).to_yolo()
        lines.append(f"{class_map.index_of(box.risk_id)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return "".join(line + "\n" for line in lines)


def source_uses(rows: Sequence, datasets: PublicDatasets) -> list[SourceUse]:
    """Images per source with licence and citation: registered data sets from the registry, other
    imports by their recorded licence, crawled and synthetic images as such (licence unknown)."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row.dataset:
            name = row.dataset
        elif row.synthetic:
            name = "synthetic"
        else:
            name = "imported" if str(row.engine).startswith("import:") else "crawled"
        counts[(name, row.license or "unknown")] += 1
    uses = []
    for (name, license_), images in sorted(counts.items()):
        registered = datasets.items.get(name)
        use = SourceUse(dataset=name, images=images, license=license_)
        if registered is not None:
            url = registered.sources[0] if registered.sources else ""
            use = use.model_copy(
                update={"title": registered.title, "citation": registered.citation, "url": url}
            )
        uses.append(use)
    return uses


def content_hash(class_map: ClassMap, entries: Sequence[tuple[str, str, str]]) -> str:
    """sha256 over class names and every (split, image sha256, label text): same inputs, same hash."""
    digest = hashlib.sha256(json.dumps(list(class_map.risk_ids)).encode())
    for split, sha, text in sorted(entries):
        digest.update(f"{split}\0{sha}\0{text}\0".encode())
    return digest.hexdigest()


def build_dataset(
    manifest: Path,
    out_dir: Path,
    catalog: Catalog,
    *,
    risk_ids: Sequence[str] | None = None,
    images_dir: Path | None = None,
    labels_path: Path | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.1,
    phash_distance: int = 6,
    synthetic_max_share: float = 0.3,
    on_progress: Callable[[int, int], None] | None = None,
    datasets: PublicDatasets | None = None,
) -> BuildReport:
    """Check labels, split by near-duplicate groups per class, cap synthetic images, write YOLO layout.

    `datasets` (default: the package's registry) gives titles and citations of the public data sets."""
    if val_fraction + test_fraction >= 1:
        raise LabelingError("val + test fractions must leave something to train on (sum < 1)")
    frame = read_manifest(manifest)
    images_dir = images_dir or images_dir_of(manifest)
    store = LabelStore.load(labels_path or labels_path_of(manifest))
    class_map = choose_classes(catalog, read_extra_classes(manifest), store, risk_ids)
    if not len(class_map):
        waiting = sum(1 for labels in store if labels.status == LabelStatus.NEEDS_REVIEW)
        hint = (
            f"{waiting} image(s) wait for review (agrorisk-label studio push, then studio pull), or use "
            "autolabel --whole-image for close-up leaf photos"
            if waiting
            else "run `agrorisk-label autolabel` (or import, fetch) first"
        )
        raise LabelingError(f"no labelled images to build from: {hint}")
    explicit = set(class_map.risk_ids) if risk_ids else None
    known = set(class_map.risk_ids) | ({r.id for r in catalog} if explicit else set())

    rejected: list[Rejected] = []
    accepted: dict[str, tuple] = {}  # sha -> (row, labels, path)
    seen: dict[str, str] = {}
    needs_review = 0
    for n, row in enumerate(manifest_rows(frame), start=1):
        if on_progress:
            on_progress(n, len(frame))
        if row.sha256 in seen:
            if seen[row.sha256] != row.file:
                rejected.append(
                    Rejected(
                        file=row.file,
                        sha256=row.sha256,
                        risk_id=row.risk_id,
                        reasons=[f"same image as {seen[row.sha256]}"],
                    )
                )
            continue
        seen[row.sha256] = row.file
        labels = store.get(row.sha256)
        if labels is not None and labels.status == LabelStatus.NEEDS_REVIEW:
            needs_review += 1  # out of every split until a person labels it
            continue
        if explicit is not None and labels is not None:
            kept = [b for b in labels.boxes if b.risk_id in explicit or b.risk_id not in known]
            if labels.boxes and not kept:
                continue  # belongs to classes outside this dataset
            labels = labels.model_copy(update={"boxes": kept})
        path = images_dir / row.file
        size = image_size(path)
        problems = [size] if isinstance(size, str) else label_problems(labels, *size, known=known)
        if problems:
            rejected.append(Rejected(file=row.file, sha256=row.sha256, risk_id=row.risk_id, reasons=problems))
            continue
        accepted[row.sha256] = (row, labels, path)

    items = [
        SplitItem(
            key=sha,
            risk_id=_stratum(labels, row.risk_id),
            phash=_phash(path, row.phash),
            synthetic=bool(row.synthetic),
            near_duplicate_of=row.near_duplicate_of,
        )
        for sha, (row, labels, path) in accepted.items()
    ]
    groups = near_duplicate_groups(items, phash_distance)
    splits = stratified_split(items, groups, val_fraction, test_fraction, seed)

    # Cap synthetic images per class to a share of that class's training images.
    real_train = Counter(i.risk_id for i in items if not i.synthetic and splits[i.key] == "train")
    synthetic_by_class: dict[str, list[str]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.key):
        if item.synthetic:
            synthetic_by_class[item.risk_id].append(item.key)
    ratio = math.inf if synthetic_max_share >= 1 else synthetic_max_share / (1 - synthetic_max_share)
    for risk_id, keys in synthetic_by_class.items():
        allowed = len(keys) if ratio == math.inf else math.floor(ratio * real_train[risk_id] + 1e-9)
        for key in keys[allowed:]:
            row = accepted.pop(key)[0]
            rejected.append(
                Rejected(
                    file=row.file,
                    sha256=key,
                    risk_id=row.risk_id,
                    reasons=[
                        f"synthetic cap: at most {synthetic_max_share:.0%} of a class's training images"
                    ],
                )
            )

    _prepare_out_dir(out_dir)
    for split in SPLITS:
        (out_dir / "images" / split).mkdir(parents=True)
        (out_dir / "labels" / split).mkdir(parents=True)
    balance = {r: ClassBalance(risk_id=r) for r in class_map.risk_ids}
    negatives: dict[str, int] = dict.fromkeys(SPLITS, 0)
    whole_image_boxes = 0
    entries = []
    for sha, (row, labels, path) in sorted(accepted.items()):
        split = splits[sha]
        text = yolo_lines(labels, class_map)
        shutil.copyfile(path, out_dir / "images" / split / f"{sha}{path.suffix.lower()}")
        (out_dir / "labels" / split / f"{sha}.txt").write_text(text, encoding="utf-8")
        entries.append((split, sha, text))
        whole_image_boxes += sum(b.source == LabelSource.WHOLE_IMAGE for b in labels.boxes)
        if not labels.boxes:
            negatives[split] += 1
            continue
        stats = balance[_stratum(labels, row.risk_id)]
        setattr(stats, split, getattr(stats, split) + 1)
        stats.synthetic += bool(row.synthetic)
        for box in labels.boxes:
            balance[box.risk_id].boxes += 1

    # No `path:` key: Ultralytics then resolves splits beside data.yaml, so the folder can move.
    data: dict = {"train": "images/train", "val": "images/val"}
    if any(split == "test" for split, _, _ in entries):
        data["test"] = "images/test"
    data |= {"nc": len(class_map), "names": class_map.names}
    (out_dir / "data.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    report = BuildReport(
        dataset_hash=content_hash(class_map, entries),
        data_yaml=str(out_dir / "data.yaml"),
        class_names=list(class_map.risk_ids),
        balance=list(balance.values()),
        rejected=rejected,
        near_duplicate_groups=sum(1 for g in Counter(groups.values()).values() if g > 1),
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        synthetic_max_share=synthetic_max_share,
        negatives=negatives,
        needs_review=needs_review,
        whole_image_boxes=whole_image_boxes,
        sources=source_uses([row for row, _, _ in accepted.values()], datasets or PublicDatasets.load()),
        warnings=[
            f"class {b.risk_id} has no validation images" for b in balance.values() if b.images and not b.val
        ],
    )
    report.write(out_dir)
    return report


def build_with_settings(
    settings: Settings,
    out_dir: Path,
    catalog: Catalog,
    *,
    risk_ids: Sequence[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """`build_dataset` of the settings' pool with their seed, split fractions and filters."""
    options = settings.model_dump(include=SETTINGS_OPTIONS)
    return build_dataset(
        settings.manifest, out_dir, catalog, risk_ids=risk_ids, on_progress=on_progress, **options
    )
