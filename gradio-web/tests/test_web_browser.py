"""The UI in a real browser (Debian chromium + playwright) against a real backend, Ray Serve and the
fake Gemini server. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from agrorisk_common.catalog import load_catalog
from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.drift_report import publish_drift

ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    image, _ = draw_leaf(1, random.Random(3), size=512)
    path = tmp_path_factory.mktemp("photos") / "field-photo.jpg"
    image.save(path, quality=92)
    return path


def compare(page, url: str, photo: Path) -> None:
    page.goto(url)
    page.locator("#photo-input input[type=file]").set_input_files(str(photo))
    expect(page.locator("#photo-input img")).to_be_visible()
    page.locator("#compare-button").click()


def test_photo_to_side_by_side_result_with_table_and_guidance(page, web_url, photo):
    ARTIFACTS.mkdir(exist_ok=True)
    compare(page, web_url, photo)
    expect(page.locator("#status")).to_contain_text("Готово / done")
    verdict = page.locator("#verdict .verdict")
    expect(verdict).to_have_attribute("data-verdict", re.compile(r"risks_found|unsure|no_risk_found"))
    expect(verdict).to_contain_text(re.compile(r"Знайдено ризики|не впевнена|не знайдено"))
    expect(page.locator("#local-image img")).to_be_visible()
    expect(page.locator("#gemini-image img")).to_be_visible()
    expect(page.locator("#local-summary")).to_contain_text(re.compile(r"v1 .*\d+ ms"))
    expect(page.locator("#gemini-summary")).to_contain_text(re.compile(r"\d+ ms · вартість / cost \$0\.\d+"))
    table = page.locator("#comparison-table")
    expect(table).to_contain_text("Gemini conf")
    expect(table).to_contain_text(
        re.compile(r"обидві / both|лише YOLO / YOLO only|лише Gemini / Gemini only")
    )
    table_text = table.inner_text()
    assert any(f"{r.name_uk} / {r.name_en}" in table_text for r in load_catalog())
    cards = page.locator("#guidance details.risk-card")
    expect(cards.first).to_be_visible()
    expect(cards.first).to_contain_text("Хімічний захист")
    expect(cards.first).to_contain_text("Джерело / Source")
    expect(page.locator("#guidance")).to_contain_text("не рецепт")
    expect(page.locator(".toast-body")).to_have_count(0)  # no Gradio error popup
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    page.locator("#feedback-wrong").click()
    expect(page.locator("#feedback-status")).to_contain_text("Відгук збережено")


def test_risk_catalog_tab_finds_a_risk_card(page, web_url):
    page.goto(web_url)
    page.locator("#tab-catalog-button").click()
    page.locator("#catalog-search textarea, #catalog-search input").first.fill("Puccinia triticina")
    card = page.locator("#catalog-cards details.risk-card")
    expect(card).to_have_count(1)
    card.locator("summary").click()
    expect(card).to_contain_text("Бура листкова іржа пшениці")
    expect(card).to_contain_text("Економічний поріг")
    page.screenshot(path=str(ARTIFACTS / "catalog.png"), full_page=True)


def test_models_and_services_tabs(page, web_url, ray_stack):
    publish_drift(ray_stack[1])  # the pipeline's latest drift verdict, in the backend's shared store
    page.goto(web_url)
    page.locator("#tab-models-button").click()
    expect(page.locator("#models-summary")).to_contain_text("production")
    expect(page.locator("#models-table")).to_contain_text("v1")
    # the production version's curves, from its run's metrics.json in the registry
    expect(page.locator("#curves-note")).to_contain_text("v1: 2 епох / epochs")
    expect(page.locator("#loss-plot")).to_contain_text("train box")
    expect(page.locator("#quality-plot")).to_contain_text("mAP50")
    expect(page.locator("#drift-summary")).to_contain_text("brightness")
    report_link = page.locator("#drift-summary a", has_text="Evidently")
    expect(report_link).to_have_attribute("href", "/drift-report")
    with page.context.expect_page() as opened:
        report_link.click()
    expect(opened.value).to_have_title("Evidently")  # the backend's report, through the UI's own route
    page.screenshot(path=str(ARTIFACTS / "models.png"), full_page=True)
    page.locator("#tab-services-button").click()
    expect(page.locator("#services-links a[data-service=swagger]")).to_have_attribute("href", "/docs")
    expect(page.locator("#services-links")).to_contain_text("Dagster")


def test_backend_down_is_a_clear_message(page, web_factory, photo):
    url = web_factory("http://127.0.0.1:9")
    compare(page, url, photo)
    expect(page.locator("#status")).to_contain_text("Бекенд недоступний / the backend is unreachable")


def test_gemini_not_configured_still_shows_the_local_result(
    page, web_factory, backend_without_gemini_url, photo
):
    url = web_factory(backend_without_gemini_url)
    compare(page, url, photo)
    expect(page.locator("#status")).to_contain_text("Gemini is not configured")
    expect(page.locator("#local-image img")).to_be_visible()
    expect(page.locator("#local-summary")).to_contain_text("v1")
    expect(page.locator("#gemini-summary")).to_contain_text("Gemini is not configured")
    page.screenshot(path=str(ARTIFACTS / "compare-without-gemini.png"), full_page=True)
