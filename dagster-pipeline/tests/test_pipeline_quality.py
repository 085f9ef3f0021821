"""Dataset quality and the model quality gate, without Dagster."""

from __future__ import annotations

import shutil

from agrorisk_common.procedural import generate_leaf_dataset
from agrorisk_pipeline.frozen_split import alias_for, freeze
from agrorisk_pipeline.gate import quality_gate
from agrorisk_pipeline.quality import check_dataset
from agrorisk_storage import DatasetRegistry, StorageSettings

RISKS = ["wheat-septoria-leaf-blotch", "wheat-leaf-rust"]


def test_a_clean_generated_dataset_passes(tmp_path):
    quality = check_dataset(generate_leaf_dataset(tmp_path, RISKS, images_per_class=6, imgsz=64))
    assert quality.problems(max_imbalance=5.0) == []
    assert quality.class_images == {RISKS[0]: 6, RISKS[1]: 6}
    assert quality.split_images == {"train": 8, "val": 4}


def test_leakage_invalid_labels_and_imbalance_are_reported_and_negatives_counted(tmp_path):
    data_yaml = generate_leaf_dataset(tmp_path, RISKS, images_per_class=6, imgsz=64)
    train = sorted((tmp_path / "images" / "train").glob("*.jpg"))
    shutil.copy(train[0], tmp_path / "images" / "val" / "leaked.jpg")
    shutil.copy(
        tmp_path / "labels" / "train" / f"{train[0].stem}.txt", tmp_path / "labels" / "val" / "leaked.txt"
    )
    (tmp_path / "labels" / "train" / f"{train[1].stem}.txt").write_text("7 0.5 0.5 0.2 0.2\n")
    (tmp_path / "labels" / "train" / f"{train[2].stem}.txt").write_text("\n")
    (tmp_path / "labels" / "train" / f"{train[3].stem}.txt").unlink()
    quality = check_dataset(data_yaml)
    assert len(quality.leaked_images) >= 1
    assert quality.invalid_labels == [f"train/{train[1].stem}.txt:1: class 7 outside 0..1"]
    assert quality.negatives == [f"train/{train[2].stem}.txt"]  # a healthy photo: no boxes, not a problem
    assert quality.missing_labels == [f"train/{train[3].name}"]
    problems = " | ".join(quality.problems(max_imbalance=1.1))
    for expected in (
        "more than one split",
        "invalid label lines",
        "without labels",
        "imbalance",
    ):
        assert expected in problems
    assert "empty" not in problems and "negative" not in problems


def test_gate_promotes_only_a_candidate_that_beats_production_by_more_than_the_margin():
    assert quality_gate(0.40, 0.60, margin=0.0).passed is False
    assert quality_gate(0.60, 0.60, margin=0.0).passed is False  # a tie keeps production
    assert quality_gate(0.61, 0.60, margin=0.0).passed is True
    refused = quality_gate(0.61, 0.60, margin=0.02)
    assert refused.passed is False and "0.620" in refused.reason
    assert quality_gate(0.10, None, margin=0.02).passed is True


def test_a_relative_dataset_without_a_path_key_is_read_from_its_folder(tmp_path, monkeypatch):
    data_yaml = generate_leaf_dataset(tmp_path / "ds", RISKS, images_per_class=4, imgsz=64)
    data_yaml.write_text(
        "\n".join(line for line in data_yaml.read_text().splitlines() if not line.startswith("path:"))
    )
    monkeypatch.chdir(tmp_path)
    quality = check_dataset("ds/data.yaml")
    assert quality.split_images == {"train": 6, "val": 2} and quality.problems(5.0) == []


def test_one_frozen_test_split_per_class_set_real_photos_before_drawn_ones(tmp_path):
    datasets = DatasetRegistry.from_settings(
        StorageSettings(local_root=tmp_path / "reg", cache_dir=tmp_path / "cache")
    )

    def version(classes: list[str], source: str) -> str:
        folder = tmp_path / f"ds-{len(datasets.list())}"
        folder.mkdir()
        (folder / "data.yaml").write_text(f"names: {classes}\n")
        return datasets.push_dir(folder, {"class_names": classes, "source": source}).version

    wheat, potato = ["wheat-leaf-rust"], ["potato-early-blight", "potato-late-blight"]
    drawn = version(wheat, "procedural")
    assert freeze(datasets, drawn, wheat, "procedural") == (alias_for(wheat), drawn)  # the first one
    real = version(wheat, "public")
    assert freeze(datasets, real, wheat, "public")[1] == real  # real photos replace drawn leaves
    for source in ("procedural", "public"):  # and then nothing of the same classes moves it
        assert freeze(datasets, version(wheat, source), wheat, source)[1] == real
    other = version(potato, "procedural")
    assert freeze(datasets, other, potato, "procedural") == (alias_for(potato), other)
    assert datasets.aliases() == {alias_for(wheat): real, alias_for(potato): other}
    assert alias_for(potato) != alias_for(list(reversed(potato)))  # the class order is the label order
