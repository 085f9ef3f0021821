"""Few-shot mode: labelled photos from a YOLO dataset shown to Gemini before the photo to assess."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from google.genai import types

from agrorisk_common.detection import Detection
from agrorisk_common.images import sniff_mime_type
from agrorisk_common.yolo_data import load_yolo_ground_truth
from agrorisk_gemini.answer import Finding, GeminiAnswer


@dataclass(frozen=True)
class FewShotExample:
    """One labelled photo and the answer Gemini should have given for it."""

    image: bytes
    mime_type: str
    detections: tuple[Detection, ...]

    def answer_json(self) -> str:
        findings = [
            Finding(risk_id=d.risk_id, confidence=1.0, box_2d=d.box.to_box_2d()) for d in self.detections
        ]
        return GeminiAnswer(findings=findings).model_dump_json()

    def contents(self) -> list[types.Content]:
        """A user turn with the photo and a model turn with the right answer."""
        return [
            types.Content(
                role="user",
                parts=[
                    types.Part.from_bytes(data=self.image, mime_type=self.mime_type),
                    types.Part(text="Example."),
                ],
            ),
            types.Content(role="model", parts=[types.Part(text=self.answer_json())]),
        ]


def load_examples(
    data_yaml: Path, split: str, risk_ids: Sequence[str], per_risk: int
) -> list[FewShotExample]:
    """Up to `per_risk` labelled photos for each risk (first by file name), each photo used once."""
    if per_risk <= 0:
        return []
    ground_truth = load_yolo_ground_truth(data_yaml, split)
    wanted = set(risk_ids)
    taken: dict[str, int] = dict.fromkeys(risk_ids, 0)
    examples = []
    for image_path in sorted(ground_truth):
        detections = [d for d in ground_truth[image_path] if d.risk_id in wanted]
        if not detections or all(taken[d.risk_id] >= per_risk for d in detections):
            continue
        data = Path(image_path).read_bytes()
        mime = sniff_mime_type(data)
        if mime is None:
            continue
        for d in {d.risk_id for d in detections}:
            taken[d] += 1
        examples.append(FewShotExample(image=data, mime_type=mime, detections=tuple(detections)))
    return examples


def example_contents(examples: Sequence[FewShotExample]) -> list[types.Content]:
    return [content for example in examples for content in example.contents()]
