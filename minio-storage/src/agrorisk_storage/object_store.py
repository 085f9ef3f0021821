"""The one interface both storage backends implement: a bucket of keyed objects.

Keys are `/`-separated paths. The registry builds every guarantee it gives (monotonic versions,
manifest written last, alias history) on `create`, the only atomic primitive it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class ObjectStore(Protocol):
    """A bucket, created on first use. `location` names the backend for people."""

    bucket: str

    @property
    def location(self) -> str: ...

    def create(self, key: str, data: bytes) -> bool:
        """Write `data` only if `key` does not exist yet, atomically; False when it already existed."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def get_bytes(self, key: str) -> bytes:
        """The object's content; raises `ObjectMissing` when there is none."""
        ...

    def download(self, key: str, dest: Path) -> None:
        """Stream the object into `dest`; raises `ObjectMissing` when there is none."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (recursively), sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...
