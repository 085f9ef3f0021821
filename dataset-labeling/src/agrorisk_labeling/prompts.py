"""Catalog-driven Stable Diffusion prompts: crop, plant part, the risk and its symptoms."""

from __future__ import annotations

from agrorisk_common.catalog import Risk

# CLIP reads English best; the catalog's plant parts are Ukrainian words.
PLANT_PARTS_EN = {
    "лист": "leaves",
    "колос": "ear",
    "стебл": "stem",
    "корен": "roots",
    "зерн": "grain",
    "насін": "seeds",
    "бульб": "tubers",
    "качан": "cob",
    "кошик": "head",
    "стручк": "pods",
    "бобів": "pods",
    "квіт": "flowers",
    "плод": "fruits",
    "сходи": "seedlings",
    "рослин": "whole plant",
    "посів": "field crop stand",
    "ґрунт": "soil surface",
}

NEGATIVE_PROMPT = (
    "text, watermark, logo, caption, cartoon, drawing, illustration, painting, 3d render, blurry, "
    "out of focus, low quality, jpeg artifacts, deformed, people, hands, frame, border"
)


def plant_part_en(part_uk: str) -> str:
    lowered = part_uk.lower()
    found = [en for stem, en in PLANT_PARTS_EN.items() if stem in lowered]
    return ", ".join(dict.fromkeys(found)) or part_uk


def prompt_for(risk: Risk) -> str:
    """Most important words first: CLIP keeps only 77 tokens, so the Ukrainian symptoms come last."""
    latin = f" ({risk.latin_name})" if risk.latin_name else ""
    kind = {"disease": "disease symptoms", "pest": "pest damage", "weed": "weed", "abiotic": "damage"}
    return (
        f"close-up field photo of {risk.crop_name_en.lower()} {plant_part_en(risk.plant_part)} "
        f"with {risk.name_en}{latin} {kind[risk.risk_type.value]}, agronomy documentation, "
        f"natural daylight, sharp focus, realistic; {risk.symptoms_uk}"
    )
