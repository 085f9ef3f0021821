"""`TritonDetectorClient`: the backend's `DetectorClient` for Triton's `agrorisk_detector`, over HTTP or gRPC."""

from __future__ import annotations

from typing import Literal

import numpy as np

from agrorisk_common.detection import Prediction
from agrorisk_serving.triton_tensors import INPUT, MODEL_NAME, OUTPUTS, SOURCE, unpack_prediction


class TritonDetectorClient:
    """Sends the raw image bytes as the IMAGE tensor and turns the outputs into a Prediction.

    `url` is host:port of Triton's HTTP or gRPC endpoint (`agrorisk-triton serve`: 8100 / 8101;
    NVIDIA's container: 8000 / 8001). Never raises for a down or failing server: the Prediction's
    `error` says what went wrong.
    """

    name = "triton"

    def __init__(
        self,
        url: str,
        protocol: Literal["http", "grpc"] = "http",
        timeout_s: float = 30.0,
        model_name: str = MODEL_NAME,
        concurrency: int = 16,
    ):
        self.url, self.protocol, self.timeout_s, self.model_name = url, protocol, timeout_s, model_name
        self.concurrency = concurrency
        if protocol == "grpc":
            import tritonclient.grpc.aio as module
        else:
            import tritonclient.http.aio as module
        self.module = module
        self._client = None

    @property
    def client(self):
        """The tritonclient aio client, created inside the running event loop (aiohttp needs one)."""
        if self._client is None:
            if self.protocol == "grpc":
                self._client = self.module.InferenceServerClient(self.url)
            else:
                self._client = self.module.InferenceServerClient(
                    self.url, conn_limit=self.concurrency, conn_timeout=self.timeout_s
                )
        return self._client

    def _request(self, image: bytes):
        tensor = self.module.InferInput(INPUT, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[image]], dtype=object))
        if self.protocol == "grpc":
            outputs = [self.module.InferRequestedOutput(name) for name in OUTPUTS]
        else:
            outputs = [self.module.InferRequestedOutput(name, binary_data=True) for name in OUTPUTS]
        return [tensor], outputs

    async def predict(self, image: bytes) -> Prediction:
        inputs, outputs = self._request(image)
        try:
            if self.protocol == "grpc":
                result = await self.client.infer(
                    self.model_name, inputs, outputs=outputs, client_timeout=self.timeout_s
                )
            else:  # the aiohttp session's total timeout (conn_timeout) bounds HTTP requests
                result = await self.client.infer(self.model_name, inputs, outputs=outputs)
        except Exception as exc:  # tritonclient raises InferenceServerException and transport errors
            return Prediction(source=SOURCE, error=f"Triton at {self.url} failed: {_message(exc)}")
        return unpack_prediction({name: result.as_numpy(name) for name in OUTPUTS})

    async def health(self) -> bool:
        try:
            return bool(await self.client.is_server_ready()) and bool(
                await self.client.is_model_ready(self.model_name)
            )
        except Exception:  # any transport failure means "not healthy"
            return False

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _message(exc: Exception) -> str:
    text = exc.message() if hasattr(exc, "message") and callable(exc.message) else str(exc)
    return (text or type(exc).__name__)[:300]
