"""GeminiDetector with the real google-genai client against the local fake Gemini REST server."""

from __future__ import annotations

import asyncio
import json

import pytest

from agrorisk_common.serving import DetectorClient
from agrorisk_devtools.gemini_standin import FakeReply, decode_inline, finding
from agrorisk_gemini.client import NOT_CONFIGURED, GeminiDetector
from agrorisk_gemini.dataset_eval import few_shot_examples
from agrorisk_gemini.pricing import Usage, default_price_table
from agrorisk_gemini.settings import GeminiSettings

RUST = "wheat-leaf-rust"


async def predict(settings, catalog, photo, examples=()):
    detector = GeminiDetector(settings, catalog, examples)
    try:
        return await detector.predict_detailed(photo)
    finally:
        await detector.aclose()


def test_detector_fits_the_shared_protocol(settings, catalog):
    assert isinstance(GeminiDetector(settings, catalog), DetectorClient)


def test_a_photo_gets_detections_and_the_cost_of_its_usage(gemini, settings, catalog, photo):
    gemini.script(
        FakeReply.answer([finding(RUST, [100, 200, 500, 600], 0.8)], prompt_tokens=900, candidates_tokens=40)
    )
    result = asyncio.run(predict(settings, catalog, photo))
    p = result.prediction
    assert p.error is None and p.source == "gemini" and (p.image_width, p.image_height) == (80, 60)
    assert [(d.risk_id, d.box.as_tuple()) for d in p.detections] == [(RUST, (0.2, 0.1, 0.6, 0.5))]
    expected = default_price_table().cost("gemini-2.5-flash", Usage(prompt_tokens=900, candidates_tokens=40))
    assert p.cost_usd == expected.total_usd == pytest.approx(0.00037)
    (call,) = gemini.calls()
    assert call.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert call.headers["x-goog-api-key"] == settings.api_key.get_secret_value()
    config = call.body["generationConfig"]
    assert config["responseMimeType"] == "application/json" and "findings" in json.dumps(
        config["responseSchema"]
    )
    instruction = call.body["systemInstruction"]["parts"][0]["text"]
    assert all(risk.id in instruction for risk in catalog)
    inline = call.body["contents"][-1]["parts"][0]["inlineData"]
    assert decode_inline(inline["data"]) == photo and inline["mime_type"] == "image/png"


def test_429_then_200_succeeds_with_one_retry(gemini, settings, catalog, photo):
    gemini.script(
        FakeReply.error(429, "Resource has been exhausted"),
        FakeReply.answer([finding(RUST, [0, 0, 500, 500])]),
    )
    result = asyncio.run(predict(settings, catalog, photo))
    assert result.prediction.error is None and result.attempts == 2
    assert len(gemini.calls()) == 2


def test_persistent_500_ends_in_a_clear_error_after_the_configured_attempts(gemini, settings, catalog, photo):
    gemini.script(*[FakeReply.error(500)] * 5)
    result = asyncio.run(predict(settings.model_copy(update={"max_attempts": 4}), catalog, photo))
    assert result.prediction.error == "Gemini answered 500 INTERNAL (gave up after 4 attempts)"
    assert len(gemini.calls()) == 4 and result.prediction.detections == []


def test_a_refused_request_is_not_retried(gemini, settings, catalog, photo):
    gemini.script(FakeReply.error(400, "Request contains an invalid argument."))
    result = asyncio.run(predict(settings, catalog, photo))
    assert (
        "refused the request (400" in result.prediction.error
        and "invalid argument" in result.prediction.error
    )
    assert len(gemini.calls()) == 1


def test_a_malformed_answer_is_reported_not_raised(gemini, settings, catalog, photo):
    gemini.script(FakeReply.malformed())
    result = asyncio.run(predict(settings, catalog, photo))
    assert result.prediction.error.startswith("Gemini's answer could not be read")
    assert [i.kind.value for i in result.issues] == ["malformed_answer"]
    assert result.prediction.cost_usd > 0  # the call was still billed


def test_out_of_catalog_ids_are_counted_and_dropped(gemini, settings, catalog, photo):
    gemini.script(
        FakeReply.answer(
            [finding("maize-imaginary-blight", [0, 0, 900, 900]), finding(RUST, [0, 0, 500, 500])]
        )
    )
    result = asyncio.run(predict(settings, catalog, photo))
    assert result.prediction.risk_ids == {RUST}
    assert [(i.kind.value, i.detail) for i in result.issues] == [("not_in_catalog", "maize-imaginary-blight")]


@pytest.mark.slow
def test_a_server_that_never_answers_in_time_ends_in_a_timeout_error(gemini, settings, catalog, photo):
    gemini.script(*[FakeReply.answer([], delay_s=10)] * 2)
    quick = settings.model_copy(update={"timeout_s": 0.3, "max_attempts": 2})
    result = asyncio.run(predict(quick, catalog, photo))
    assert result.prediction.error == "Gemini did not answer within 0.3 s (gave up after 2 attempts)"
    assert len(gemini.calls()) == 2


def test_no_api_key_means_not_configured_and_no_network_call(gemini, catalog, photo, monkeypatch):
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "AGRORISK_GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = GeminiSettings(_env_file=None, base_url=gemini.base_url)
    detector = GeminiDetector(settings, catalog)
    assert (
        asyncio.run(detector.predict(photo)).error
        == NOT_CONFIGURED
        == "Gemini is not configured (set GEMINI_API_KEY)"
    )
    assert asyncio.run(detector.health()) is False
    assert gemini.requests == []


def test_the_key_is_read_from_plain_gemini_api_key_and_never_shown(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "from-plain-env")
    settings = GeminiSettings(_env_file=None)
    assert settings.api_key.get_secret_value() == "from-plain-env"
    assert "from-plain-env" not in repr(settings) and "from-plain-env" not in json.dumps(
        settings.public_dict()
    )


def test_a_file_that_is_not_an_image_is_refused_without_a_call(gemini, settings, catalog):
    result = asyncio.run(predict(settings, catalog, b"%PDF-1.7 not a photo"))
    assert "not an image" in result.prediction.error and gemini.requests == []


def test_concurrency_is_limited_by_the_setting(gemini, settings, catalog, photo):
    gemini.script(*[FakeReply.answer([], delay_s=0.2)] * 6)

    async def many():
        detector = GeminiDetector(settings.model_copy(update={"concurrency": 2}), catalog)
        try:
            return await asyncio.gather(*(detector.predict(photo) for _ in range(6)))
        finally:
            await detector.aclose()

    assert all(p.error is None for p in asyncio.run(many()))
    assert gemini.max_in_flight == 2


def test_context_cache_holds_the_prompt_and_is_billed_at_the_cached_rate(gemini, settings, catalog, photo):
    async def twice():
        detector = GeminiDetector(settings.model_copy(update={"use_cache": True}), catalog)
        try:
            return [await detector.predict_detailed(photo) for _ in range(2)]
        finally:
            await detector.aclose()

    results = asyncio.run(twice())
    assert len(gemini.calls("/cachedContents")) == 2  # one create, one delete on close
    create, delete = gemini.calls("/cachedContents")
    assert create.method == "POST" and delete.method == "DELETE"
    for call in gemini.calls():
        assert (
            call.body["cachedContent"].startswith("cachedContents/") and "systemInstruction" not in call.body
        )
    usage = results[0].usage
    assert usage.cached_tokens > 0
    assert results[0].cost == default_price_table().cost("gemini-2.5-flash", usage)
    assert results[0].cost.cached_input_usd > 0


def test_few_shot_examples_from_the_dataset_precede_the_photo(gemini, settings, catalog, photo, leaf_dataset):
    shot = settings.model_copy(update={"few_shot_dataset": leaf_dataset, "few_shot_per_risk": 1})
    examples = few_shot_examples(shot, [r.id for r in catalog], None, "val")
    assert len(examples) == 3
    asyncio.run(predict(shot, catalog, photo, examples))
    (call,) = gemini.calls()
    roles = [c["role"] for c in call.body["contents"]]
    assert roles == ["user", "model"] * 3 + ["user"]
    answers = [json.loads(c["parts"][0]["text"]) for c in call.body["contents"] if c["role"] == "model"]
    assert {a["findings"][0]["risk_id"] for a in answers} == {r.id for r in catalog}


def test_few_shot_examples_may_not_come_from_the_evaluated_split(settings, leaf_dataset):
    shot = settings.model_copy(
        update={"few_shot_dataset": leaf_dataset, "few_shot_per_risk": 1, "few_shot_split": "val"}
    )
    with pytest.raises(ValueError, match="evaluated split"):
        few_shot_examples(shot, ["wheat-leaf-rust"], leaf_dataset, "val")


def test_health_asks_for_the_model(gemini, settings, catalog):
    detector = GeminiDetector(settings, catalog)
    assert asyncio.run(detector.health()) is True
    assert gemini.requests[-1].path == "/v1beta/models/gemini-2.5-flash"
