"""Pure functions from backend JSON to what the page shows: cards, tables, summaries, links."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

RISK_TYPES_UK = {"disease": "хвороба", "pest": "шкідник", "weed": "бур'ян", "abiotic": "абіотичне"}
FOUND_BY = {"both": "обидві / both", "local": "лише YOLO / YOLO only", "gemini": "лише Gemini / Gemini only"}
TABLE_HEADERS = ["Ризик / Risk", "Gemini conf", "YOLO conf", "IoU", "Згода / Agreement"]
DISCLAIMER = (
    "Поради для перевірки агрономом, не рецепт. / Advice to be checked by an agronomist, not a prescription."
)
_GUIDANCE_FIELDS = (
    ("control_agrotechnical", "Агротехнічні заходи / Agrotechnical"),
    ("control_biological", "Біологічний захист / Biological"),
    ("control_chemical", "Хімічний захист (діючі речовини) / Chemical (active ingredients)"),
    ("economic_threshold", "Економічний поріг шкодочинності / Economic threshold"),
    ("bbch", "Фази BBCH / Growth stages"),
)


def _conf(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def comparison_rows(result: dict[str, Any]) -> list[list[str]]:
    """The comparison table: one row per risk either side found."""
    return [
        [
            f"{row['name_uk']} / {row['name_en']}",
            _conf(row["gemini_confidence"]),
            _conf(row["local_confidence"]),
            _conf(row["iou"]),
            FOUND_BY[row["found_by"]],
        ]
        for row in result["table"]
    ]


def side_summary(title: str, prediction: dict[str, Any]) -> str:
    """Markdown under one image: model version, latency, cost, detections, or the error."""
    latency = prediction.get("latency_ms")
    cost = prediction.get("cost_usd")
    parts = [
        f"**{title}**",
        f"модель / model `{prediction.get('model_version') or '—'}`",
        f"час / time {latency:.0f} ms" if latency is not None else "час / time —",
        f"вартість / cost ${cost:.6f}"
        if cost
        else "вартість / cost $0 (локально / local)"
        if prediction["source"] != "gemini"
        else "вартість / cost —",
        f"знахідок / detections: {len(prediction['detections'])}",
    ]
    summary = " · ".join(parts)
    verdict = prediction.get("verdict")
    if verdict in VERDICT_TITLES and verdict != "unavailable":
        summary += f"\n\n{VERDICT_ICONS[verdict]} {escape(prediction['verdict_info']['message_uk'])}"
    if prediction.get("error"):
        summary += f"\n\n⚠ {escape(prediction['error'])}"
    return summary


VERDICT_ICONS = {"risks_found": "⚠", "unsure": "❓", "no_risk_found": "✓", "unavailable": "⚠"}
VERDICT_TITLES = {
    "risks_found": "Знайдено ризики / risks found",
    "unsure": "Модель не впевнена / the model is unsure",
    "no_risk_found": "Ризиків не знайдено / no risk found",
    "unavailable": "Немає відповіді / no answer",
}


def verdict_html(result: dict[str, Any]) -> str:
    """The verdict in both languages (HTML): risks found, no risk found on this crop, or the model
    unsure — three different things a grower acts on differently."""
    verdict = result.get("verdict")
    if verdict not in VERDICT_TITLES:
        return ""
    info = result.get("verdict_info") or {}
    return (
        f'<div class="verdict" data-verdict="{verdict}">'
        f"<p><b>{VERDICT_ICONS[verdict]} {VERDICT_TITLES[verdict]}</b></p>"
        f"<p>{escape(info.get('message_uk', ''))}</p><p>{escape(info.get('message_en', ''))}</p></div>"
    )


def agreement_summary(result: dict[str, Any]) -> str:
    agreement = result.get("agreement")
    text = "—" if agreement is None else f"{agreement:.0%}"
    return f"**Згода моделей / agreement:** {text}"


def risk_card(card: dict[str, Any], summary_extra: str = "", open_: bool = False) -> str:
    """One risk as a collapsible card: names, symptoms, guidance, look-alikes and the source."""
    guidance = card.get("guidance") or {}
    rows = []
    if card.get("symptoms_uk"):
        rows.append(_row("Симптоми / Symptoms", card["symptoms_uk"]))
    rows += [_row(label, guidance[key]) for key, label in _GUIDANCE_FIELDS if guidance.get(key)]
    look_alikes = card.get("look_alikes") or []
    if look_alikes:
        names = ", ".join(
            f"{a['name_uk']} / {a['name_en']}" if a["name_uk"] != a["name_en"] else a["name_uk"]
            for a in look_alikes
        )
        rows.append(_row("Схожі ризики / Look-alikes", names))
    if guidance.get("source"):
        rows.append(_row("Джерело / Source", guidance["source"]))
    if not card.get("known", True):
        rows.append("<p>Ризику немає в каталозі / this risk is not in the catalog.</p>")
    elif not card.get("has_guidance"):
        rows.append("<p>Для цього ризику ще немає порад / no guidance for this risk yet.</p>")
    meta = " · ".join(
        escape(x)
        for x in (
            card.get("crop_name_uk", ""),
            RISK_TYPES_UK.get(card.get("risk_type", ""), ""),
            card.get("latin_name", ""),
        )
        if x
    )
    return (
        f'<details class="risk-card" data-risk-id="{escape(card["id"])}"{" open" if open_ else ""}>'
        f"<summary><b>{escape(card['name_uk'])}</b> / {escape(card['name_en'])}"
        f"{f' <small>({meta})</small>' if meta else ''}{escape(summary_extra)}</summary>"
        f"{''.join(rows)}</details>"
    )


def _row(label: str, text: str) -> str:
    return f"<p><b>{escape(label)}:</b> {escape(text)}</p>"


def guidance_cards(result: dict[str, Any]) -> str:
    """The cards under the compare result, the first one open: the risks the verdict names (found,
    or suspected when the model is unsure); with no risk, the verdict's message instead of cards."""
    verdict = result.get("verdict")
    chosen = result["risks"]
    if verdict is not None:
        named = (result.get("verdict_info") or {}).get("risk_ids") or []
        chosen = [card for card in result["risks"] if card["id"] in named]
        chosen.sort(key=lambda card: named.index(card["id"]))
    if not chosen:
        return verdict_html(result) or "<p>Ризиків не знайдено / no risk found.</p>"
    found_by = {row["risk_id"]: row["found_by"] for row in result["table"]}
    cards = [
        risk_card(
            card, f" — {FOUND_BY[found_by[card['id']]]}" if card["id"] in found_by else "", open_=i == 0
        )
        for i, card in enumerate(chosen)
    ]
    unsure = (
        '<p class="unsure">Модель не впевнена: це можливі ризики, перевірте рослину. / '
        "The model is unsure: these are possible risks, check the plant.</p>"
        if verdict == "unsure"
        else ""
    )
    return (
        f'<div class="guidance">{unsure}{"".join(cards)}<p class="disclaimer">{escape(DISCLAIMER)}</p></div>'
    )


def catalog_cards(risks: list[dict[str, Any]], query: str | None = "", crop: str | None = "") -> str:
    """The Risk catalog tab: every risk matching the search words and crop, as cards."""
    words = (query or "").lower().split()
    chosen = [
        r
        for r in risks
        if (not crop or r["crop"] == crop)
        and all(
            w in " ".join((r["id"], r["name_uk"], r["name_en"], r["latin_name"], r["symptoms_uk"])).lower()
            for w in words
        )
    ]
    if not chosen:
        return "<p>Нічого не знайдено / nothing found.</p>"
    header = f"<p>{len(chosen)} з {len(risks)} ризиків / of {len(risks)} risks</p>"
    return header + "".join(risk_card(r) for r in chosen)


def crop_choices(risks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    crops = {r["crop"]: f"{r['crop_name_uk']} / {r['crop_name_en']}" for r in risks}
    return [("Усі культури / all crops", ""), *((label, slug) for slug, label in crops.items())]


def photo_crop_choices(risks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The crop of the photo to compare, when the grower knows it (named in "no risk found")."""
    return [("Не вказано / not given", ""), *crop_choices(risks)[1:]]


def risk_choices(risks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"{r['name_uk']} / {r['name_en']}", r["id"]) for r in risks]


MODEL_HEADERS = [
    "Версія / Version",
    "Аліаси / Aliases",
    "mAP50",
    "Precision",
    "Recall",
    "Датасет / Dataset",
    "Створено / Created",
    "W&B",
]


# Ultralytics' results.csv columns, by the plot each one goes on: (column, legend).
LOSS_SERIES = [
    (f"{split}/{loss}_loss", f"{split} {loss}")
    for split in ("train", "val")
    for loss in ("box", "cls", "dfl")
]
QUALITY_SERIES = [
    ("metrics/mAP50(B)", "mAP50"),
    ("metrics/mAP50-95(B)", "mAP50-95"),
    ("metrics/precision(B)", "precision"),
    ("metrics/recall(B)", "recall"),
]
CURVE_COLUMNS = pd.Index(["epoch", "value", "series"])


def curve_frame(epochs: list[dict[str, float]], series: list[tuple[str, str]]) -> pd.DataFrame:
    """Long form for gr.LinePlot: one row per (epoch, series) the run recorded."""
    rows = [
        (int(row["epoch"]), row[column], legend)
        for row in epochs
        if "epoch" in row
        for column, legend in series
        if column in row
    ]
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def history_note(history: dict[str, Any]) -> str:
    epochs = history["epochs"]
    last = epochs[-1] if epochs else {}
    best = max((row.get("metrics/mAP50(B)", 0.0) for row in epochs), default=0.0)
    return (
        f"**{history['version']}**: {len(epochs)} епох / epochs · найкращий / best mAP50 {best:.3f} · "
        f"останній / last mAP50-95 {last.get('metrics/mAP50-95(B)', 0.0):.3f}"
    )


def model_versions(models: dict[str, Any]) -> tuple[list[str], str | None]:
    """Version choices, newest first, and the one to show first: production, else the newest."""
    versions = [v["version"] for v in models.get("versions") or []]
    chosen = (models.get("aliases") or {}).get("production") or (versions[0] if versions else None)
    return versions, chosen


def model_rows(models: dict[str, Any]) -> list[list[str]]:
    rows = []
    for v in models["versions"]:
        metrics = v.get("metrics") or {}
        rows.append(
            [
                v["version"],
                ", ".join(v["aliases"]) or "—",
                _metric(metrics, "mAP50", "map50", "metrics/mAP50(B)"),
                _metric(metrics, "precision", "metrics/precision(B)"),
                _metric(metrics, "recall", "metrics/recall(B)"),
                v.get("dataset_version") or "—",
                v["created_at"][:19].replace("T", " "),
                v.get("wandb_url") or v.get("wandb_run") or "—",
            ]
        )
    return rows


def _metric(metrics: dict[str, Any], *names: str) -> str:
    for name in names:
        if isinstance(metrics.get(name), int | float):
            return f"{metrics[name]:.3f}"
    return "—"


def models_summary(models: dict[str, Any]) -> str:
    aliases = ", ".join(f"`{a}` → {v}" for a, v in models["aliases"].items()) or "—"
    text = f"**Реєстр / registry:** `{models['location']}` · **аліаси / aliases:** {aliases}"
    if models.get("error"):
        text += f"\n\n⚠ {models['error']}"
    elif not models["versions"]:
        text += "\n\nМоделей ще немає / no model versions yet."
    return text


SERVICE_NAMES = {
    "gradio": "Gradio (цей інтерфейс / this UI)",
    "swagger": "Swagger (API документація / API docs)",
    "dagster": "Dagster (конвеєр / pipeline)",
    "minio_console": "MinIO console (сховище / storage)",
    "wandb": "Weights & Biases (експерименти / experiments)",
    "label_studio": "Label Studio (розмітка / labelling)",
    "ray_dashboard": "Ray dashboard",
    "triton_metrics": "Triton metrics",
    "optuna_dashboard": "Optuna dashboard (гіперпараметри / hyper-parameters)",
    "prometheus": "Prometheus (метрики й сповіщення / metrics and alerts)",
    "grafana": "Grafana (панелі / dashboards)",
}


DRIFT_STATUS = {
    "ok": "✅ дрейфу немає / no drift",
    "drift": "⚠ дрейф виявлено / drift detected",
    "insufficient_data": "… замало відповідей для висновку / too few answers for a verdict",
}


def drift_summary(summary: dict[str, Any] | None, report_href: str) -> str:
    """The Models tab's drift section: the last verdict, what drifted, and the Evidently report link."""
    if summary is None:
        return (
            "**Дрейф даних / Data drift:** звіту ще немає / no drift report yet "
            "(the pipeline's `monitoring` job publishes one)"
        )
    drifted = ", ".join(f"`{c}`" for c in summary["drifted_columns"]) or "—"
    lines = [
        f"**Дрейф даних / Data drift:** {DRIFT_STATUS.get(summary['status'], summary['status'])} — "
        f"{len(summary['drifted_columns'])} / {len(summary['columns'])} ознак / features "
        f"(поріг / threshold {summary['drift_share']:.0%}): {drifted}",
        f"Еталон / reference: {summary['n_reference']} фото моделі / photos of model "
        f"{summary.get('reference_model_version') or '?'}; поточні / current: {summary['n_current']} "
        f"відповідей / answers; {summary['created_at'][:16].replace('T', ' ')} UTC",
    ]
    if summary.get("outputs_skipped"):
        lines.append(f"Виходи моделі не порівнювались / outputs not compared: {summary['outputs_skipped']}")
    if summary.get("has_report"):
        lines.append(f"[Звіт Evidently / Evidently report]({report_href})")
    return "\n\n".join(lines)


STATE_MARKS = {
    True: ("up", "● працює / up"),
    False: ("down", "○ не відповідає / down"),
    None: ("unknown", ""),
}


def links_html(links: dict[str, str], states: dict[str, bool | None] | None = None) -> str:
    """The Services tab: one link per UI with its live state (when it was probed)."""
    states = states or {}

    def item(name: str, url: str) -> str:
        state, mark = STATE_MARKS[states.get(name)]
        return (
            f'<li data-state="{state}"><a href="{escape(url)}" target="_blank" rel="noopener" '
            f'data-service="{escape(name)}">{escape(SERVICE_NAMES.get(name, name))}</a> '
            f'<code>{escape(url)}</code> <span class="service-state">{mark}</span></li>'
        )

    return f'<ul class="service-links">{"".join(item(n, u) for n, u in links.items())}</ul>'
