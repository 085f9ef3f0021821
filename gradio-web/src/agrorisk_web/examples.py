"""Example photos for the Compare tab: real field photos (PlantDoc, CC BY 4.0; see
example_photos/ATTRIBUTION.md) that the starter model never trained on — two diseased leaves and a
healthy one."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).with_name("example_photos")
EXAMPLES = ("potato-late-blight.jpg", "maize-common-rust.jpg", "healthy-soybean.jpg")


def example_photos() -> list[str]:
    """Paths of the shipped example photos."""
    return [str(EXAMPLES_DIR / name) for name in EXAMPLES]
