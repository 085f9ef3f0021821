"""Pluggable auto-labellers: YOLO pseudo-labels, Gemini (real client, local Gemini API), whole-image only on
request; what no labeller boxes waits for review."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agrorisk_devtools.gemini_standin import FakeGeminiServer, finding
from agrorisk_labeling.autolabel import autolabel
from agrorisk_labeling.cli import app
from agrorisk_labeling.labellers import WholeImageLabeller, YoloLabeller, build_labellers
from agrorisk_labeling.labels import ImageLabels, LabelBox, LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, read_manifest
from agrorisk_labeling.settings import Settings

runner = CliRunner()


def test_yolo_pseudo_labels_above_confidence_else_review(trained, make_pool):
    manifest = make_pool(per_class=2, duplicates=0).manifest
    keen = autolabel(manifest, [YoloLabeller(trained.weights, confidence=0.0001), WholeImageLabeller()])
    assert keen.by_source.get("yolo", 0) >= 1
    store = LabelStore.load(labels_path_of(manifest))
    frame = read_manifest(manifest)
    weak = dict(zip(frame["sha256"], frame["risk_id"], strict=True))
    for item in store:
        if item.source == LabelSource.YOLO:
            assert all(b.risk_id == weak[item.sha256] and b.confidence >= 0.0001 for b in item.boxes)
            assert all(b.model_version.startswith("best.pt@") for b in item.boxes)

    strict = autolabel(
        manifest, [YoloLabeller(trained.weights, confidence=0.99), WholeImageLabeller()], relabel=True
    )
    assert strict.by_source == {"whole-image": 4}
    unsure = autolabel(manifest, [YoloLabeller(trained.weights, confidence=0.99)], relabel=True)
    assert (unsure.labelled, unsure.needs_review) == (0, 4)  # no whole-image box unless asked for


@pytest.mark.usefixtures("no_labellers")
def test_the_default_chain_without_model_or_key_is_empty(catalog):
    assert build_labellers(Settings(), catalog) == []
    chain = build_labellers(Settings(labellers="auto,whole-image"), catalog)
    assert [type(labeller) for labeller in chain] == [WholeImageLabeller]


def test_gemini_labels_through_its_client_and_humans_are_never_overwritten(make_pool, risk_ids, monkeypatch):
    manifest = make_pool(per_class=2, duplicates=0).manifest
    frame = read_manifest(manifest)
    first, second, reviewed = (frame.iloc[i] for i in (0, 2, 1))
    store = LabelStore.load(labels_path_of(manifest))
    human_box = LabelBox(risk_id=risk_ids[1], x1=0.1, y1=0.1, x2=0.3, y2=0.3, confidence=1.0, source="human")
    store.put(
        ImageLabels(sha256=reviewed.sha256, file=reviewed.file, source=LabelSource.HUMAN, boxes=[human_box])
    )
    store.save()

    with FakeGeminiServer() as server:
        image = (images_dir_of(manifest) / first.file).read_bytes()
        server.set_answer(image, [finding(first.risk_id, [100, 200, 500, 600], confidence=0.8)])
        other = (images_dir_of(manifest) / second.file).read_bytes()
        server.set_answer(other, [finding(risk_ids[0], [0, 0, 999, 999])])  # not the weak class of `second`
        monkeypatch.setenv("AGRORISK_GEMINI_API_KEY", "test-key")
        monkeypatch.setenv("AGRORISK_GEMINI_BASE_URL", server.base_url)
        monkeypatch.setenv("AGRORISK_GEMINI_RISK_IDS", f'["{risk_ids[0]}","{risk_ids[1]}"]')
        result = runner.invoke(
            app, ["autolabel", "--manifest", str(manifest), "--labeller", "gemini", "--relabel"]
        )
    assert result.exit_code == 0, result.output

    store = LabelStore.load(labels_path_of(manifest))
    gemini = store.get(first.sha256)
    assert gemini.source == LabelSource.GEMINI
    box = gemini.boxes[0]
    assert (box.risk_id, box.confidence, box.coords) == (first.risk_id, 0.8, (0.2, 0.1, 0.6, 0.5))
    assert box.model_version
    # the pre-label says which model, which prompt and what the call cost — also in its Label Studio task
    assert len(box.prompt) == 12 and box.cost_usd > 0
    from agrorisk_labeling import studio

    row = next(r for r in read_manifest(manifest).itertuples(index=False) if r.sha256 == first.sha256)
    task = studio.build_task(row, gemini, "/data/local-files/?d=x.jpg")
    assert task["predictions"][0]["model_version"] == f"gemini:{box.model_version}"
    assert (task["data"]["prompt_sha256"], float(task["data"]["cost_usd"])) == (
        box.prompt,
        pytest.approx(box.cost_usd, abs=1e-6),
    )
    waiting = store.get(second.sha256)  # Gemini's box is of another risk and no whole-image guess follows
    assert (waiting.source, waiting.status, waiting.boxes) == (LabelSource.NONE, LabelStatus.NEEDS_REVIEW, [])
    assert store.get(reviewed.sha256).boxes == [human_box]
