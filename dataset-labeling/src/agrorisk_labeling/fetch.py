"""Fetch a registered public data set into the pool: download (or take a local folder or archive), check
its sha256 before the pool is touched, unpack to a temp folder, import with the registry's mapping."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from agrorisk_common.catalog import Catalog
from agrorisk_labeling.archives import CHUNK, pack_canonical, sha256_of, unpack
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.importer import ImportSummary, Unmapped, import_dataset
from agrorisk_labeling.public_datasets import PublicDataset, PublicDatasets, local_copy

Progress = Callable[[int, int], None]


class FetchSummary(BaseModel):
    dataset: str
    source: str  # the URL, archive or folder the images came from
    sha256: str
    checked: bool  # False only when the registry does not know the sha256
    imported: ImportSummary


def download(url: str, dest: Path, on_progress: Progress | None = None) -> None:
    """Stream url into dest (redirects followed); a failed request is one LabelingError line."""
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length") or 0)
            done = 0
            with dest.open("wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total or done)
    except httpx.HTTPStatusError as exc:
        raise LabelingError(f"download of {url} failed: HTTP {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise LabelingError(f"download of {url} failed: {exc or type(exc).__name__}") from None


def check_sha256(dataset: PublicDataset, got: str, what: str) -> bool:
    """True when the registered sha256 matches, False when none is registered; a mismatch raises."""
    expected = dataset.archive.sha256
    if expected is None:
        return False
    if got != expected:
        raise LabelingError(
            f"{dataset.name}: sha256 mismatch for {what}: got {got}, registered {expected}; pool unchanged"
        )
    return True


def _root_in(unpacked: Path, dataset: PublicDataset) -> Path:
    root = unpacked / dataset.archive.subdir if dataset.archive.subdir else unpacked
    if not root.is_dir():
        raise LabelingError(f"{dataset.name}: the archive has no folder {dataset.archive.subdir!r}")
    return root


def fetch_dataset(
    registry: PublicDatasets,
    name: str,
    manifest: Path,
    catalog: Catalog,
    *,
    repo: Path,
    src: Path | None = None,
    url: str | None = None,
    unmapped: Unmapped | None = None,
    on_progress: Progress | None = None,
) -> FetchSummary:
    """Import data set `name` from `src` (folder or archive), `url`, the registered URL, or the local copy
    (in that order). A folder is checked through its canonical zip, so one sha256 covers every route."""
    dataset = registry.get(name)
    if src is None and not url:
        url = dataset.archive.url or None
        src = None if url else local_copy(dataset, repo)
        if src is None and url is None:
            raise LabelingError(
                f"{name}: no archive URL registered and no local copy at {dataset.local or '(none)'}: "
                "pass --url URL or --src FOLDER|ARCHIVE"
            )
    if src is not None and not src.exists():
        raise LabelingError(f"{name}: --src not found: {src}")
    with tempfile.TemporaryDirectory(prefix="agrorisk-fetch-") as tmp:
        work = Path(tmp)
        if src is not None and src.is_dir():
            got = pack_canonical(src, dataset.archive.subdir or name, work / "canonical.zip")
            checked = check_sha256(dataset, got, f"folder {src} (canonical zip)")
            root, source = src, str(src)
        else:
            archive = src
            if archive is None:
                archive = work / "download"
                download(url, archive, on_progress)  # type: ignore[arg-type]
            got = sha256_of(archive)
            checked = check_sha256(dataset, got, str(src or url))
            unpack(archive, dataset.archive.format, work / "unpacked")
            root, source = _root_in(work / "unpacked", dataset), str(src or url)
        imported = import_dataset(
            dataset.layout,
            root,
            manifest,
            catalog,
            unmapped=unmapped or dataset.unmapped,
            mapping=registry.class_mapping(dataset),
            dataset=dataset.name,
            license=dataset.license,
            source_prefix=f"{dataset.archive.subdir or name}/",
        )
    return FetchSummary(dataset=name, source=source, sha256=got, checked=checked, imported=imported)
