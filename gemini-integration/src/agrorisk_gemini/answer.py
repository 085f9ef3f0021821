"""What Gemini is asked to answer (the response schema) and how its answer is checked.

A bad answer never raises: each problem becomes a `ValidationIssue`, good findings still count.
"""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, Field, ValidationError

from agrorisk_common.catalog import ClassMap
from agrorisk_common.detection import Box, Detection

UNKNOWN = "unknown"
HEALTHY = "healthy"


class Finding(BaseModel):
    """One risk Gemini sees in the photo."""

    risk_id: str = Field(
        description="A risk id from the list, 'unknown' for damage not in the list, or 'healthy'."
    )
    confidence: float = Field(description="How sure you are, 0 to 1.")
    box_2d: list[int] = Field(description="[ymin, xmin, ymax, xmax] of the affected area, scaled 0-1000.")


class GeminiAnswer(BaseModel):
    """The response schema: every risk seen (an empty list or one 'healthy' finding when none)."""

    findings: list[Finding]


class IssueKind(StrEnum):
    MALFORMED = "malformed_answer"
    NOT_IN_CATALOG = "not_in_catalog"
    UNKNOWN_RISK = "unknown_risk"
    BAD_BOX = "bad_box"
    BAD_CONFIDENCE = "bad_confidence"


class ValidationIssue(BaseModel):
    kind: IssueKind
    detail: str


class CheckedAnswer(BaseModel):
    """Gemini's answer after validation: the usable detections and what was wrong with the rest."""

    detections: list[Detection] = []
    issues: list[ValidationIssue] = []
    healthy: bool = False

    @property
    def malformed(self) -> bool:
        return any(i.kind is IssueKind.MALFORMED for i in self.issues)

    def issue_counts(self) -> dict[str, int]:
        return dict(Counter(i.kind.value for i in self.issues))


def _clean(text: str) -> str:
    """The JSON inside an answer, without a Markdown code fence around it."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def check_answer(text: str | None, class_map: ClassMap) -> CheckedAnswer:
    """Parse and validate Gemini's JSON answer against the risks it was asked about."""
    if not text:
        return CheckedAnswer(issues=[ValidationIssue(kind=IssueKind.MALFORMED, detail="empty answer")])
    try:
        answer = GeminiAnswer.model_validate(json.loads(_clean(text)))
    except (json.JSONDecodeError, ValidationError) as exc:
        detail = str(exc).splitlines()[0][:200]
        return CheckedAnswer(issues=[ValidationIssue(kind=IssueKind.MALFORMED, detail=detail)])
    checked = CheckedAnswer()
    for finding in answer.findings:
        risk_id = finding.risk_id.strip().lower()
        if risk_id == HEALTHY:
            checked.healthy = True
            continue
        if risk_id == UNKNOWN:
            checked.issues.append(
                ValidationIssue(kind=IssueKind.UNKNOWN_RISK, detail="a risk not in the list")
            )
            continue
        if risk_id not in class_map:
            checked.issues.append(ValidationIssue(kind=IssueKind.NOT_IN_CATALOG, detail=risk_id))
            continue
        if not 0.0 <= finding.confidence <= 1.0:
            checked.issues.append(
                ValidationIssue(kind=IssueKind.BAD_CONFIDENCE, detail=f"{risk_id}: {finding.confidence}")
            )
            continue
        try:
            box = Box.from_box_2d(finding.box_2d)
        except ValueError as exc:
            checked.issues.append(ValidationIssue(kind=IssueKind.BAD_BOX, detail=f"{risk_id}: {exc}"))
            continue
        checked.detections.append(
            Detection(
                risk_id=risk_id,
                class_index=class_map.index_of(risk_id),
                confidence=finding.confidence,
                box=box,
            )
        )
    return checked
