"""Shared fixtures: a tiny risk catalog, a drawn YOLO dataset and the fake Gemini server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from agrorisk_common.catalog import Catalog, load_catalog
from agrorisk_common.procedural import generate_leaf_dataset
from agrorisk_devtools.gemini_standin import FakeGeminiServer
from agrorisk_gemini.settings import GeminiSettings

API_KEY = "test-key-not-secret"
RISK_IDS = ["wheat-leaf-rust", "wheat-septoria-leaf-blotch", "wheat-powdery-mildew"]
HEADER = "id,crop,risk_type,name_uk,name_en,latin_name,plant_part,symptoms_uk\n"
ROWS = [
    "wheat-leaf-rust,winter_wheat,disease,Бура іржа,Leaf rust,Puccinia triticina,листя,Руді пустули на листку.",
    "wheat-septoria-leaf-blotch,winter_wheat,disease,Септоріоз,Septoria blotch,,листя,Світлі плями з пікнідами.",
    "wheat-powdery-mildew,winter_wheat,disease,Борошниста роса,Powdery mildew,,листя,Білий павутинний наліт.",
]


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog")
    (folder / "winter_wheat.csv").write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def catalog(catalog_dir: Path) -> Catalog:
    return load_catalog(catalog_dir)


@pytest.fixture(scope="session")
def leaf_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data.yaml of a drawn dataset: 4 photos per risk, 1 of them in val."""
    return generate_leaf_dataset(tmp_path_factory.mktemp("leaves"), RISK_IDS, images_per_class=4, imgsz=64)


@pytest.fixture(scope="session")
def fake_server():
    with FakeGeminiServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def gemini(fake_server: FakeGeminiServer) -> FakeGeminiServer:
    """The session's fake Gemini, with nothing scripted and no requests recorded."""
    fake_server.reset()
    return fake_server


@pytest.fixture
def settings(gemini: FakeGeminiServer) -> GeminiSettings:
    return GeminiSettings(
        _env_file=None,
        api_key=API_KEY,
        base_url=gemini.base_url,
        backoff_initial_s=0.01,
        timeout_s=5,
        max_attempts=3,
    )


@pytest.fixture(scope="session")
def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (40, 140, 40)).save(buffer, "PNG")
    return buffer.getvalue()
