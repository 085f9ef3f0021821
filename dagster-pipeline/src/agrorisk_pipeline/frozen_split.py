"""The frozen test set policy: one frozen test split per class set, kept as a dataset-registry alias.
It moves only when a class set gets its first version, or from drawn leaves to real photos: a test set
of real photos is never replaced by drawn ones, and new data of the same classes never moves it."""

from __future__ import annotations

import hashlib

PREFIX = "test-frozen"
DRAWN = "procedural"


def alias_for(class_names: list[str]) -> str:
    """The alias of a class set's frozen test split (order matters: it is the label index order)."""
    return f"{PREFIX}-{hashlib.sha256(chr(10).join(class_names).encode()).hexdigest()[:12]}"


def replaces(frozen_source: str | None, new_source: str) -> bool:
    """Whether a new version of `new_source` photos becomes the frozen test set instead of the one
    frozen now (`frozen_source` None: the class set has none yet)."""
    return frozen_source is None or (frozen_source == DRAWN and new_source != DRAWN)


def freeze(datasets, version: str, class_names: list[str], source: str) -> tuple[str, str]:
    """Apply the policy in the dataset registry; returns (alias, the version it points at)."""
    alias = alias_for(class_names)
    frozen = datasets.aliases().get(alias)
    frozen_source = datasets.show(frozen).metadata.get("source", "unknown") if frozen else None
    if replaces(frozen_source, source):
        datasets.promote(version, alias)
        return alias, version
    return alias, frozen
