"""Both engines load a registry version and answer in the common detection contract."""

from __future__ import annotations

import pytest
import torch

from agrorisk_common.images import decode_image
from agrorisk_serving.detector import DetectionParams, DeviceUnavailable, load_detector, predict
from agrorisk_serving.model_source import ModelSource


def test_onnxruntime_and_ultralytics_engines_map_classes_to_risk_ids(
    model_registry, sample_images, class_names
):
    model = ModelSource.from_settings(model_registry).pull()
    params = DetectionParams(conf_threshold=0.001)
    images = [decode_image(data).image for data in sample_images]
    for engine in ("onnxruntime", "ultralytics"):
        predictions = predict(load_detector(model, engine, params), images)
        assert [p.model_version for p in predictions] == ["v1"] * len(images)
        assert [(p.image_width, p.image_height) for p in predictions] == [im.size for im in images]
        detections = [d for p in predictions for d in p.detections]
        assert detections, engine
        assert {d.risk_id for d in detections} <= set(class_names)
        assert all(d.risk_id == class_names[d.class_index] for d in detections)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer of a machine without a GPU")
def test_auto_device_runs_on_the_cpu_and_an_absent_gpu_is_a_clear_error(model_registry):
    model = ModelSource.from_settings(model_registry).pull()
    for engine in ("onnxruntime", "ultralytics"):
        assert load_detector(model, engine, DetectionParams(device="auto")).device == "cpu"
        with pytest.raises(DeviceUnavailable, match="'cuda:0'"):
            load_detector(model, engine, DetectionParams(device="cuda:0"))
    with pytest.raises(DeviceUnavailable, match="unknown device 'gpu'"):
        load_detector(model, "onnxruntime", DetectionParams(device="gpu"))
