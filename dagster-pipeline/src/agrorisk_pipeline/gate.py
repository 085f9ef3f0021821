"""The model quality gate: a candidate replaces production only if its mAP50 on the frozen test set
is not below production's by more than a margin."""

from __future__ import annotations

from pydantic import BaseModel


class GateDecision(BaseModel):
    passed: bool
    candidate_map50: float
    production_map50: float | None
    margin: float
    reason: str


def quality_gate(candidate_map50: float, production_map50: float | None, margin: float) -> GateDecision:
    """Pass when there is no production model yet, or candidate >= production - margin."""
    if production_map50 is None:
        return GateDecision(
            passed=True, candidate_map50=candidate_map50, production_map50=None, margin=margin,
            reason="no production model yet: the first candidate becomes production",
        )  # fmt: skip
    floor = production_map50 - margin
    passed = candidate_map50 >= floor
    verb = "reaches" if passed else "is below"
    return GateDecision(
        passed=passed, candidate_map50=candidate_map50, production_map50=production_map50, margin=margin,
        reason=f"candidate mAP50 {candidate_map50:.3f} {verb} production {production_map50:.3f} - margin "
        f"{margin:.3f} = {floor:.3f}",
    )  # fmt: skip
