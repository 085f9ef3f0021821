"""Example photos for the Compare tab: drawn leaves with lesions (no photo files to ship or fetch)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from agrorisk_common.procedural import draw_leaf

EXAMPLE_COUNT = 3
EXAMPLE_SIZE = 512


def example_photos(folder: Path | None = None) -> list[str]:
    """Paths of a few example JPEGs, drawn once into `folder` (default: a temp folder)."""
    folder = folder or Path(tempfile.gettempdir()) / "agrorisk-web-examples"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(EXAMPLE_COUNT):
        path = folder / f"leaf-{index}.jpg"
        if not path.exists():
            image, _ = draw_leaf(index, random.Random(index), size=EXAMPLE_SIZE)
            image.save(path, quality=92)
        paths.append(str(path))
    return paths
