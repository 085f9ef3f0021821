"""Memory one big upload costs the backend: peak RSS added by checking a 49 MP photo, alone and four at once."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from PIL import Image
from pydantic import BaseModel

from agrorisk_backend.services.uploads import ImageLimits, check_image

SIDE = 7000  # 49 MP
NO_REDUCTION = 1 << 20  # a decode side no photo reaches: the whole frame, as before bounded decoding


class DecodeRun(BaseModel):
    target: str  # e.g. "png side 1280"; "full" when nothing is reduced (the old behaviour)
    kind: str
    megapixels: float
    file_mb: float
    concurrency: int  # uploads checked at once
    max_side: int
    added_peak_mb: float


class DecodeBench(BaseModel):
    runs: list[DecodeRun]
    goal_added_mb: float = 200
    single_upload_within_goal: bool


def big_photo(kind: str, side: int = SIDE) -> bytes:
    """A photo-like (smooth, with grain) side x side image: a drawn gradient upscaled, plus noise."""
    base = Image.radial_gradient("L").resize((side, side), Image.Resampling.BILINEAR)
    grain = Image.effect_noise((side, side), 12)
    image = Image.merge("RGB", (base, Image.blend(base, grain, 0.3), grain))
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **({"quality": 90} if kind == "JPEG" else {"compress_level": 1}))
    return buffer.getvalue()


def measure(photo: Path, at_once: int, max_side: int) -> float:
    """Peak RSS (MB, sampled every 2 ms) that `at_once` concurrent checks of `photo` add to this process."""
    data = photo.read_bytes()
    limits = ImageLimits(max_bytes=len(data) + 1, max_pixels=60_000_000, max_side=max_side)
    check_image(_tiny_png(), limits)  # imports and warms up
    process = psutil.Process()
    before = peak = process.memory_info().rss
    with ThreadPoolExecutor(at_once + 1) as pool:
        checks = [pool.submit(check_image, data, limits) for _ in range(at_once)]
        while not all(check.done() for check in checks):
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)
        for check in checks:
            check.result()
    return (peak - before) / 1e6


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


def run_decode_bench(out: Path, max_side: int = 1280) -> DecodeBench:
    """Each case in a fresh process, so one case's peak cannot hide the next one's."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="agrorisk-decode-bench-") as work:
        for kind in ("PNG", "JPEG"):
            photo = Path(work) / f"big.{kind.lower()}"
            photo.write_bytes(big_photo(kind))
            for at_once, side in ((1, NO_REDUCTION), (1, max_side), (4, max_side)):
                added = json.loads(
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "agrorisk_backend.decode_bench",
                            str(photo),
                            str(at_once),
                            str(side),
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                )
                runs.append(
                    DecodeRun(
                        target=f"{kind.lower()} " + ("full" if side == NO_REDUCTION else f"side {side}"),
                        kind=kind,
                        megapixels=SIDE * SIDE / 1e6,
                        file_mb=round(photo.stat().st_size / 1e6, 1),
                        concurrency=at_once,
                        max_side=side,
                        added_peak_mb=round(added, 1),
                    )
                )
    alone = [r for r in runs if r.concurrency == 1 and r.max_side == max_side]
    result = DecodeBench(runs=runs, single_upload_within_goal=all(r.added_peak_mb <= 200 for r in alone))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))  # noqa: T201
