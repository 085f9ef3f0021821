"""`make demo`, data stages: real labelled photos of the crops' risks (a registered public data set —
PlantDoc — fetched and sha256-checked), else crawled photos, else drawn leaves; labels; a built and
versioned YOLO dataset. Everything goes through the packages' own APIs and CLIs."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

Progress = Callable[[int, int], None]
SOURCE_FILE = "demo-source.json"
MIN_CRAWLED_PER_RISK = 4  # fewer photos than this for most risks and the demo draws leaves instead


class DemoDataError(RuntimeError):
    """A readable reason why the demo has no dataset."""


@dataclass(frozen=True)
class Pool:
    """A labelled pool in the crawler layout: manifest.csv, images/, labels.jsonl."""

    source: str  # "real", "crawled" or "procedural"
    manifest: Path
    risk_ids: list[str]  # the risks with enough images to train on
    note: str


def engine_host() -> str:
    """host:port of the crawler's first search engine (from its settings)."""
    from agrorisk_crawler.settings import Settings

    settings = Settings()
    engine = settings.active_engines()[0]
    url = urlsplit(getattr(settings, f"{engine}_url", None) or settings.flickr_api_url)
    return f"{url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)}"


def internet_reachable(host_port: str, timeout_s: float) -> bool:
    """One TCP connection to the engine host, bounded in time (DNS included)."""
    host, port = host_port.rsplit(":", 1)
    outcome: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, int(port)), timeout=timeout_s).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    probe = threading.Thread(target=connect, daemon=True)
    probe.start()
    probe.join(timeout_s + 0.5)
    return bool(outcome and outcome[0])


def _same_source(pool_dir: Path, recipe: dict) -> bool:
    path = pool_dir / SOURCE_FILE
    try:
        return json.loads(path.read_text()) == recipe and (pool_dir / "manifest.csv").is_file()
    except (OSError, ValueError):
        return False


def _fresh(pool_dir: Path) -> None:
    """The demo owns its pool folders: a different recipe starts from an empty one."""
    if pool_dir.exists():
        shutil.rmtree(pool_dir)
    pool_dir.mkdir(parents=True)


def real_pool(work_dir: Path, risk_ids: list[str], on_progress: Progress) -> Pool | None:
    """The first registered public data set with real boxes for some of `risk_ids` that can be had
    here (its registered archive URL, or its local copy), fetched through `agrorisk-label fetch`'s
    code: sha256 checked, classes mapped, healthy leaves kept as negatives. None when there is none."""
    from agrorisk_common.catalog import load_catalog
    from agrorisk_labeling.fetch import fetch_dataset
    from agrorisk_labeling.public_datasets import PublicDatasets, local_copy, repo_root

    registry, repo = PublicDatasets.load(), repo_root()
    for dataset in registry:
        # sorted: the class order of the starter model, so fine-tuning from it keeps each class's weights
        covered = sorted(r for r in risk_ids if r in set(registry.class_mapping(dataset).values()))
        if not covered or not (dataset.archive.url or local_copy(dataset, repo)):
            continue
        pool_dir = work_dir / f"pool-{dataset.name}"
        manifest = pool_dir / "manifest.csv"
        recipe = {"source": "real", "dataset": dataset.name, "sha256": dataset.archive.sha256}
        note = f"reused {dataset.name} from an earlier run"
        if not _same_source(pool_dir, recipe):
            _fresh(pool_dir)
            summary = fetch_dataset(registry, dataset.name, manifest, load_catalog(), repo=repo,
                                    on_progress=on_progress)  # fmt: skip
            (pool_dir / SOURCE_FILE).write_text(json.dumps(recipe))
            note = f"{summary.imported.images} photos from {summary.source}, sha256 {'checked' if summary.checked else 'NOT known'}"
        return Pool("real", manifest, covered, f"{dataset.name} ({dataset.license}): {note}")
    return None


def procedural_pool(
    work_dir: Path, risk_ids: list[str], images_per_class: int, imgsz: int, seed: int, on_progress: Progress
) -> Pool:
    """Drawn leaves (agrorisk_common.procedural) imported through dataset-labeling's YOLO importer,
    so their lesion boxes become `import` labels of the pool. Reused when the recipe is unchanged."""
    from agrorisk_common.catalog import load_catalog
    from agrorisk_common.procedural import generate_leaf_dataset
    from agrorisk_labeling.importer import import_dataset

    pool_dir = work_dir / "pool-procedural"
    recipe = {
        "source": "procedural",
        "risks": risk_ids,
        "images": images_per_class,
        "imgsz": imgsz,
        "seed": seed,
    }
    manifest = pool_dir / "manifest.csv"
    if _same_source(pool_dir, recipe):
        return Pool("procedural", manifest, risk_ids, "reused the drawn leaves of an earlier run")
    _fresh(pool_dir)
    drawn = work_dir / "drawn-leaves"
    shutil.rmtree(drawn, ignore_errors=True)
    generate_leaf_dataset(drawn, risk_ids, images_per_class, imgsz, seed)  # the builder re-splits them
    on_progress(1, 2)
    summary = import_dataset("yolo", drawn, manifest, load_catalog())
    shutil.rmtree(drawn, ignore_errors=True)
    if summary.skipped:
        raise DemoDataError(f"the importer skipped drawn images: {summary.skipped[0]}")
    on_progress(2, 2)
    (pool_dir / SOURCE_FILE).write_text(json.dumps(recipe))
    return Pool(
        "procedural", manifest, risk_ids, f"drew {summary.images} leaves with {summary.boxes} lesion boxes"
    )


def crawled_pool(work_dir: Path, crops: list[str], risk_ids: list[str], max_per_risk: int) -> Pool | None:
    """Photos from the search engines (`agrorisk-crawl run`), auto-labelled with dataset-labeling's
    labeller chain (AGRORISK_LABELING_LABELLERS: the production model or Gemini; what neither boxes waits
    for review in Label Studio). None when too few came back."""
    pool_dir = work_dir / "pool-crawled"
    recipe = {"source": "crawled", "risks": risk_ids, "max_per_risk": max_per_risk}
    if not _same_source(pool_dir, recipe):
        pool_dir.mkdir(parents=True, exist_ok=True)
        crawl = [
            str(Path(sys.executable).parent / "agrorisk-crawl"), "run", *(f"--crop={c}" for c in crops),
            "--max-per-risk", str(max_per_risk), "--download-dir", str(pool_dir),
        ]  # fmt: skip
        if subprocess.run(crawl, check=False).returncode != 0:
            return None
    manifest = pool_dir / "manifest.csv"
    counts = _crawled_counts(manifest)
    enough = [r for r in risk_ids if counts.get(r, 0) >= MIN_CRAWLED_PER_RISK]
    if len(enough) < max(2, len(risk_ids) // 2):
        return None
    (pool_dir / SOURCE_FILE).write_text(json.dumps(recipe))
    return Pool(
        "crawled", manifest, enough, f"{sum(counts.values())} photos, {len(enough)} risks with enough"
    )


def _crawled_counts(manifest: Path) -> dict[str, int]:
    if not manifest.is_file():
        return {}
    from agrorisk_labeling.manifest import read_manifest

    frame = read_manifest(manifest)
    return frame.drop_duplicates("sha256")["risk_id"].value_counts().to_dict()


def autolabel_pool(pool: Pool, on_progress: Progress) -> str:
    """Auto-labels for crawled photos (drawn leaves already carry imported labels, which autolabel keeps)."""
    from agrorisk_common.catalog import load_catalog
    from agrorisk_labeling.autolabel import autolabel
    from agrorisk_labeling.labellers import build_labellers
    from agrorisk_labeling.settings import Settings

    summary = autolabel(pool.manifest, build_labellers(Settings(), load_catalog()), on_progress=on_progress)
    sources = ", ".join(f"{n} by {s}" for s, n in summary.by_source.items()) or "none new"
    return f"labelled {summary.labelled} ({sources}), kept {summary.kept_existing} existing labels"


def build_and_push(
    pool: Pool,
    dataset_dir: Path,
    seed: int,
    on_progress: Progress,
    fractions: tuple[float, float] | None = None,
):
    """dataset-labeling's builder (checks, near-duplicate-aware split, balance report), then a
    DatasetRegistry version; the same content gives the same version. `fractions` (val, test) override
    the labelling settings'. Returns (report, VersionInfo)."""
    from agrorisk_common.catalog import load_catalog
    from agrorisk_labeling.build import build_dataset
    from agrorisk_labeling.registry import push_dataset
    from agrorisk_labeling.settings import Settings

    settings = Settings()
    val_fraction, test_fraction = fractions or (settings.val_fraction, settings.test_fraction)
    report = build_dataset(
        pool.manifest,
        dataset_dir,
        load_catalog(),
        risk_ids=pool.risk_ids,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        phash_distance=settings.phash_distance,
        synthetic_max_share=settings.synthetic_max_share,
        on_progress=on_progress,
    )
    missing_val = [b.risk_id for b in report.balance if b.images and not b.val]
    if missing_val:
        raise DemoDataError(f"no validation images for {', '.join(missing_val)}: use more images per class")
    version = push_dataset(dataset_dir, {"source": pool.source, "creator": "make demo"})
    return report, version
