"""The model quality gate: a candidate replaces production only if its mAP50 on the frozen test set
beats production's by more than a margin (0 = any improvement; a tie keeps production)."""

from __future__ import annotations

from pydantic import BaseModel


class GateDecision(BaseModel):
    passed: bool
    candidate_map50: float
    production_map50: float | None
    margin: float
    reason: str


def quality_gate(
    candidate_map50: float, production_map50: float | None, margin: float, *, no_production: str = ""
) -> GateDecision:
    """Pass when there is no comparable production model, or candidate > production + margin.
    `no_production` says why production is not compared (default: there is none yet)."""
    if production_map50 is None:
        return GateDecision(
            passed=True, candidate_map50=candidate_map50, production_map50=None, margin=margin,
            reason=f"{no_production or 'no production model yet'}: the candidate becomes production",
        )  # fmt: skip
    bar = production_map50 + margin
    passed = candidate_map50 > bar
    verb = "beats" if passed else "does not beat"
    return GateDecision(
        passed=passed, candidate_map50=candidate_map50, production_map50=production_map50, margin=margin,
        reason=f"candidate mAP50 {candidate_map50:.3f} {verb} production {production_map50:.3f} + margin "
        f"{margin:.3f} = {bar:.3f}",
    )  # fmt: skip
