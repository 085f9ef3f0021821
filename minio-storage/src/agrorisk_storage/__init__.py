"""Model and dataset version registry on MinIO/S3 (or a local folder)."""

from agrorisk_storage.errors import RegistryError
from agrorisk_storage.local_store import LocalObjectStore
from agrorisk_storage.manifest import FileEntry, VersionInfo
from agrorisk_storage.object_store import ObjectStore
from agrorisk_storage.registry import DatasetRegistry, ModelRegistry, VersionRegistry, open_registry
from agrorisk_storage.s3_store import S3ObjectStore
from agrorisk_storage.settings import StorageSettings
from agrorisk_storage.stores import open_store

__all__ = [
    "DatasetRegistry",
    "FileEntry",
    "LocalObjectStore",
    "ModelRegistry",
    "ObjectStore",
    "RegistryError",
    "S3ObjectStore",
    "StorageSettings",
    "VersionInfo",
    "VersionRegistry",
    "open_registry",
    "open_store",
]
