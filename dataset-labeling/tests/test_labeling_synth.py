"""Stable Diffusion top-up through the real diffusers path, with a tiny random-weight pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from agrorisk_labeling.cli import app
from agrorisk_labeling.labels import LabelStore
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, read_manifest
from agrorisk_labeling.settings import DEFAULT_SD_MODEL

runner = CliRunner()


def byte_characters() -> list[str]:
    """The 256 printable characters byte-level BPE (GPT-2, CLIP) uses for the 256 byte values."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + n) for n in range(len(extra))]


def write_tiny_tokenizer(folder: Path) -> None:
    """A CLIP BPE vocabulary of single byte-characters (no merges): every text still tokenizes."""
    chars = byte_characters()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory) -> Path:
    """A complete StableDiffusionPipeline folder with random weights, built from configs."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root = tmp_path_factory.mktemp("tiny-sd")
    write_tiny_tokenizer(root / "tok")
    tokenizer = CLIPTokenizer.from_pretrained(root / "tok", model_max_length=77)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            projection_dim=32,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", clip_sample=False),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(root / "pipeline")
    return root / "pipeline"


def test_synth_writes_labelled_synthetic_images(tiny_pipeline, catalog, risk_ids, tmp_path):
    manifest = tmp_path / "pool" / "manifest.csv"
    risk = catalog.get(risk_ids[1])
    result = runner.invoke(
        app,
        [
            "synth",
            "--risk",
            risk.id,
            "--count",
            "4",
            "--model",
            str(tiny_pipeline),
            "--steps",
            "2",
            "--size",
            "64",
            "--batch-size",
            "2",
            "--device",
            "auto",
            "--seed",
            "3",
            "--whole-image",
            "--manifest",
            str(manifest),
        ],
    )
    assert result.exit_code == 0, result.output

    frame = read_manifest(manifest)
    assert len(frame) == 4 and frame["sha256"].nunique() == 4
    assert frame["synthetic"].all() and set(frame["risk_id"]) == {risk.id}
    assert (frame["engine"] == "diffusers").all()
    prompt = frame["query"].iloc[0]
    assert risk.crop_name_en.lower() in prompt and risk.name_en in prompt and risk.symptoms_uk in prompt
    for file in frame["file"]:
        with Image.open(images_dir_of(manifest) / file) as img:
            assert img.size == (64, 64)
    store = LabelStore.load(labels_path_of(manifest))
    assert {store.get(s).source.value for s in frame["sha256"]} == {"whole-image"}
    assert {store.get(s).boxes[0].model_version for s in frame["sha256"]} == {"requested"}
    assert all(store.get(s).boxes[0].risk_id == risk.id for s in frame["sha256"])


def test_default_model_offline_fails_with_one_clear_message(risk_ids, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(
        app, ["synth", "--risk", risk_ids[0], "--count", "1", "--manifest", str(tmp_path / "m.csv")]
    )
    assert result.exit_code == 1
    assert DEFAULT_SD_MODEL in result.output
    assert (
        "--model PATH" in result.output
        and "HF_HUB_OFFLINE" in result.output
        and "hf download" in result.output
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "m.csv").exists()
