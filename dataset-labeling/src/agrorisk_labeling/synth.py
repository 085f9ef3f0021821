"""Stable Diffusion top-up for rare classes: catalog prompts -> synthetic images marked in the manifest."""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from agrorisk_common.catalog import Catalog
from agrorisk_labeling.autolabel import AutolabelSummary, autolabel
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labellers import Labeller
from agrorisk_labeling.manifest import append_rows, empty_manifest, image_row, images_dir_of, read_manifest
from agrorisk_labeling.prompts import NEGATIVE_PROMPT, prompt_for
from agrorisk_labeling.settings import Settings

log = logging.getLogger(__name__)


class SynthSummary(BaseModel):
    model: str
    device: str
    generated: dict[str, int]
    files: list[str]
    autolabel: AutolabelSummary | None = None


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def model_unavailable(model: str, reason: object) -> LabelingError:
    return LabelingError(
        f"Stable Diffusion model {model!r} is not available offline ({reason}). Provide it: download it once "
        f"where there is network (`hf download {model}`) and copy the Hugging Face cache "
        "(~/.cache/huggingface/hub or $HF_HOME), or pass a local pipeline folder with --model PATH "
        "(AGRORISK_LABELING_SD_MODEL); set HF_HUB_OFFLINE=1 to fail fast without network."
    )


def load_pipeline(model: str, device: str):
    """A text-to-image pipeline from a local folder, the HF cache, or the Hub (in that order)."""
    import torch
    from diffusers.pipelines.auto_pipeline import AutoPipelineForText2Image
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()  # the CLI draws its own progress bar
    transformers_logging.disable_progress_bar()
    dtype = torch.float16 if device == "cuda" else torch.float32
    if Path(model).exists() and not (Path(model) / "model_index.json").is_file():
        raise LabelingError(f"{model} is not a diffusers pipeline folder (no model_index.json)")
    attempts = [True] if Path(model).exists() or os.environ.get("HF_HUB_OFFLINE") == "1" else [True, False]
    error: Exception | None = None
    for local_only in attempts:
        try:
            with warnings.catch_warnings():  # hub deprecation chatter would bury the one error line
                warnings.simplefilter("ignore")
                pipe = AutoPipelineForText2Image.from_pretrained(
                    model, dtype=dtype, local_files_only=local_only
                )
            break
        except (OSError, ValueError) as exc:  # missing files, no network, not a pipeline
            error = exc
    else:
        raise model_unavailable(model, str(error).splitlines()[0] if error else "not found")
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def generate_images(pipe, device: str, prompt: str, count: int, settings: Settings, seed: int) -> list[bytes]:
    """PNG bytes of `count` images, in batches; image i uses seed + i, so runs are reproducible."""
    import torch

    out: list[bytes] = []
    generator_device = "cpu" if device == "mps" else device
    for start in range(0, count, settings.sd_batch_size):
        n = min(settings.sd_batch_size, count - start)
        generators = [torch.Generator(generator_device).manual_seed(seed + start + i) for i in range(n)]
        result = pipe(
            prompt=[prompt] * n,
            negative_prompt=[NEGATIVE_PROMPT] * n,
            num_inference_steps=settings.sd_steps,
            guidance_scale=settings.sd_guidance,
            height=settings.sd_size,
            width=settings.sd_size,
            generator=generators,
        )
        for image in result.images:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            out.append(buffer.getvalue())
    return out


def topup_plan(manifest: Path, risk_ids: Sequence[str], target: int, max_share: float) -> dict[str, int]:
    """How many synthetic images each risk needs to reach `target`, within the synthetic share cap."""
    frame = read_manifest(manifest) if manifest.exists() else empty_manifest()
    plan = {}
    for risk_id in risk_ids:
        rows = frame[frame["risk_id"] == risk_id]
        real = int((~rows["synthetic"]).sum()) if len(rows) else 0
        synthetic = len(rows) - real
        cap = int(max_share / (1 - max_share) * real) if max_share < 1 else target
        plan[risk_id] = max(0, min(target - real - synthetic, cap - synthetic))
    return plan


def generate(
    plan: dict[str, int],
    manifest: Path,
    catalog: Catalog,
    settings: Settings,
    labellers: Sequence[Labeller],
    on_progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Generate the planned images per risk, append them to the manifest as synthetic, auto-label them."""
    unknown = [r for r in plan if r not in catalog]
    if unknown:
        raise LabelingError(f"unknown risk id(s): {', '.join(unknown)}")
    device = pick_device(settings.sd_device)
    pipe = load_pipeline(settings.sd_model, device)
    images_dir = images_dir_of(manifest)
    frame = read_manifest(manifest) if manifest.exists() else None
    rows, done, total = [], 0, sum(plan.values())
    for offset, (risk_id, count) in enumerate(sorted(plan.items())):
        prompt = prompt_for(catalog.get(risk_id))
        # Earlier top-ups of this risk used the first seeds; continue after them to get new images.
        made = 0 if frame is None else int((frame["synthetic"] & (frame["risk_id"] == risk_id)).sum())
        seed = settings.seed + 100_000 * offset + made
        for data in generate_images(pipe, device, prompt, count, settings, seed):
            rows.append(
                image_row(
                    data,
                    risk_id,
                    images_dir,
                    query=prompt,
                    engine="diffusers",
                    source_url=f"diffusers://{settings.sd_model}",
                    synthetic=True,
                )
            )
            done += 1
            if on_progress:
                on_progress(done, total)
    append_rows(manifest, rows)
    labelled = autolabel(manifest, labellers, only_sha256={r["sha256"] for r in rows}) if rows else None
    return SynthSummary(
        model=settings.sd_model,
        device=device,
        generated={r: sum(1 for row in rows if row["risk_id"] == r) for r in plan},
        files=[r["file"] for r in rows],
        autolabel=labelled,
    )
