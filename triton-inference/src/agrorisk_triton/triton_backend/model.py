"""Triton Python-backend model `agrorisk_detector`: image bytes in, detections out.

Runs inside NVIDIA's Triton container (needs numpy, Pillow and OpenCV there). Per request: check and
decode the image; the decoded images are letterboxed into one batch and one BLS call runs it on
`agrorisk_onnx` (onnxruntime backend); decode the head + NMS with the same `yolo_processing` code the
in-process detector uses. A bad image
fails only its own request (ERROR output), never its batch.

`triton_python_backend_utils` comes with Triton's Python backend and `write_repository` copies
`yolo_processing.py` beside this file, so neither resolves outside the container.
"""

import io
import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils  # pyright: ignore[reportMissingImports]
from PIL import Image, ImageOps
from yolo_processing import decode_head, letterbox_batch  # pyright: ignore[reportMissingImports]


class Rejected(Exception):
    def __init__(self, status, kind, detail):
        super().__init__(detail)
        self.payload = json.dumps({"status": status, "kind": kind, "detail": detail}).encode()


class TritonPythonModel:
    def initialize(self, args):
        params = {k: v["string_value"] for k, v in json.loads(args["model_config"])["parameters"].items()}
        self.onnx_model = params["onnx_model"]
        self.version = params["model_version"]
        self.class_names = json.loads(params["class_names"])
        self.imgsz = int(params["imgsz"])
        self.conf, self.iou = float(params["conf_threshold"]), float(params["iou_threshold"])
        self.max_det = int(params["max_detections"])
        self.max_bytes, self.max_pixels = int(params["max_image_bytes"]), int(params["max_image_pixels"])

    def decode(self, data):
        if not data:
            raise Rejected(422, "empty", "the file is empty")
        if len(data) > self.max_bytes:
            raise Rejected(
                413, "too_large", f"the file is larger than the {self.max_bytes / 1e6:.1f} MB limit"
            )
        try:
            image = Image.open(io.BytesIO(data))
        except Exception:
            raise Rejected(415, "not_an_image", "the file is not an image") from None
        if image.width * image.height > self.max_pixels:
            raise Rejected(413, "too_many_pixels", f"the image has more than {self.max_pixels / 1e6:.0f} MP")
        try:
            return ImageOps.exif_transpose(image).convert("RGB")
        except Exception:
            raise Rejected(422, "corrupt", "the image cannot be decoded") from None

    def execute(self, requests):
        started = time.perf_counter()
        images, errors = [], []
        for request in requests:
            data = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy().reshape(-1)[0]
            try:
                images.append(self.decode(bytes(data)))
                errors.append(None)
            except Rejected as exc:
                errors.append(exc.payload)
        batch, fitted = letterbox_batch(images, self.imgsz)
        boxes, heads = iter(fitted), iter(self.run_onnx(batch) if images else ())
        latency = (time.perf_counter() - started) * 1000
        responses = []
        for error in errors:
            box, head = (None, None) if error else (next(boxes), next(heads))
            responses.append(self.response(box, error, head, latency))
        return responses

    def run_onnx(self, batch):
        request = pb_utils.InferenceRequest(
            model_name=self.onnx_model,
            requested_output_names=["output0"],
            inputs=[pb_utils.Tensor("images", batch)],
        )
        response = request.exec()
        if response.has_error():
            raise pb_utils.TritonModelException(response.error().message())
        return pb_utils.get_output_tensor_by_name(response, "output0").as_numpy()

    def response(self, box, error, head, latency):
        detections = np.full((1, self.max_det, 6), -1.0, dtype=np.float32)
        count, size = 0, [0, 0]
        if error is None:
            found = decode_head(head, box, self.conf, self.iou, self.max_det)
            for j, d in enumerate(found):
                detections[0, j] = (d.x1, d.y1, d.x2, d.y2, d.confidence, d.class_index)
            count, size = len(found), [box.width, box.height]
        outputs = {
            "DETECTIONS": detections,
            "NUM_DETECTIONS": np.array([[count]], dtype=np.int32),
            "IMAGE_SIZE": np.array([size], dtype=np.int32),
            "MODEL_VERSION": np.array([[self.version.encode()]], dtype=object),
            "CLASS_NAMES": np.array([[json.dumps(self.class_names).encode()]], dtype=object),
            "LATENCY_MS": np.array([[latency]], dtype=np.float32),
            "ERROR": np.array([[error or b""]], dtype=object),
        }
        return pb_utils.InferenceResponse([pb_utils.Tensor(k, v) for k, v in outputs.items()])
