"""The one interface the backend (and the pipeline) use to ask any recogniser about a photo."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agrorisk_common.detection import Prediction


@runtime_checkable
class DetectorClient(Protocol):
    """A recogniser behind some transport: Ray Serve, Triton, Gemini, an in-process model.

    `predict` never raises for a down or misbehaving service: it returns a Prediction whose
    `error` says what went wrong, so a caller can degrade that one feature.
    """

    name: str

    async def predict(self, image: bytes) -> Prediction: ...

    async def health(self) -> bool: ...

    async def aclose(self) -> None: ...
