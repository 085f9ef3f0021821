"""The latest drift verdict and Evidently report the pipeline published (`agrorisk_common.drift_summary`)."""

from __future__ import annotations

import asyncio

from agrorisk_backend.errors import ApiError, public_text
from agrorisk_common.drift_summary import REPORT_KEY, SUMMARY_KEY, DriftSummary
from agrorisk_storage import RegistryError, StorageSettings, open_store
from agrorisk_storage.errors import ObjectMissing


class DriftReports:
    """Reads `drift/latest.*` from the shared bucket of the registry's store: 404 before the first
    report, 503 when the store does not answer."""

    def __init__(self, storage: StorageSettings, bucket: str):
        self.store = open_store(storage, bucket)  # connects on first use

    async def _read(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.store.get_bytes, key)
        except ObjectMissing:
            raise ApiError(
                404, "not_found", "no drift report yet: the pipeline's monitoring job publishes one"
            ) from None
        except (RegistryError, OSError) as exc:
            raise ApiError(503, "unavailable", public_text(f"shared store unavailable: {exc}")) from None

    async def summary(self) -> DriftSummary:
        return DriftSummary.model_validate_json(await self._read(SUMMARY_KEY))

    async def html(self) -> bytes:
        if not (await self.summary()).has_report:
            raise ApiError(404, "not_found", "the latest drift run published no HTML report")
        return await self._read(REPORT_KEY)
