"""Near-duplicate grouping and a deterministic stratified train/val/test split over groups."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitItem:
    key: str  # sha256
    risk_id: str  # stratification class
    phash: str  # hex, may be ""
    synthetic: bool
    near_duplicate_of: str = ""


def _find(parent: dict[str, str], key: str) -> str:
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def near_duplicate_groups(items: Sequence[SplitItem], max_distance: int) -> dict[str, str]:
    """Map each key to its group id: images whose perceptual hashes differ by <= max_distance bits
    (or that the crawler marked as near duplicates) share a group."""
    parent = {item.key: item.key for item in items}

    def union(a: str, b: str) -> None:
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for item in items:
        if item.near_duplicate_of in parent:
            union(item.key, item.near_duplicate_of)
    hashed = [item for item in items if len(item.phash) == 16]
    if hashed:
        values = np.array([int(item.phash, 16) for item in hashed], dtype=np.uint64)
        for i in range(len(values) - 1):
            xor = values[i] ^ values[i + 1 :]
            distance = np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
            for j in np.nonzero(distance <= max_distance)[0]:
                union(hashed[i].key, hashed[i + 1 + int(j)].key)
    return {key: _find(parent, key) for key in parent}


def stratified_split(
    items: Sequence[SplitItem],
    groups: dict[str, str],
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> dict[str, str]:
    """Map each key to train/val/test. Whole groups move together; a group with any synthetic image
    goes to train; each class is split on its own, so classes keep their share in every split."""
    members: dict[str, list[SplitItem]] = defaultdict(list)
    for item in items:
        members[groups[item.key]].append(item)
    by_class: dict[str, list[str]] = defaultdict(list)
    assignment: dict[str, str] = {}
    for group_id, group in members.items():
        if any(item.synthetic for item in group):
            assignment[group_id] = "train"
        else:
            by_class[min(item.risk_id for item in group)].append(group_id)
    for risk_id in sorted(by_class):
        group_ids = sorted(by_class[risk_id])
        random.Random(f"{seed}:{risk_id}").shuffle(group_ids)
        total = sum(len(members[g]) for g in group_ids)
        targets = {"test": round(total * test_fraction), "val": round(total * val_fraction)}
        filled = {"test": 0, "val": 0}
        for n, group_id in enumerate(group_ids):
            # The first group of a class always trains, so no class is missing from train.
            split = (
                "train" if n == 0 else next((s for s in ("test", "val") if filled[s] < targets[s]), "train")
            )
            if split != "train":
                filled[split] += len(members[group_id])
            assignment[group_id] = split
    return {item.key: assignment[groups[item.key]] for item in items}
