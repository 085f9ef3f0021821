"""The collected images on disk and their manifest: the one place that decides keep or skip.

Thread-safe: icrawler's download threads offer images concurrently. A decision and its effects
(file written, row added, hash indexed) happen under one lock, so a risk never gets the same
image twice and `--max-per-risk` is never overshot.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from icrawler.storage import BaseStorage

from agrorisk_crawler.manifest import load_manifest, save_manifest
from agrorisk_crawler.phash_index import PhashIndex, phash_to_int
from agrorisk_crawler.validation import Rejected, ValidImage, validate_image

log = logging.getLogger(__name__)

KEPT = "kept"
KEPT_CROSS_RISK = "kept_cross_risk"  # kept, and flagged: it (nearly) matches another risk's image
DUPLICATE = "duplicate"
NEAR_DUPLICATE = "near_duplicate"
LIMIT_REACHED = "limit_reached"
_HASH_NAME = re.compile(r"^[0-9a-f]{64}$")


class HashNamedFiles(BaseStorage):
    """icrawler storage backend writing `<risk_id>/<sha256>.<ext>` atomically (temp file + rename)."""

    def __init__(self, root_dir: Path):
        self.root_dir = Path(root_dir)

    def write(self, id: str, data: bytes) -> None:  # noqa: A002 - icrawler's signature
        path = self.root_dir / id
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def exists(self, id: str) -> bool:  # noqa: A002
        return (self.root_dir / id).is_file()

    def max_file_idx(self) -> int:
        return 0  # files are named by content hash, never by a running number


class ImageCollection:
    """Images per risk + manifest rows + indexes for exact (SHA-256) and near (pHash) duplicates."""

    def __init__(self, images_dir: Path, manifest_path: Path, phash_threshold: int):
        self.files = HashNamedFiles(images_dir)
        self.manifest_path = manifest_path
        self.phash_threshold = phash_threshold
        self._lock = threading.Lock()
        self._rows: list[dict] = []
        self._risk_shas: set[tuple[str, str]] = set()
        self._risk_urls: set[tuple[str, str]] = set()
        self._crawled: Counter[str] = Counter()
        self._index = PhashIndex()
        self.dropped_rows = 0
        self.adopted_files = 0
        for row in load_manifest(manifest_path):
            if row["synthetic"] or self.files.exists(row["file"]):
                self._append(row)
            else:
                self.dropped_rows += 1
        if self.dropped_rows:
            log.warning("%d manifest row(s) point to missing files; dropped", self.dropped_rows)
        self._adopt_orphans()

    @property
    def rows(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._rows]

    def count(self, risk_id: str) -> int:
        """Crawled (not synthetic) images held for a risk."""
        return self._crawled[risk_id]

    def knows_url(self, risk_id: str, url: str) -> bool:
        return (risk_id, url) in self._risk_urls

    def offer(
        self, risk_id: str, image: ValidImage, *, query: str, engine: str, source_url: str, limit: int
    ) -> str:
        """Keep the image for the risk unless it is a duplicate or the risk is full; the outcome code."""
        with self._lock:
            if (risk_id, image.sha256) in self._risk_shas:
                return DUPLICATE
            if self._crawled[risk_id] >= limit:
                return LIMIT_REACHED
            matches = [
                self._rows[k] for k, _ in self._index.within(phash_to_int(image.phash), self.phash_threshold)
            ]
            if any(m["risk_id"] == risk_id for m in matches):
                return NEAR_DUPLICATE
            file = f"{risk_id}/{image.sha256}.{image.ext}"
            self.files.write(file, image.data)
            others = sorted({m["risk_id"] for m in matches})
            for match in matches:
                flagged = set(filter(None, match["cross_risk_duplicate_of"].split(",")))
                match["cross_risk_duplicate_of"] = ",".join(sorted(flagged | {risk_id}))
            self._append(
                {
                    "risk_id": risk_id,
                    "file": file,
                    "query": query,
                    "engine": engine,
                    "source_url": source_url,
                    "sha256": image.sha256,
                    "phash": image.phash,
                    "width": image.width,
                    "height": image.height,
                    "bytes": len(image.data),
                    "crawled_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "synthetic": False,
                    "near_duplicate_of": matches[0]["sha256"] if matches else "",
                    "cross_risk_duplicate_of": ",".join(others),
                }
            )
            return KEPT_CROSS_RISK if others else KEPT

    def save(self) -> None:
        with self._lock:
            save_manifest(self._rows, self.manifest_path)

    def _append(self, row: dict) -> None:
        key = len(self._rows)
        self._rows.append(row)
        self._risk_shas.add((row["risk_id"], row["sha256"]))
        if row["source_url"]:
            self._risk_urls.add((row["risk_id"], row["source_url"]))
        if not row["synthetic"]:
            self._crawled[row["risk_id"]] += 1
        try:
            self._index.add(phash_to_int(row["phash"]), key)
        except ValueError:
            log.warning("%s has no valid perceptual hash; it is not checked for near-duplicates", row["file"])

    def _adopt_orphans(self) -> None:
        """Hash-named files with no manifest row (a run killed mid-way) get a row, so none is lost."""
        known = {r["file"] for r in self._rows}
        root = self.files.root_dir
        for path in sorted(root.glob("*/*")) if root.is_dir() else []:
            file = f"{path.parent.name}/{path.name}"
            if file in known or not _HASH_NAME.match(path.stem):
                continue
            try:
                image = validate_image(path.read_bytes(), min_side=1, max_bytes=2**40, max_pixels=2**40)
            except Rejected as exc:
                log.warning("%s is in the images folder but is not a usable image (%s)", file, exc.reason)
                continue
            if image.sha256 != path.stem:
                log.warning("%s is named by a hash that does not match its content; left out", file)
                continue
            crawled_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
            self._append(
                {
                    "risk_id": path.parent.name,
                    "file": file,
                    "query": "",
                    "engine": "",
                    "source_url": "",
                    "sha256": image.sha256,
                    "phash": image.phash,
                    "width": image.width,
                    "height": image.height,
                    "bytes": len(image.data),
                    "crawled_at": crawled_at,
                    "synthetic": False,
                    "near_duplicate_of": "",
                    "cross_risk_duplicate_of": "",
                }
            )
            self.adopted_files += 1
