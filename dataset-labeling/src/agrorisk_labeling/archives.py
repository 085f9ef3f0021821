"""Data set archives: sha256 of a file, safe unpacking, and the canonical zip of a data set folder.

The canonical zip makes a folder's content one checkable sha256: every regular file except dotfiles, as
`<top>/<relative path>`, sorted by that name, stored uncompressed (no zlib version in the bytes), dated
1980-01-01 00:00, mode 0644, no directory entries. The same files always give the same bytes.
"""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from pathlib import Path

from agrorisk_labeling.errors import LabelingError

CANONICAL_DATE = (1980, 1, 1, 0, 0, 0)
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pack_canonical(folder: Path, top: str, out: Path) -> str:
    """Write the canonical zip of `folder` (entries under `top/`) to `out`; return its sha256."""
    if not folder.is_dir():
        raise LabelingError(f"not a folder: {folder}")
    files = sorted(
        (f"{top}/{p.relative_to(folder).as_posix()}", p)
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=CANONICAL_DATE)
            info.create_system = 3  # Unix, whatever machine packs it
            info.external_attr = 0o100644 << 16
            archive.writestr(info, path.read_bytes())
    return sha256_of(out)


def _inside(dest: Path, name: str) -> bool:
    target = (dest / name).resolve()
    return target == dest.resolve() or dest.resolve() in target.parents


def unpack(archive: Path, fmt: str, dest: Path) -> None:
    """Unpack a zip or tar (any compression) into dest; members reaching outside it are refused."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if fmt == "zip":
            with zipfile.ZipFile(archive) as zipped:
                outside = [n for n in zipped.namelist() if not _inside(dest, n)]
                if outside:
                    raise LabelingError(f"{archive}: member {outside[0]!r} points outside the archive")
                zipped.extractall(dest)
        elif fmt == "tar":
            with tarfile.open(archive, "r:*") as tarred:
                tarred.extractall(dest, filter="data")
        else:
            raise LabelingError(f"unknown archive format {fmt!r}; known: zip, tar")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise LabelingError(f"{archive} is not a readable {fmt} archive: {exc}") from None
