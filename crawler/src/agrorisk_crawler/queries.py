"""Search queries for one risk, built from its catalog entry."""

from __future__ import annotations

from agrorisk_common.catalog import Risk


def build_queries(risk: Risk, limit: int) -> list[str]:
    """The catalog's own queries (Ukrainian, English, Latin), then crop + name + symptom words.

    Repeats (ignoring case and spacing) are dropped; at most `limit` queries, most specific first.
    """
    candidates = [
        *risk.queries_uk,
        *risk.queries_en,
        risk.latin_name,
        f"{_with_crop(risk.name_en, risk.crop_name_en)} symptoms",
        f"{_with_crop(risk.name_uk, risk.crop_name_uk)} симптоми",
        f"{risk.name_uk} {risk.plant_part} фото",
    ]
    queries: dict[str, str] = {}
    for query in candidates:
        key = " ".join(query.lower().split())
        if key and key not in queries:
            queries[key] = " ".join(query.split())
    return list(queries.values())[:limit]


def _with_crop(name: str, crop: str) -> str:
    """The risk name, plus the crop unless the name already mentions it (stem match, for inflection)."""
    if any(word[:5].lower() in name.lower() for word in crop.split()):
        return name
    return f"{name} {crop.lower()}"
