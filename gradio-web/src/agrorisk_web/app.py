"""The Gradio page: Compare, Risk catalog, Models and Services tabs; all data from the backend API."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (analytics must be off before the import)
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import HTMLResponse  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from agrorisk_common.annotate import annotate  # noqa: E402
from agrorisk_web import service_state, views  # noqa: E402
from agrorisk_web.backend_client import BackendClient, BackendError  # noqa: E402
from agrorisk_web.examples import example_photos  # noqa: E402
from agrorisk_web.settings import Settings  # noqa: E402

CSS = """
#status p { font-weight: 600; }
.risk-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 12px; margin: 6px 0; }
.risk-card summary { cursor: pointer; font-size: 1.05em; }
.disclaimer { font-size: 0.9em; opacity: 0.8; }
.verdict { border-left: 4px solid var(--color-accent); padding: 2px 12px; }
.verdict p { margin: 4px 0; }
"""
# The report runs Evidently's scripts: sandboxed (an opaque origin), they never reach this page's state.
SANDBOX = {"Content-Security-Policy": "sandbox allow-scripts", "X-Content-Type-Options": "nosniff"}
_EMPTY_COMPARE = (None, None, "", "", [], "", "")


def build_demo(settings: Settings) -> gr.Blocks:
    """The page; every handler asks the backend over HTTP and turns its failures into messages."""
    backend = BackendClient(settings)

    async def run_compare(photo: str | None, crop: str | None = None):
        if not photo:
            return (*_EMPTY_COMPARE, "⚠ Завантажте фото / upload a photo first", None, "")
        path = Path(photo)
        data = path.read_bytes()
        try:
            result = await backend.compare(data, path.name, crop or None)
        except BackendError as exc:
            return (*_EMPTY_COMPARE, f"⚠ {exc}", None, "")
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        status = "✓ Готово / done"
        failed = [side for side in ("local", "gemini") if result[side].get("error")]
        if failed:
            status = "⚠ " + " · ".join(
                f"{'YOLO' if side == 'local' else 'Gemini'}: {result[side]['error']}" for side in failed
            )
        return (
            annotate(image, result["local"]["detections"]),
            annotate(image, result["gemini"]["detections"]),
            views.side_summary("YOLO", result["local"]),
            views.side_summary("Gemini", result["gemini"]),
            views.comparison_rows(result),
            views.agreement_summary(result),
            views.guidance_cards(result),
            status,
            {"photo": photo, "request_id": result["request_id"]},
            views.verdict_html(result),  # last: API clients index the outputs before it
        )

    async def send_feedback(
        verdict: str, state: dict[str, Any] | None, source: str, correct_risk: str | None
    ):
        if not state:
            return "⚠ Спершу порівняйте фото / compare a photo first"
        path = Path(state["photo"])
        fields = {"verdict": verdict, "source": source, "request_id": state["request_id"]}
        if correct_risk:
            fields["correct_risk_id"] = correct_risk
        try:
            await backend.feedback(path.read_bytes(), path.name, fields)
        except BackendError as exc:
            return f"⚠ {exc}"
        return "Дякуємо! Відгук збережено для розмітки / thank you, saved for labelling."

    async def feedback_right(state, source, correct_risk):
        return await send_feedback("right", state, source, correct_risk)

    async def feedback_wrong(state, source, correct_risk):
        return await send_feedback("wrong", state, source, correct_risk)

    async def load_catalog():
        try:
            risks = await backend.risks()
        except BackendError as exc:
            empty = gr.update(choices=[])
            return [], f"<p>⚠ {exc}</p>", empty, empty, gr.update(choices=[("—", "")], value="")
        return (
            risks,
            views.catalog_cards(risks),
            gr.update(choices=views.crop_choices(risks), value=""),
            gr.update(choices=views.risk_choices(risks)),
            gr.update(choices=views.photo_crop_choices(risks), value=""),
        )

    async def load_models():
        try:
            models = await backend.models()
        except BackendError as exc:
            return f"⚠ {exc}", [], gr.update(choices=[], value=None)
        versions, chosen = views.model_versions(models)
        return (
            views.models_summary(models),
            views.model_rows(models),
            gr.update(choices=versions, value=chosen),
        )

    async def load_history(version: str | None):
        empty = views.curve_frame([], [])
        if not version:
            return "", empty, empty
        try:
            history = await backend.history(version)
        except BackendError as exc:
            return f"⚠ {exc}", empty, empty
        epochs = history["epochs"]
        return (
            views.history_note(history),
            views.curve_frame(epochs, views.LOSS_SERIES),
            views.curve_frame(epochs, views.QUALITY_SERIES),
        )

    async def load_drift():
        try:
            summary = await backend.drift()
        except BackendError as exc:
            if exc.status != 404:
                return f"**Дрейф даних / Data drift:** ⚠ {exc}"
            summary = None
        return views.drift_summary(summary, drift_report_href(settings))

    async def load_links():
        try:
            links = await backend.links()
            return views.links_html(links, await service_state.probe(links))
        except BackendError as exc:
            return f"<p>⚠ {exc}</p>"

    with gr.Blocks(title="AgroRisk", analytics_enabled=False) as demo:
        gr.Markdown(
            "# AgroRisk\nРозпізнавання ризиків для посівів за фото · crop risk recognition from photos"
        )
        risks_state = gr.State([])
        compare_state = gr.State(None)
        with gr.Tab("Порівняння / Compare", elem_id="tab-compare"):
            with gr.Row():
                photo = gr.Image(
                    type="filepath",
                    label="Фото / Photo",
                    sources=["upload"],
                    elem_id="photo-input",
                    height=320,
                )
                with gr.Column():
                    gr.Examples(example_photos(), inputs=photo, label="Приклади / Examples")
                    photo_crop = gr.Dropdown(
                        [("Не вказано / not given", "")],
                        value="",
                        label="Культура на фото (необов'язково) / Crop in the photo (optional)",
                        elem_id="photo-crop",
                    )
                    compare_button = gr.Button(
                        "Порівняти / Compare", variant="primary", elem_id="compare-button"
                    )
                    status = gr.Markdown(elem_id="status")
                    verdict = gr.HTML(elem_id="verdict")
                    agreement = gr.Markdown(elem_id="agreement")
            with gr.Row():
                local_image, local_summary = _side("YOLO (локальна модель / local model)", "YOLO", "local")
                gemini_image, gemini_summary = _side("Gemini", "Gemini", "gemini")
            table = gr.Dataframe(
                headers=views.TABLE_HEADERS,
                label="Порівняння / Comparison",
                elem_id="comparison-table",
                interactive=False,
                wrap=True,
            )
            gr.Markdown("### Що робити / What to do")
            guidance = gr.HTML(elem_id="guidance")
            with gr.Accordion("Відгук / Feedback", open=True, elem_id="feedback"):
                with gr.Row():
                    feedback_source = gr.Dropdown(
                        [("Обидві / both", "both"), ("YOLO", "local"), ("Gemini", "gemini")],
                        value="both",
                        label="Про яку модель / which model",
                        elem_id="feedback-source",
                    )
                    correct_risk = gr.Dropdown(
                        [],
                        label="Правильний ризик / correct risk (optional)",
                        elem_id="feedback-risk",
                        allow_custom_value=False,
                    )
                with gr.Row():
                    right_button = gr.Button("✓ Правильно / Right", elem_id="feedback-right")
                    wrong_button = gr.Button("✗ Неправильно / Wrong", elem_id="feedback-wrong")
                feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Tab("Каталог ризиків / Risk catalog", elem_id="tab-catalog"):
            with gr.Row():
                search = gr.Textbox(
                    label="Пошук / Search", placeholder="іржа, rust, Puccinia…", elem_id="catalog-search"
                )
                crop = gr.Dropdown([], label="Культура / Crop", elem_id="catalog-crop")
            catalog_html = gr.HTML(elem_id="catalog-cards")
        with gr.Tab("Моделі / Models", elem_id="tab-models"):
            models_refresh = gr.Button("Оновити / Refresh", elem_id="models-refresh")
            models_summary = gr.Markdown(elem_id="models-summary")
            models_table = gr.Dataframe(
                headers=views.MODEL_HEADERS, elem_id="models-table", interactive=False
            )
            curves_version = gr.Dropdown(
                [], label="Криві навчання версії / Training curves of version", elem_id="curves-version"
            )
            curves_note = gr.Markdown(elem_id="curves-note")
            with gr.Row():
                loss_plot = _curve_plot("Втрати / Loss", "loss-plot")
                quality_plot = _curve_plot("Якість на валідації / Validation quality", "quality-plot")
            drift = gr.Markdown(elem_id="drift-summary")
        with gr.Tab("Сервіси / Services", elem_id="tab-services"):
            links = gr.HTML(elem_id="services-links")
            refresh_links = gr.Button("Оновити стан / Refresh state", elem_id="refresh-links", size="sm")

        compare_button.click(
            run_compare,
            inputs=[photo, photo_crop],
            outputs=[
                local_image,
                gemini_image,
                local_summary,
                gemini_summary,
                table,
                agreement,
                guidance,
                status,
                compare_state,
                verdict,
            ],
        )
        feedback_inputs = [compare_state, feedback_source, correct_risk]
        right_button.click(feedback_right, inputs=feedback_inputs, outputs=feedback_status)
        wrong_button.click(feedback_wrong, inputs=feedback_inputs, outputs=feedback_status)
        search.change(views.catalog_cards, inputs=[risks_state, search, crop], outputs=catalog_html)
        crop.change(views.catalog_cards, inputs=[risks_state, search, crop], outputs=catalog_html)
        models_refresh.click(load_models, outputs=[models_summary, models_table, curves_version])
        models_refresh.click(load_drift, outputs=drift)
        curves_version.change(
            load_history, inputs=curves_version, outputs=[curves_note, loss_plot, quality_plot]
        )
        demo.load(load_catalog, outputs=[risks_state, catalog_html, crop, correct_risk, photo_crop])
        demo.load(load_models, outputs=[models_summary, models_table, curves_version])
        demo.load(load_drift, outputs=drift)
        demo.load(load_links, outputs=links)
        refresh_links.click(load_links, outputs=links)
    return demo


def _side(title: str, label: str, elem: str) -> tuple[gr.Image, gr.Markdown]:
    """One recogniser's column of the Compare tab: its annotated photo and its summary."""
    with gr.Column():
        gr.Markdown(f"### {title}")
        image = gr.Image(
            label=label,
            show_label=False,
            type="pil",
            format="jpeg",
            elem_id=f"{elem}-image",
            interactive=False,
        )
        return image, gr.Markdown(elem_id=f"{elem}-summary")


def _curve_plot(title: str, elem_id: str) -> gr.LinePlot:
    """A training-curve plot: one line per series (views.curve_frame's long form) over the epochs."""
    return gr.LinePlot(x="epoch", y="value", color="series", title=title, elem_id=elem_id)


def drift_report_href(settings: Settings) -> str:
    """Where the browser opens the Evidently report: this app's own `/drift-report`, which fetches
    it from the backend (whose address the browser may not reach)."""
    return f"{settings.root_path.rstrip('/')}/drift-report"


def create_web_app(settings: Settings) -> FastAPI:
    """Gradio mounted on a FastAPI app that also answers /healthz (for Docker and the gateway) and
    /drift-report (the backend's latest Evidently report)."""
    app = FastAPI(title="AgroRisk web", docs_url=None, redoc_url=None, openapi_url=None)
    backend = BackendClient(settings)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/drift-report", response_class=HTMLResponse)
    async def drift_report() -> HTMLResponse:
        try:
            return HTMLResponse(await backend.drift_report(), headers=SANDBOX)
        except BackendError as exc:
            return HTMLResponse(f"<p>{escape(str(exc))}</p>", status_code=exc.status or 502)

    return gr.mount_gradio_app(
        app,
        build_demo(settings),
        path="/",
        root_path=settings.root_path or None,
        css=CSS,
        max_file_size=f"{settings.max_upload_mb}mb",
    )
