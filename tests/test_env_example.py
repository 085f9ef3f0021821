"""Every setting any package reads is listed in .env.example, so a user can see and set it."""

import importlib
import inspect
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[1]
SETTINGS_MODULES = [
    "agrorisk_storage.settings",
    "agrorisk_train.settings",
    "agrorisk_crawler.settings",
    "agrorisk_gemini.settings",
    "agrorisk_labeling.settings",
    "agrorisk_triton.settings",
    "agrorisk_ray.settings",
    "agrorisk_backend.settings",
    "agrorisk_web.settings",
    "agrorisk_pipeline.settings",
]


def settings_env_vars(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = []
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if issubclass(cls, BaseSettings) and cls.__module__ == module_name:
            prefix = cls.model_config.get("env_prefix", "")
            names += [(prefix + field).upper() for field in cls.model_fields]
    return names


@pytest.mark.parametrize("module_name", SETTINGS_MODULES)
def test_every_setting_is_in_env_example(module_name):
    text = (REPO / ".env.example").read_text()
    names = settings_env_vars(module_name)
    assert names, f"{module_name} defines no settings class"
    missing = [name for name in names if name not in text]
    assert missing == [], f"add to .env.example: {', '.join(missing)}"
