"""What the page shows, from backend-shaped JSON: table rows, cards, summaries, annotated boxes."""

from __future__ import annotations

from PIL import Image

from agrorisk_common.annotate import annotate, colour_of
from agrorisk_common.catalog import load_catalog
from agrorisk_web import service_state, views


def card(risk_id="wheat-leaf-rust", **extra) -> dict:
    base = {
        "id": risk_id,
        "known": True,
        "crop": "winter_wheat",
        "crop_name_uk": "Пшениця озима",
        "crop_name_en": "Winter wheat",
        "risk_type": "disease",
        "name_uk": "Бура іржа",
        "name_en": "Leaf rust",
        "latin_name": "Puccinia triticina",
        "symptoms_uk": "Руді пустули на листі",
        "has_guidance": True,
        "guidance": {
            "control_chemical": "тебуконазол",
            "economic_threshold": "5 %",
            "source": "EPPO PP 1/26",
            "control_agrotechnical": "",
            "control_biological": "",
            "bbch": "BBCH 31–75",
        },
        "look_alikes": [{"id": "wheat-septoria-leaf-blotch", "name_uk": "Септоріоз", "name_en": "Septoria"}],
    }
    return {**base, **extra}


def test_comparison_rows_show_both_confidences_and_who_found_it():
    result = {
        "table": [
            {
                "name_uk": "Бура іржа",
                "name_en": "Leaf rust",
                "gemini_confidence": 0.9,
                "local_confidence": 0.75,
                "iou": 0.81234,
                "found_by": "both",
            },
            {
                "name_uk": "Септоріоз",
                "name_en": "Septoria",
                "gemini_confidence": None,
                "local_confidence": 0.4,
                "iou": None,
                "found_by": "local",
            },
        ]
    }
    assert views.comparison_rows(result) == [
        ["Бура іржа / Leaf rust", "0.90", "0.75", "0.81", "обидві / both"],
        ["Септоріоз / Septoria", "—", "0.40", "—", "лише YOLO / YOLO only"],
    ]


def test_guidance_card_lists_measures_source_and_escapes_html():
    html = views.risk_card(card(symptoms_uk="<script>alert(1)</script>"), open_=True)
    assert html.startswith('<details class="risk-card" data-risk-id="wheat-leaf-rust" open>')
    assert "тебуконазол" in html and "EPPO PP 1/26" in html and "Септоріоз / Septoria" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_guidance_cards_open_the_first_and_carry_the_disclaimer():
    result = {
        "risks": [card(), card("wheat-septoria-leaf-blotch")],
        "table": [{"risk_id": "wheat-leaf-rust", "found_by": "gemini"}],
    }
    html = views.guidance_cards(result)
    assert html.count("<details") == 2 and html.count(" open>") == 1
    assert "лише Gemini / Gemini only" in html and "не рецепт" in html


def test_side_summary_shows_latency_cost_and_error():
    ok = views.side_summary(
        "Gemini",
        {
            "source": "gemini",
            "model_version": "gemini-2.5-flash",
            "latency_ms": 812.4,
            "cost_usd": 0.00042,
            "detections": [{}],
            "error": None,
        },
    )
    assert "812 ms" in ok and "$0.000420" in ok and "detections: 1" in ok
    failed = views.side_summary(
        "Gemini", {"source": "gemini", "detections": [], "error": "Gemini is not configured"}
    )
    assert "⚠ Gemini is not configured" in failed


def test_catalog_search_matches_every_word_and_crop():
    net_blotch = card(
        "barley-net-blotch",
        crop="barley",
        name_uk="Сітчаста плямистість",
        name_en="Net blotch",
        latin_name="Pyrenophora teres",
    )
    risks = [card(), net_blotch]
    assert views.catalog_cards(risks, "puccinia", "").count("<details") == 1
    assert views.catalog_cards(risks, "", "barley").count('data-risk-id="barley-net-blotch"') == 1
    assert "Нічого не знайдено" in views.catalog_cards(risks, "banana", None)
    assert views.catalog_cards(risks, None, None).count("<details") == 2


def test_every_catalog_risk_renders_a_card_with_guidance():
    for risk in load_catalog():
        html = views.risk_card(
            {
                **risk.model_dump(mode="json"),
                "known": True,
                "has_guidance": risk.has_guidance,
                "crop_name_uk": risk.crop_name_uk,
                "crop_name_en": risk.crop_name_en,
                "look_alikes": [],
            }
        )
        assert risk.name_uk in html.replace("&#x27;", "'")


def test_annotate_draws_each_box_in_its_risk_colour():
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    detection = {
        "risk_id": "wheat-leaf-rust",
        "name_uk": "Бура іржа",
        "name_en": "Leaf rust",
        "confidence": 0.8,
        "box": {"x1": 0.25, "y1": 0.5, "x2": 0.75, "y2": 0.9},
    }
    out = annotate(image, [detection])
    assert out.size == image.size and image.getpixel((50, 70)) == (255, 255, 255)
    assert out.getpixel((50, 70)) == colour_of("wheat-leaf-rust")  # the left edge of the box
    assert out.getpixel((100, 70)) == (255, 255, 255)  # inside the box stays the photo


def verdict_result(verdict: str, risk_ids: list[str], uk: str, en: str, risks: list[dict]) -> dict:
    return {
        "verdict": verdict,
        "verdict_info": {"message_uk": uk, "message_en": en, "risk_ids": risk_ids, "crop": None},
        "risks": risks,
        "table": [{"risk_id": r["id"], "found_by": "local"} for r in risks],
    }


def test_no_risk_found_shows_the_verdict_message_instead_of_cards():
    result = verdict_result(
        "no_risk_found",
        [],
        "Ризиків на цій культурі (Томат) не знайдено.",
        "No risk found on this crop (Tomato).",
        [card()],  # a box below the unsure floor: not a finding
    )
    html = views.guidance_cards(result)
    assert "<details" not in html and 'data-verdict="no_risk_found"' in html
    assert "No risk found on this crop (Tomato)." in html and "(Томат)" in html
    assert "Ризиків не знайдено / no risks found" not in html


def test_unsure_is_told_apart_from_no_risk_found():
    result = verdict_result(
        "unsure",
        ["wheat-leaf-rust"],
        "Модель не впевнена: можливо Бура іржа.",
        "The model is unsure: possibly Leaf rust.",
        [card(), card("wheat-septoria-leaf-blotch")],
    )
    html = views.guidance_cards(result)
    assert html.count("<details") == 1 and 'data-risk-id="wheat-leaf-rust"' in html
    assert "Модель не впевнена" in html and "possible risks" in html
    verdict = views.verdict_html(result)
    assert 'data-verdict="unsure"' in verdict and "the model is unsure" in verdict
    assert views.verdict_html({"verdict": "no_risk_found", "verdict_info": {}}) != verdict


def test_risks_found_shows_only_the_found_risks_cards_in_verdict_order():
    result = verdict_result(
        "risks_found",
        ["wheat-septoria-leaf-blotch", "wheat-leaf-rust"],
        "Знайдено ризики: …",
        "Risks found: …",
        [card(), card("wheat-septoria-leaf-blotch"), card("barley-net-blotch")],
    )
    html = views.guidance_cards(result)
    assert html.count("<details") == 2 and "barley-net-blotch" not in html
    assert html.index("wheat-septoria-leaf-blotch") < html.index('data-risk-id="wheat-leaf-rust"')


def test_side_summary_carries_its_verdict_and_escapes_it():
    summary = views.side_summary(
        "YOLO",
        {
            "source": "yolo",
            "detections": [],
            "error": None,
            "verdict": "no_risk_found",
            "verdict_info": {"message_uk": "Ризиків <b>не</b> знайдено.", "message_en": "x"},
        },
    )
    assert "✓ Ризиків &lt;b&gt;не&lt;/b&gt; знайдено." in summary


def test_services_tab_shows_which_ui_answers_now():
    import asyncio
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        links = {"gradio": f"http://127.0.0.1:{server.server_port}/", "dagster": "http://127.0.0.1:9/",
                 "minio": "/minio/"}  # fmt: skip
        states = asyncio.run(service_state.probe(links))
    finally:
        server.shutdown()
    assert states == {"gradio": True, "dagster": False, "minio": None}
    html = views.links_html(links, states)
    assert '<li data-state="up"><a href="http://127.0.0.1' in html
    assert 'data-state="down"' in html and "не відповідає / down" in html
    assert '<li data-state="unknown"><a href="/minio/"' in html


def test_training_curves_are_split_into_loss_and_quality_series():
    epochs = [
        {"epoch": 1.0, "train/box_loss": 3.0, "val/box_loss": 2.5, "metrics/mAP50(B)": 0.1, "lr/pg0": 0.01},
        {"epoch": 2.0, "train/box_loss": 2.0, "val/box_loss": 2.2, "metrics/mAP50(B)": 0.3, "lr/pg0": 0.01},
    ]
    loss = views.curve_frame(epochs, views.LOSS_SERIES)
    assert sorted(set(loss["series"])) == ["train box", "val box"]
    assert loss[loss["series"] == "train box"]["value"].tolist() == [3.0, 2.0]
    quality = views.curve_frame(epochs, views.QUALITY_SERIES)
    assert quality.to_dict("records") == [
        {"epoch": 1, "value": 0.1, "series": "mAP50"},
        {"epoch": 2, "value": 0.3, "series": "mAP50"},
    ]
    note = views.history_note({"version": "v3", "epochs": epochs})
    assert "v3" in note and "2 епох" in note and "0.300" in note
    assert views.model_versions({"versions": [{"version": "v2"}, {"version": "v1"}], "aliases": {}}) == (
        ["v2", "v1"],
        "v2",
    )


def test_drift_section_names_the_drifted_features_and_links_the_report_only_when_published():
    summary = {
        "status": "drift", "drift_share": 0.3, "drifted_columns": ["brightness", "n_boxes"],
        "columns": ["brightness", "sharpness", "n_boxes", "top_risk"], "n_reference": 40, "n_current": 35,
        "reference_model_version": "v3", "created_at": "2026-12-04T02:10:00Z", "has_report": True,
        "outputs_skipped": None,
    }  # fmt: skip
    text = views.drift_summary(summary, "/app/drift-report")
    assert (
        "⚠ дрейф виявлено / drift detected" in text and "2 / 4" in text and "`brightness`, `n_boxes`" in text
    )
    assert "model v3" in text and "2026-12-04 02:10 UTC" in text
    assert "[Звіт Evidently / Evidently report](/app/drift-report)" in text
    quiet = views.drift_summary(
        summary
        | {"status": "ok", "drifted_columns": [], "has_report": False, "outputs_skipped": "other model"},
        "/drift-report",
    )
    assert (
        "no drift" in quiet
        and "Evidently report" not in quiet
        and "outputs not compared: other model" in quiet
    )
    assert "no drift report yet" in views.drift_summary(None, "/drift-report")
