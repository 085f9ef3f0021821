"""The CLI: one command from crawled images to a dataset, stats, and readable errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from ultralytics.data.utils import check_det_dataset

from agrorisk_labeling.cli import app
from agrorisk_labeling.labels import LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import labels_path_of
from agrorisk_labeling.stats import pool_stats

runner = CliRunner()


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = ("autolabel", "studio", "import", "build", "synth", "stats", "prepare", "registry", "datasets")
    for command in (*commands, "fetch", "pack"):
        assert command in result.output


@pytest.mark.usefixtures("no_labellers")
def test_crawled_photos_without_model_or_gemini_wait_for_review_never_whole_image(make_pool, tmp_path):
    pool = make_pool(per_class=6, duplicates=0, labelled=True)
    store = LabelStore.load(labels_path_of(pool.manifest))
    crawled = sorted(store.items)[::3]  # these came from the crawler: no boxes yet
    for sha in crawled:
        del store.items[sha]
    store.save()

    result = runner.invoke(app, ["prepare", "--manifest", str(pool.manifest), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert f"needs review {len(crawled)}" in result.output and "studio push" in result.output

    store = LabelStore.load(labels_path_of(pool.manifest))
    waiting = {s for s, item in store.items.items() if item.status == LabelStatus.NEEDS_REVIEW}
    assert waiting == set(crawled)
    assert all(store.get(s).source == LabelSource.NONE and not store.get(s).boxes for s in crawled)
    written = {p.stem: p.read_text() for p in (tmp_path / "ds" / "labels").glob("*/*.txt")}
    assert not set(crawled) & set(written) and len(written) == 12 - len(crawled)
    assert not any("0.500000 0.500000 1.000000 1.000000" in text for text in written.values())
    report = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert (report["needs_review"], report["whole_image_boxes"]) == (len(crawled), 0)
    assert all(r["sha256"] not in crawled for r in report["rejected"])  # waiting, not rejected

    assert sum(s.needs_review for s in pool_stats(pool.manifest)) == len(crawled)
    stats = runner.invoke(app, ["stats", "--manifest", str(pool.manifest)])
    assert stats.exit_code == 0 and "review" in stats.output


@pytest.mark.usefixtures("no_labellers")
def test_a_crawl_with_nothing_boxed_builds_nothing_and_says_why(make_pool, tmp_path):
    manifest = make_pool(per_class=3, duplicates=0).manifest
    result = runner.invoke(app, ["prepare", "--manifest", str(manifest), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 1
    assert "6 image(s) wait for review" in result.output and "--whole-image" in result.output
    assert not (tmp_path / "ds").exists()


@pytest.mark.usefixtures("no_labellers")
def test_whole_image_boxes_only_on_request_and_recorded_as_such(make_pool, risk_ids, tmp_path):
    manifest = make_pool(per_class=6, duplicates=1).manifest  # crawled close-ups: no labels yet
    result = runner.invoke(
        app, ["prepare", "--manifest", str(manifest), "--out", str(tmp_path / "ds"), "--whole-image"]
    )
    assert result.exit_code == 0, result.output
    assert "Class balance" in result.output and all(r in result.output for r in risk_ids)

    checked = check_det_dataset(str(tmp_path / "ds" / "data.yaml"))
    assert checked["names"] == dict(enumerate(risk_ids))
    labels = [p.read_text() for p in (tmp_path / "ds" / "labels").glob("*/*.txt")]
    assert len(labels) == 14 and all(t.endswith(" 0.500000 0.500000 1.000000 1.000000\n") for t in labels)
    store = LabelStore.load(labels_path_of(manifest))
    recorded = {(b.source.value, b.confidence, b.model_version) for item in store for b in item.boxes}
    assert recorded == {("whole-image", 0.0, "requested")}
    report = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert sum(b["train"] + b["val"] + b["test"] for b in report["balance"]) == 14
    assert report["whole_image_boxes"] == 14

    assert [s.by_source for s in pool_stats(manifest)] == [{"whole-image": 7}] * 2
    assert runner.invoke(app, ["stats", "--manifest", str(manifest)]).exit_code == 0


def test_bad_input_gives_one_readable_line(risk_ids, tmp_path):
    cases = [
        (["build", "--manifest", str(tmp_path / "nope.csv")], "manifest not found"),
        (["import", "--format", "xml", "--src", str(tmp_path)], "unknown format 'xml'"),
        (
            ["autolabel", "--manifest", str(tmp_path / "m.csv"), "--labeller", "magic"],
            "unknown labeller 'magic'",
        ),
        (["autolabel", "--labeller", "yolo"], "needs a model"),
        (["synth", "--risk", "no-such-risk", "--count", "1"], "unknown risk id(s): no-such-risk"),
        (
            ["synth", "--risk", risk_ids[0], "--count", "1", "--model", str(tmp_path)],
            "not a diffusers pipeline",
        ),
        (["synth", "--risk", "x"], "exactly one of --count or --target"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
        assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
