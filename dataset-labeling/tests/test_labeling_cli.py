"""The CLI: one command from crawled images to a dataset, stats, and readable errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner
from ultralytics.data.utils import check_det_dataset

from agrorisk_labeling.cli import app
from agrorisk_labeling.labels import LabelStore
from agrorisk_labeling.manifest import labels_path_of

runner = CliRunner()


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("autolabel", "studio", "import", "build", "synth", "stats", "prepare", "registry"):
        assert command in result.output


def test_prepare_turns_a_crawl_into_a_dataset_with_a_balance_report(make_pool, risk_ids, tmp_path):
    manifest = make_pool(per_class=6, duplicates=1).manifest  # crawled: no labels yet
    result = runner.invoke(app, ["prepare", "--manifest", str(manifest), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert "Class balance" in result.output and all(r in result.output for r in risk_ids)

    checked = check_det_dataset(str(tmp_path / "ds" / "data.yaml"))
    assert checked["names"] == dict(enumerate(risk_ids))
    labels = [p.read_text() for p in (tmp_path / "ds" / "labels").glob("*/*.txt")]
    assert len(labels) == 14 and all(t.endswith(" 0.500000 0.500000 1.000000 1.000000\n") for t in labels)
    store = LabelStore.load(labels_path_of(manifest))
    assert {(b.source.value, b.confidence) for item in store for b in item.boxes} == {("whole-image", 0.0)}
    report = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert sum(b["train"] + b["val"] + b["test"] for b in report["balance"]) == 14

    stats = runner.invoke(app, ["stats", "--manifest", str(manifest)])
    assert stats.exit_code == 0 and "whole-image 7" in stats.output


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
