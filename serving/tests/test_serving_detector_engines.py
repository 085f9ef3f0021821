"""Both engines load a registry version and answer in the common detection contract."""

from __future__ import annotations

import pytest
import torch

from agrorisk_common.images import decode_image
from agrorisk_devtools.serving_checks import assert_same_detections
from agrorisk_serving.detector import DetectionParams, DeviceUnavailable, OnnxDetector, load_detector, predict
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


def test_a_cpu_batch_runs_on_its_own_session_and_finds_what_each_image_finds_alone(
    model_registry, sample_images
):
    model = ModelSource.from_settings(model_registry).pull()
    detector = load_detector(model, "onnxruntime", DetectionParams(conf_threshold=0.001, batch_threads=1))
    assert isinstance(detector, OnnxDetector)
    assert detector.batch_session is not detector.session  # lone images keep every core
    assert detector.batch_session.get_session_options().intra_op_num_threads == 1
    images = [decode_image(data).image for data in sample_images]
    together = predict(detector, images)
    for image, batched in zip(images, together, strict=True):
        assert_same_detections(batched, predict(detector, [image])[0])
    same = load_detector(model, "onnxruntime", DetectionParams(intra_op_threads=1, batch_threads=1))
    assert isinstance(same, OnnxDetector) and same.batch_session is same.session  # no second copy
