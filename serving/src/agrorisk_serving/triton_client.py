"""`TritonDetectorClient`: the backend's `DetectorClient` for Triton's `agrorisk_detector`, over HTTP or gRPC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray
from tritonclient.utils import InferenceServerException

from agrorisk_common.detection import Prediction
from agrorisk_serving.triton_tensors import INPUT, MODEL_NAME, OUTPUTS, SOURCE, unpack_prediction

if TYPE_CHECKING:
    from tritonclient import grpc, http
    from tritonclient.grpc import aio as grpc_aio
    from tritonclient.http import aio as http_aio


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
        self._grpc: grpc_aio.InferenceServerClient | None = None
        self._http: http_aio.InferenceServerClient | None = None

    @property
    def client(self) -> grpc_aio.InferenceServerClient | http_aio.InferenceServerClient:
        """The tritonclient aio client, created inside the running event loop (aiohttp needs one)."""
        return self._grpc_client() if self.protocol == "grpc" else self._http_client()

    def _grpc_client(self) -> grpc_aio.InferenceServerClient:
        if self._grpc is None:
            from tritonclient.grpc import aio

            self._grpc = aio.InferenceServerClient(self.url)
        return self._grpc

    def _http_client(self) -> http_aio.InferenceServerClient:
        if self._http is None:
            from tritonclient.http import aio

            self._http = aio.InferenceServerClient(
                self.url, conn_limit=self.concurrency, conn_timeout=self.timeout_s
            )
        return self._http

    async def _infer(self, image: bytes) -> grpc.InferResult | http.InferResult | None:
        data = np.array([[image]], dtype=object)
        if self.protocol == "grpc":
            from tritonclient import grpc

            tensor = grpc.InferInput(INPUT, [1, 1], "BYTES")
            tensor.set_data_from_numpy(data)
            outputs = [grpc.InferRequestedOutput(name) for name in OUTPUTS]
            return await self._grpc_client().infer(
                self.model_name, [tensor], outputs=outputs, client_timeout=self.timeout_s
            )
        from tritonclient import http

        tensor = http.InferInput(INPUT, [1, 1], "BYTES")
        tensor.set_data_from_numpy(data)
        outputs = [http.InferRequestedOutput(name, binary_data=True) for name in OUTPUTS]
        # the aiohttp session's total timeout (conn_timeout) bounds HTTP requests
        return await self._http_client().infer(self.model_name, [tensor], outputs=outputs)

    async def predict(self, image: bytes) -> Prediction:
        try:
            outputs = _tensors(await self._infer(image))
        except Exception as exc:  # tritonclient raises InferenceServerException and transport errors
            return Prediction(source=SOURCE, error=f"Triton at {self.url} failed: {_message(exc)}")
        return unpack_prediction(outputs)

    async def health(self) -> bool:
        try:
            return bool(await self.client.is_server_ready()) and bool(
                await self.client.is_model_ready(self.model_name)
            )
        except Exception:  # any transport failure means "not healthy"
            return False

    async def aclose(self) -> None:
        client = self._grpc or self._http
        self._grpc = self._http = None
        if client is not None:
            await client.close()


def _tensors(result: grpc.InferResult | http.InferResult | None) -> dict[str, NDArray[Any]]:
    """The output tensors by name; a missing one means the model is not `agrorisk_detector`."""
    tensors = {name: result.as_numpy(name) if result else None for name in OUTPUTS}
    missing = [name for name, tensor in tensors.items() if tensor is None]
    if missing:
        raise ValueError(f"the response has no {', '.join(missing)} output")
    return {name: tensor for name, tensor in tensors.items() if tensor is not None}


def _message(exc: Exception) -> str:
    text = exc.message() if isinstance(exc, InferenceServerException) else str(exc)
    return (text or type(exc).__name__)[:300]
