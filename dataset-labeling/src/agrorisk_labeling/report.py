"""The build report: class balance per split, negatives, rejected images with reasons, the data sets (and
their licences) the images come from, the dataset hash."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from agrorisk_labeling.split import SPLITS


class ClassBalance(BaseModel):
    risk_id: str
    train: int = 0
    val: int = 0
    test: int = 0
    synthetic: int = 0
    boxes: int = 0

    @property
    def images(self) -> int:
        return self.train + self.val + self.test


class SourceUse(BaseModel):
    """Images of the dataset from one source, with what attributing them needs."""

    dataset: str  # registered data set name, or crawled / synthetic / imported for unnamed rows
    images: int
    license: str = "unknown"
    title: str = ""
    citation: str = ""
    url: str = ""


class Rejected(BaseModel):
    file: str
    sha256: str
    risk_id: str
    reasons: list[str]


class BuildReport(BaseModel):
    dataset_hash: str
    data_yaml: str
    class_names: list[str]
    balance: list[ClassBalance]
    rejected: list[Rejected]
    near_duplicate_groups: int
    seed: int
    val_fraction: float
    test_fraction: float
    synthetic_max_share: float
    negatives: dict[str, int] = {}  # per split: images with an empty label file (explicit negatives)
    needs_review: int = 0  # images no labeller could box, left out until a person labels them
    whole_image_boxes: int = 0  # boxes over the whole image, written only on request (--whole-image)
    sources: list[SourceUse] = []
    warnings: list[str] = []

    @property
    def split_counts(self) -> dict[str, int]:
        """Images written per split, negatives included."""
        return {s: sum(getattr(b, s) for b in self.balance) + self.negatives.get(s, 0) for s in SPLITS}

    @property
    def imbalance_ratio(self) -> float:
        """Largest class over smallest class (images); 1.0 is perfectly balanced."""
        sizes = [b.images for b in self.balance if b.images]
        return round(max(sizes) / min(sizes), 2) if sizes else 0.0

    def to_markdown(self) -> str:
        lines = [
            f"# Dataset {self.dataset_hash[:12]}",
            "",
            "| class | train | val | test | synthetic | boxes | share |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        total = sum(b.images for b in self.balance) or 1
        for b in self.balance:
            lines.append(
                f"| {b.risk_id} | {b.train} | {b.val} | {b.test} | {b.synthetic} | {b.boxes} | "
                f"{b.images / total:.1%} |"
            )
        counts = self.split_counts
        negatives = [self.negatives.get(s, 0) for s in SPLITS]
        lines += [
            f"| negatives (empty label file) | {negatives[0]} | {negatives[1]} | {negatives[2]} | 0 | 0 | |",
            f"| **total** | {counts['train']} | {counts['val']} | {counts['test']} | "
            f"{sum(b.synthetic for b in self.balance)} | {sum(b.boxes for b in self.balance)} | 100% |",
            "",
            f"Imbalance (largest / smallest class): {self.imbalance_ratio}. "
            f"Near-duplicate groups: {self.near_duplicate_groups}. Rejected images: {len(self.rejected)}. "
            f"Waiting for review (left out): {self.needs_review}. "
            f"Whole-image boxes (on request): {self.whole_image_boxes}.",
        ]
        lines += [f"- warning: {w}" for w in self.warnings]
        if self.sources:
            lines += ["", "## Sources and licences", "", "| data set | images | licence | citation |"]
            lines.append("|---|---:|---|---|")
            for src in self.sources:
                name = f"[{src.title or src.dataset}]({src.url})" if src.url else src.title or src.dataset
                lines.append(f"| {name} | {src.images} | {src.license} | {src.citation} |")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> None:
        (out_dir / "dataset.json").write_text(self.model_dump_json(indent=2), encoding="utf-8")
        (out_dir / "balance.md").write_text(self.to_markdown(), encoding="utf-8")
        rows = [
            {"file": r.file, "sha256": r.sha256, "risk_id": r.risk_id, "reasons": "; ".join(r.reasons)}
            for r in self.rejected
        ]
        pd.DataFrame(rows, columns=pd.Index(["file", "sha256", "risk_id", "reasons"])).to_csv(
            out_dir / "rejected.csv", index=False
        )
