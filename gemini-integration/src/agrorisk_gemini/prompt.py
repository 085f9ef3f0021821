"""The instruction Gemini gets: the task, the output convention and the risks from the catalog."""

from __future__ import annotations

from collections.abc import Sequence

from agrorisk_common.catalog import Risk
from agrorisk_gemini.answer import HEALTHY, UNKNOWN

TASK = f"""You are an agronomist who recognises risks to field crops in photos: diseases, pests, weeds
and abiotic damage. Look at the photo and report every risk from the list below that you can see.

Rules:
- Use only the risk ids from the list. If you see damage that is not in the list, report "{UNKNOWN}".
  If the plant looks healthy, report one finding "{HEALTHY}" with a box around the plant.
- For each finding give a box around the affected area as box_2d = [ymin, xmin, ymax, xmax],
  each number an integer from 0 to 1000 relative to the image height (y) and width (x).
- Give one finding per distinct affected area; do not repeat the same area.
- confidence is your probability (0 to 1) that the risk id is right.
- Answer only with JSON that matches the response schema."""


def describe_risk(risk: Risk) -> str:
    """One catalog entry as a prompt line: id, names, crop, part and the visible symptoms."""
    latin = f" ({risk.latin_name})" if risk.latin_name else ""
    look_alikes = f" Often confused with: {', '.join(risk.look_alikes)}." if risk.look_alikes else ""
    return (
        f"- {risk.id}: {risk.name_en}{latin} / {risk.name_uk}; crop: {risk.crop_name_en}; "
        f"type: {risk.risk_type.value}; on: {risk.plant_part}. Symptoms: {risk.symptoms_uk}{look_alikes}"
    )


def build_instruction(risks: Sequence[Risk]) -> str:
    """The system instruction for the given risks (stable text, so it can be context-cached)."""
    lines = "\n".join(describe_risk(r) for r in risks)
    return f"{TASK}\n\nRisks (id: names; crop; type; plant part; symptoms):\n{lines}\n"
