"""What a version is: its manifest (files with sha256, metadata), alias states, and their keys in a bucket.

Bucket layout (the same on S3 and in a local folder):

    claims/000003              version number 3 is taken (never deleted, so numbers are never reused)
    versions/000003/<name>     the version's files, uploaded first
    manifests/000003.json      written last: the version exists once this object does
    aliases/<alias>/000007.json  the 7th state of an alias; its history stack, newest target last
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agrorisk_storage.errors import RegistryError

CLAIMS = "claims/"
MANIFESTS = "manifests/"
ALIASES = "aliases/"
LATEST = "latest"

_VERSION_REF = re.compile(r"^v?(\d+)$")
_ALIAS_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")


class FileEntry(BaseModel):
    """One file of a version. Read as `entry.sha256` or `entry["sha256"]`."""

    sha256: str
    size: int

    def __getitem__(self, field: str) -> Any:
        return getattr(self, field)


class VersionInfo(BaseModel):
    """A pushed version: `version` "v3", its files, free-form metadata and the aliases pointing at it."""

    version: str
    number: int
    kind: str
    files: dict[str, FileEntry]
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    aliases: list[str] = Field(default_factory=list)

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.files.values())

    def manifest_json(self) -> bytes:
        """The stored manifest: everything but `aliases`, which live in their own objects."""
        return self.model_dump_json(exclude={"aliases"}, indent=2).encode()


AliasAction = Literal["promote", "rollback", "delete"]


class AliasState(BaseModel):
    """One state of an alias. `history[-1]` is the current target; rollback pops it."""

    alias: str
    seq: int
    action: AliasAction
    history: list[str]
    changed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def target(self) -> str | None:
        return self.history[-1] if self.history else None


def version_name(number: int) -> str:
    return f"v{number}"


def claim_key(number: int) -> str:
    return f"{CLAIMS}{number:06d}"


def manifest_key(number: int) -> str:
    return f"{MANIFESTS}{number:06d}.json"


def file_key(number: int, name: str) -> str:
    return f"versions/{number:06d}/{name}"


def alias_key(alias: str, seq: int) -> str:
    return f"{ALIASES}{alias}/{seq:06d}.json"


def number_of_key(key: str) -> int | None:
    """The number in `claims/000003` or `manifests/000003.json`; None for anything else."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".json")
    return int(stem) if stem.isdigit() else None


def parse_version_ref(ref: str) -> int | None:
    """3 for "v3" or "3"; None when `ref` is not a version number (then it may be an alias)."""
    match = _VERSION_REF.match(ref.strip())
    return int(match.group(1)) if match else None


def check_alias_name(alias: str) -> str:
    if not _ALIAS_NAME.match(alias) or alias == LATEST or parse_version_ref(alias) is not None:
        raise RegistryError(
            f"invalid alias {alias!r}: use lowercase letters, digits, '.', '_' or '-', "
            f"starting with a letter, not a version like v3 and not {LATEST!r}"
        )
    return alias


def check_file_name(name: str) -> str:
    """A file name in a version: a relative POSIX path without empty, '.' or '..' parts."""
    parts = name.split("/")
    if (
        not name
        or len(name) > 512
        or "\\" in name
        or any(part in ("", ".", "..") for part in parts)
        or any(ord(ch) < 32 for ch in name)
    ):
        raise RegistryError(
            f"invalid file name {name!r}: use a relative path like 'best.pt' or 'images/a.jpg'"
        )
    return name


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
