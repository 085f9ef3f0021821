"""Dataset builder: deterministic split, near-duplicates kept together, bad labels rejected with reasons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from ultralytics.data.utils import check_det_dataset

from agrorisk_labeling.build import build_dataset, build_with_settings
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import ImageLabels, LabelBox, LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, read_manifest
from agrorisk_labeling.settings import Settings


def split_of(dataset: Path) -> dict[str, str]:
    """sha256 -> split, read back from the written dataset."""
    return {p.stem: p.parent.name for p in (dataset / "images").glob("*/*")}


def test_split_is_deterministic_and_the_hash_versions_content(make_pool, catalog, tmp_path):
    manifest = make_pool(per_class=10, labelled=True).manifest
    first = build_dataset(manifest, tmp_path / "a", catalog, seed=7, val_fraction=0.2, test_fraction=0.2)
    again = build_dataset(manifest, tmp_path / "b", catalog, seed=7, val_fraction=0.2, test_fraction=0.2)
    other = build_dataset(manifest, tmp_path / "c", catalog, seed=8, val_fraction=0.2, test_fraction=0.2)

    assert split_of(tmp_path / "a") == split_of(tmp_path / "b")
    assert first.dataset_hash == again.dataset_hash
    assert split_of(tmp_path / "a") != split_of(tmp_path / "c")
    assert other.dataset_hash != first.dataset_hash
    for balance in first.balance:  # every class is present in every split
        assert balance.train and balance.val and balance.test
    data = yaml.safe_load((tmp_path / "a" / "data.yaml").read_text())
    assert list(data["names"].values()) == [b.risk_id for b in first.balance]
    checked = check_det_dataset(str(tmp_path / "a" / "data.yaml"))
    assert checked["nc"] == len(first.balance)
    assert "| **total** |" in (tmp_path / "a" / "balance.md").read_text()


def test_settings_give_the_split_and_filter_options(make_pool, catalog, tmp_path):
    manifest = make_pool(per_class=10, labelled=True).manifest
    options = {"seed": 7, "val_fraction": 0.2, "test_fraction": 0.2, "synthetic_max_share": 0.5}
    report = build_with_settings(Settings(manifest=manifest, **options), tmp_path / "a", catalog)
    same = build_dataset(manifest, tmp_path / "b", catalog, **options)
    assert (report.seed, report.val_fraction, report.test_fraction, report.synthetic_max_share) == (
        7,
        0.2,
        0.2,
        0.5,
    )
    assert report.dataset_hash == same.dataset_hash and split_of(tmp_path / "a") == split_of(tmp_path / "b")


def test_near_duplicates_never_cross_splits(make_pool, catalog, tmp_path):
    pool = make_pool(per_class=10, duplicates=5, labelled=True)
    report = build_dataset(
        pool.manifest, tmp_path / "ds", catalog, seed=3, val_fraction=0.3, test_fraction=0.3
    )

    splits = split_of(tmp_path / "ds")
    assert report.near_duplicate_groups >= len(pool.near_duplicates)
    assert all(splits[a] == splits[b] for a, b in pool.near_duplicates)
    assert {splits[a] for a, _ in pool.near_duplicates} != {"train"}  # groups do reach val/test


def test_bad_labels_are_rejected_with_reasons(make_pool, catalog, risk_ids, tmp_path):
    manifest = make_pool(per_class=6, duplicates=0, labelled=True).manifest
    store = LabelStore.load(labels_path_of(manifest))
    frame = read_manifest(manifest)
    first = risk_ids[0]
    bad = [
        LabelBox(risk_id=first, x1=0.5, y1=0.5, x2=1.4, y2=0.9, confidence=1, source="import"),
        LabelBox(risk_id=first, x1=0.5, y1=0.5, x2=0.5, y2=0.9, confidence=1, source="import"),
        LabelBox(risk_id="no-such-risk", x1=0.1, y1=0.1, x2=0.4, y2=0.4, confidence=1, source="import"),
    ]
    for box, row in zip(bad, frame.itertuples(), strict=False):
        store.put(ImageLabels(sha256=row.sha256, file=row.file, source=LabelSource.HUMAN, boxes=[box]))
    unlabelled, gone = frame.iloc[3], frame.iloc[5]
    del store.items[unlabelled.sha256]
    store.save()
    (images_dir_of(manifest) / gone.file).unlink()

    report = build_dataset(manifest, tmp_path / "ds", catalog, seed=0)

    reasons = {r.sha256: "; ".join(r.reasons) for r in report.rejected}
    assert "outside the image" in reasons[frame.iloc[0].sha256]
    assert "empty or inverted" in reasons[frame.iloc[1].sha256]
    assert "unknown class 'no-such-risk'" in reasons[frame.iloc[2].sha256]
    assert reasons[unlabelled.sha256] == "no labels"
    assert reasons[gone.sha256] == "image file missing"
    written = split_of(tmp_path / "ds")
    assert not set(reasons) & set(written)
    assert len(written) == len(frame) - 5
    assert set(pd.read_csv(tmp_path / "ds" / "rejected.csv")["sha256"]) == set(reasons)


def test_synthetic_images_only_train_and_capped(make_pool, catalog, tmp_path):
    pool = make_pool(per_class=8, duplicates=0, labelled=True, synthetic=10)

    report = build_dataset(
        pool.manifest,
        tmp_path / "ds",
        catalog,
        seed=1,
        val_fraction=0.25,
        test_fraction=0.25,
        synthetic_max_share=0.5,
    )

    splits = split_of(tmp_path / "ds")
    assert {splits[s] for s in pool.synthetic if s in splits} == {"train"}
    first = report.balance[0]
    assert 0 < first.synthetic <= first.train - first.synthetic  # share 0.5: synthetic <= real in train
    capped = [r for r in report.rejected if r.sha256 in pool.synthetic]
    assert capped and all("synthetic cap" in r.reasons[0] for r in capped)
    assert len(capped) + first.synthetic == 10


def test_refuses_to_overwrite_a_folder_that_is_not_a_dataset(make_pool, catalog, tmp_path):
    manifest = make_pool(per_class=4, labelled=True).manifest
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(LabelingError, match="refusing to write"):
        build_dataset(manifest, precious, catalog)
    assert (precious / "thesis.txt").read_text() == "keep me"


def test_negatives_train_with_empty_label_files_and_unreviewed_images_stay_out(make_pool, catalog, tmp_path):
    manifest = make_pool(per_class=8, duplicates=0, labelled=True).manifest
    store = LabelStore.load(labels_path_of(manifest))
    frame = read_manifest(manifest)
    negative, waiting, empty, legacy = (frame.iloc[i] for i in range(4))
    store.put(
        ImageLabels(
            sha256=negative.sha256, file=negative.file, source=LabelSource.HUMAN, status=LabelStatus.NEGATIVE
        )
    )
    store.put(
        ImageLabels(
            sha256=waiting.sha256, file=waiting.file, source=LabelSource.NONE, status=LabelStatus.NEEDS_REVIEW
        ),
        replace=True,
    )
    store.put(ImageLabels(sha256=empty.sha256, file=empty.file, source=LabelSource.HUMAN))  # not a negative
    old_default = LabelBox(risk_id=legacy.risk_id, x1=0, y1=0, x2=1, y2=1, confidence=0, source="whole-image")
    store.put(
        ImageLabels(
            sha256=legacy.sha256, file=legacy.file, source=LabelSource.WHOLE_IMAGE, boxes=[old_default]
        ),
        replace=True,
    )
    store.save()

    report = build_dataset(manifest, tmp_path / "ds", catalog, seed=0)

    splits = split_of(tmp_path / "ds")
    assert (tmp_path / "ds" / "labels" / splits[negative.sha256] / f"{negative.sha256}.txt").read_text() == ""
    assert sum(report.negatives.values()) == 1 and report.split_counts[splits[negative.sha256]] >= 1
    assert waiting.sha256 not in splits and report.needs_review == 1
    reasons = {r.sha256: "; ".join(r.reasons) for r in report.rejected}
    assert waiting.sha256 not in reasons
    assert reasons[empty.sha256] == "no boxes"
    assert "whole-image box nobody asked for" in reasons[legacy.sha256]
    assert "negatives (empty label file) |" in (tmp_path / "ds" / "balance.md").read_text()
    assert check_det_dataset(str(tmp_path / "ds" / "data.yaml"))["nc"] == 2
