"""Model and dataset version registries on one `ObjectStore`.

A push claims the next version number with an atomic create-if-absent (so two racing pushes get
distinct numbers and a number is never reused), uploads the files, and writes the manifest last:
a push that dies half-way leaves no visible version. Pulls verify every file's sha256 and keep a
local cache of blobs by hash. Aliases (`production`, `staging`, any name) keep their history, so
`rollback` returns to the previous target.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ValidationError

from agrorisk_storage.errors import ObjectMissing, RegistryError
from agrorisk_storage.manifest import (
    ALIASES,
    CLAIMS,
    LATEST,
    MANIFESTS,
    AliasAction,
    AliasState,
    FileEntry,
    VersionInfo,
    alias_key,
    check_alias_name,
    check_file_name,
    claim_key,
    file_key,
    manifest_key,
    number_of_key,
    parse_version_ref,
    sha256_file,
    version_name,
)
from agrorisk_storage.object_store import ObjectStore
from agrorisk_storage.settings import StorageSettings
from agrorisk_storage.stores import open_store

Progress = Callable[[str, int], None]
"""Called with (file name, bytes) after each file is uploaded or pulled."""

_MAX_ATTEMPTS = 1000


class VersionRegistry:
    """Versions of one kind of artifact in one bucket. Use `ModelRegistry` or `DatasetRegistry`."""

    kind: ClassVar[str]

    def __init__(self, store: ObjectStore, cache_dir: Path, workers: int = 4) -> None:
        self.store = store
        self.cache_dir = Path(cache_dir).resolve()
        self.workers = workers

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> Self:
        """The S3/MinIO backend when `settings.endpoint` is set, else the local folder `local_root`."""
        return cls(open_store(settings, cls.bucket_name(settings)), settings.cache_dir)

    @staticmethod
    def bucket_name(settings: StorageSettings) -> str:
        raise NotImplementedError

    @property
    def location(self) -> str:
        """Which backend is active, for people: `local folder /path` or `S3 http://host:port/bucket`."""
        return self.store.location

    # --- push -------------------------------------------------------------------------------------

    def push(
        self,
        files: Mapping[str, Path | str],
        metadata: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> VersionInfo:
        """Store `files` ({name in the version: local path}) as the next version."""
        sources = self._check_sources(files)
        meta = self._check_metadata(metadata)
        entries = {
            name: FileEntry(sha256=sha256_file(path), size=path.stat().st_size)
            for name, path in sources.items()
        }
        number = self._claim_number()

        def upload(name: str) -> None:
            self.store.put_file(file_key(number, name), sources[name])
            if progress:
                progress(name, entries[name].size)

        self._run_all(upload, sorted(sources))
        info = VersionInfo(
            version=version_name(number),
            number=number,
            kind=self.kind,
            files=entries,
            metadata=meta,
            created_at=datetime.now(UTC),
        )
        if not self.store.create(manifest_key(number), info.manifest_json()):
            raise RegistryError(f"{info.version} already has a manifest in {self.location}; push again")
        return info

    def push_dir(
        self, path: Path | str, metadata: Mapping[str, Any] | None = None, progress: Progress | None = None
    ) -> VersionInfo:
        """Store every file under folder `path`, named by its path relative to the folder."""
        root = Path(path)
        if not root.is_dir():
            raise RegistryError(f"{root} is not a folder")
        files = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}
        if not files:
            raise RegistryError(f"{root} holds no files to push")
        return self.push(files, metadata, progress)

    # --- read -------------------------------------------------------------------------------------

    def list(self) -> list[VersionInfo]:
        """Every visible version, oldest first, with the aliases pointing at each."""
        numbers = sorted(n for k in self.store.list_keys(MANIFESTS) if (n := number_of_key(k)) is not None)
        infos = self._run_all(self._read_manifest, numbers)
        return self._with_aliases([info for info in infos if info is not None])

    def show(self, ref: str | int) -> VersionInfo:
        """The version `ref` names: "v3", "3", "latest" or an alias such as "production"."""
        number = self._resolve(ref)
        info = self._read_manifest(number)
        if info is None:
            raise RegistryError(f"no {self.kind} version {version_name(number)} in {self.location}")
        return self._with_aliases([info])[0]

    def pull(self, ref: str | int, dest: Path | str | None = None, progress: Progress | None = None) -> Path:
        """A local folder with the version's files, each checked against its sha256.

        Without `dest` the folder lies in the cache. Files come from the local blob cache (keyed by
        sha256) when they are there and intact, else from the store.
        """
        info = self.show(ref)
        folder = Path(dest) if dest is not None else self._pull_dir(info)
        folder.mkdir(parents=True, exist_ok=True)

        def fetch(name: str) -> None:
            entry = info.files[name]
            blob = self._cached_blob(info, name, entry)
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (
                target.is_file()
                and target.stat().st_size == entry.size
                and sha256_file(target) == entry.sha256
            ):
                tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
                shutil.copyfile(blob, tmp)
                os.replace(tmp, target)
            if progress:
                progress(name, entry.size)

        self._run_all(fetch, sorted(info.files))
        return folder

    def read_file(self, ref: str | int, name: str) -> bytes:
        """One file of version `ref` (e.g. its metrics.json), checked against its sha256, without
        pulling the rest; raises RegistryError when the version has no such file."""
        info = self.show(ref)
        if name not in info.files:
            raise RegistryError(f"{info.version} has no file {name!r}")
        return self._cached_blob(info, name, info.files[name]).read_bytes()

    # --- aliases ----------------------------------------------------------------------------------

    def aliases(self) -> dict[str, str]:
        """{alias: version} for every alias that points at a version."""
        return {s.alias: s.target for s in self._alias_states().values() if s.target}

    def alias_history(self, alias: str) -> list[str]:
        """The alias's earlier and current targets, current last."""
        state = self._alias_state(check_alias_name(alias))
        return state.history if state else []

    def promote(self, ref: str | int, alias: str = "production") -> VersionInfo:
        """Point `alias` at the version `ref` names; the previous target stays in its history."""
        alias = check_alias_name(alias)
        info = self.show(ref)
        self._update_alias(alias, "promote", lambda h: h if h[-1:] == [info.version] else [*h, info.version])
        return self.show(info.version)

    def rollback(self, alias: str = "production") -> VersionInfo:
        """Point `alias` back at its previous target and return that version."""
        alias = check_alias_name(alias)

        def back(history: list[str]) -> list[str]:
            if len(history) < 2:
                raise RegistryError(f"alias {alias!r} has no earlier version to roll back to")
            return history[:-1]

        state = self._update_alias(alias, "rollback", back)
        return self.show(state.target or "")

    def delete(self, ref: str | int, force: bool = False) -> VersionInfo:
        """Remove a version. Refuses one an alias points at unless `force`; then such aliases roll back."""
        info = self.show(ref)
        if info.aliases and not force:
            raise RegistryError(
                f"{info.version} is the target of alias {', '.join(info.aliases)}; "
                "promote another version first or delete with force"
            )
        self.store.delete(manifest_key(info.number))
        for name in info.files:
            self.store.delete(file_key(info.number, name))
        for state in self._alias_states().values():
            if info.version in state.history:
                self._update_alias(state.alias, "delete", lambda h: [v for v in h if v != info.version])
        return info

    # --- internals --------------------------------------------------------------------------------

    def _claim_number(self) -> int:
        claimed = [n for k in self.store.list_keys(CLAIMS) if (n := number_of_key(k)) is not None]
        number = max(claimed, default=0) + 1
        claim = json.dumps(
            {"claimed_at": datetime.now(UTC).isoformat(), "host": socket.gethostname(), "pid": os.getpid()}
        ).encode()
        for _ in range(_MAX_ATTEMPTS):
            if self.store.create(claim_key(number), claim):
                return number
            number += 1
        raise RegistryError(f"could not claim a version number in {self.location}")

    def _resolve(self, ref: str | int) -> int:
        text = str(ref).strip()
        number = parse_version_ref(text)
        if number is not None:
            return number
        if text == LATEST:
            numbers = [n for k in self.store.list_keys(MANIFESTS) if (n := number_of_key(k)) is not None]
            if not numbers:
                raise RegistryError(f"no {self.kind} versions yet in {self.location}")
            return max(numbers)
        target = self.aliases().get(text)
        if target is None:
            raise RegistryError(f"no {self.kind} version or alias named {text!r} in {self.location}")
        return parse_version_ref(target) or 0

    def _read_manifest(self, number: int) -> VersionInfo | None:
        try:
            data = self.store.get_bytes(manifest_key(number))
        except ObjectMissing:
            return None
        try:
            return VersionInfo.model_validate_json(data)
        except ValidationError as exc:
            raise RegistryError(
                f"manifest of {version_name(number)} in {self.location} is unreadable: {exc}"
            ) from None

    def _with_aliases(self, infos: list[VersionInfo]) -> list[VersionInfo]:
        by_version: dict[str, list[str]] = {}
        for alias, version in sorted(self.aliases().items()):
            by_version.setdefault(version, []).append(alias)
        return [info.model_copy(update={"aliases": by_version.get(info.version, [])}) for info in infos]

    def _alias_states(self) -> dict[str, AliasState]:
        latest: dict[str, int] = {}
        for key in self.store.list_keys(ALIASES):
            alias, _, _ = key.removeprefix(ALIASES).partition("/")
            seq = number_of_key(key)
            if seq is not None:
                latest[alias] = max(latest.get(alias, 0), seq)
        states = self._run_all(lambda item: self._read_alias(*item), list(latest.items()))
        return {s.alias: s for s in states if s is not None}

    def _alias_state(self, alias: str) -> AliasState | None:
        seqs = [n for k in self.store.list_keys(f"{ALIASES}{alias}/") if (n := number_of_key(k)) is not None]
        return self._read_alias(alias, max(seqs)) if seqs else None

    def _read_alias(self, alias: str, seq: int) -> AliasState | None:
        try:
            return AliasState.model_validate_json(self.store.get_bytes(alias_key(alias, seq)))
        except ObjectMissing:
            return None
        except ValidationError as exc:
            raise RegistryError(
                f"alias {alias!r} state {seq} in {self.location} is unreadable: {exc}"
            ) from None

    def _update_alias(
        self, alias: str, action: AliasAction, change: Callable[[list[str]], list[str]]
    ) -> AliasState:
        """Write the alias's next state; a concurrent writer makes us re-read and apply `change` again."""
        for _ in range(_MAX_ATTEMPTS):
            current = self._alias_state(alias)
            history = current.history if current else []
            new = AliasState(
                alias=alias, seq=(current.seq if current else 0) + 1, action=action, history=change(history)
            )
            if new.history == history and current is not None:
                return current
            if self.store.create(alias_key(alias, new.seq), new.model_dump_json().encode()):
                return new
        raise RegistryError(
            f"could not update alias {alias!r} in {self.location}: too many concurrent changes"
        )

    def _cached_blob(self, info: VersionInfo, name: str, entry: FileEntry) -> Path:
        """The file's content in the blob cache, downloaded and verified if not already there."""
        blob = self.cache_dir / "blobs" / entry.sha256[:2] / entry.sha256
        if blob.is_file() and blob.stat().st_size == entry.size and sha256_file(blob) == entry.sha256:
            return blob
        blob.parent.mkdir(parents=True, exist_ok=True)
        tmp = blob.with_name(f"{entry.sha256}.{uuid.uuid4().hex}.part")
        try:
            try:
                self.store.download(file_key(info.number, name), tmp)
            except ObjectMissing:
                raise RegistryError(
                    f"file {name!r} of {info.version} is missing from {self.location}"
                ) from None
            actual = sha256_file(tmp)
            if actual != entry.sha256:
                raise RegistryError(
                    f"file {name!r} of {info.version} is corrupted in {self.location}: "
                    f"sha256 {actual[:12]}… does not match the manifest's {entry.sha256[:12]}…"
                )
            os.replace(tmp, blob)
        finally:
            tmp.unlink(missing_ok=True)
        return blob

    def _pull_dir(self, info: VersionInfo) -> Path:
        backend = hashlib.sha256(self.location.encode()).hexdigest()[:12]
        return self.cache_dir / "versions" / backend / info.version

    def _check_sources(self, files: Mapping[str, Path | str]) -> dict[str, Path]:
        if not files:
            raise RegistryError("nothing to push: give at least one file")
        sources = {check_file_name(name): Path(path) for name, path in files.items()}
        for name, path in sources.items():
            if not path.is_file():
                raise RegistryError(f"cannot push {name!r}: {path} is not a readable file")
        return sources

    @staticmethod
    def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        meta = dict(metadata or {})
        try:
            json.dumps(meta, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"metadata must be JSON-serialisable: {exc}") from None
        if "creator" not in meta:
            with contextlib.suppress(KeyError, OSError):
                meta["creator"] = getpass.getuser()
        return meta

    def _run_all[T, R](self, work: Callable[[T], R], items: list[T]) -> list[R]:
        """`work` over `items` on a few threads (object stores are I/O bound), results in order."""
        if len(items) <= 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(work, items))


class ModelRegistry(VersionRegistry):
    """Model versions (`best.pt`, `best.onnx`, `metrics.json`, …) in the models bucket."""

    kind = "models"

    @staticmethod
    def bucket_name(settings: StorageSettings) -> str:
        return settings.models_bucket


class DatasetRegistry(VersionRegistry):
    """Dataset versions (a YOLO dataset folder, pushed with `push_dir`) in the datasets bucket."""

    kind = "datasets"

    @staticmethod
    def bucket_name(settings: StorageSettings) -> str:
        return settings.datasets_bucket


def open_registry(kind: str, settings: StorageSettings) -> VersionRegistry:
    """The registry for `kind` ("models" or "datasets")."""
    registries: dict[str, type[VersionRegistry]] = {"models": ModelRegistry, "datasets": DatasetRegistry}
    if kind not in registries:
        raise RegistryError(f"unknown kind {kind!r}: use models or datasets")
    return registries[kind].from_settings(settings)
