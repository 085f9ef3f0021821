"""The CLI explains itself and refuses bad settings in one line; image features respond to the photo."""

from __future__ import annotations

import random

from PIL import ImageEnhance, ImageFilter
from typer.testing import CliRunner

from agrorisk_backend.cli import app
from agrorisk_backend.services.image_features import FEATURE_NAMES, image_features
from agrorisk_common.procedural import draw_leaf

runner = CliRunner()


def test_help_lists_serve_and_bench_with_host_and_port():
    assert {"serve", "bench"} <= set(runner.invoke(app, ["--help"]).output.split())
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    assert "--host" in serve_help and "--port" in serve_help and "--engine" in serve_help
    assert "--out" in runner.invoke(app, ["bench", "--help"]).output


def test_bad_engine_is_one_readable_line():
    result = runner.invoke(app, ["serve", "--engine", "tensorflow", "--port", "0"])
    assert result.exit_code == 1
    assert "error: setting engine" in result.output and "Traceback" not in result.output


def test_features_follow_brightness_blur_and_shape():
    leaf, _ = draw_leaf(0, random.Random(1), size=256)
    base = image_features(leaf)
    assert set(base) == set(FEATURE_NAMES)
    assert (base["width"], base["height"], base["aspect"]) == (256.0, 256.0, 1.0)
    assert all(0 <= base[k] <= 1 for k in ("brightness", "contrast", "saturation", "mean_red", "mean_green"))
    dark = image_features(ImageEnhance.Brightness(leaf).enhance(0.4))
    blurred = image_features(leaf.filter(ImageFilter.GaussianBlur(4)))
    grey = image_features(leaf.convert("L"))
    assert dark["brightness"] < base["brightness"] * 0.6
    assert blurred["sharpness"] < base["sharpness"] * 0.5
    assert grey["saturation"] == 0.0
    wide = image_features(leaf.resize((512, 128)))
    assert wide["aspect"] == 4.0
