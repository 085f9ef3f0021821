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
        f"{risk.name_en} {risk.crop_name_en.lower()} symptoms",
        f"{risk.name_uk} {risk.crop_name_uk.lower()} симптоми",
        f"{risk.name_uk} {risk.plant_part} фото",
    ]
    queries: dict[str, str] = {}
    for query in candidates:
        key = " ".join(query.lower().split())
        if key and key not in queries:
            queries[key] = " ".join(query.split())
    return list(queries.values())[:limit]
