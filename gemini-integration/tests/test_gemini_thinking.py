"""Thinking per model family: what we send, what the stand-in refuses the way the real API does."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from google import genai
from google.genai import errors, types

from agrorisk_gemini.client import GeminiDetector
from agrorisk_gemini.models import KNOWN_MODELS
from agrorisk_gemini.thinking import THINKING_ONLY, thinking_config, thinking_refusal

BUDGETS = [None, -1, 0, 1, 100, 128, 600, 1024, 5000, 9000, 40000]


def rest(config: types.ThinkingConfig | None) -> dict:
    """The `thinkingConfig` JSON google-genai sends for this config (it keeps these keys snake_case)."""
    if config is None:
        return {}
    sent = {"thinking_budget": config.thinking_budget, "thinking_level": config.thinking_level}
    return {
        k: (v.value if isinstance(v, types.ThinkingLevel) else v) for k, v in sent.items() if v is not None
    }


@pytest.mark.parametrize(
    ("model", "budget", "sent"),
    [
        ("gemini-2.5-flash", 0, {"thinking_budget": 0}),
        ("gemini-2.5-flash-lite", 0, {"thinking_budget": 0}),
        ("gemini-2.5-flash-lite", 100, {"thinking_budget": 512}),
        ("gemini-2.5-pro", 0, {"thinking_budget": 128}),
        ("gemini-2.5-pro", 50000, {"thinking_budget": 32768}),
        ("gemini-2.5-pro", -1, {"thinking_budget": -1}),
        ("gemini-3.1-pro-preview", 0, {"thinking_level": "LOW"}),
        ("gemini-3.1-pro-preview", 4000, {"thinking_level": "MEDIUM"}),
        ("gemini-3.1-pro-preview", -1, {}),
        ("gemini-3-flash-preview", 0, {"thinking_level": "MINIMAL"}),
        ("gemini-3.7-flash", 0, {"thinking_level": "LOW"}),
        ("gemini-3.5-flash", 20000, {"thinking_level": "HIGH"}),
        ("gemini-2.5-pro", None, {}),
    ],
)
def test_the_wanted_budget_becomes_what_the_model_family_takes(model, budget, sent):
    assert rest(thinking_config(model, budget)) == sent


def test_no_model_is_sent_a_thinking_setting_it_refuses():
    for model in KNOWN_MODELS.values():
        for budget in BUDGETS:
            assert thinking_refusal(model, rest(thinking_config(model.id, budget))) is None, (
                model.id,
                budget,
            )


def post(settings, model: str, thinking: dict) -> tuple[int, dict]:
    """A raw REST `generateContent` with this thinkingConfig: (status, JSON body)."""
    body = {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"thinkingConfig": thinking}}
    request = urllib.request.Request(
        f"{settings.base_url}/v1beta/models/{model}:generateContent",
        data=json.dumps(body).encode(),
        headers={"x-goog-api-key": settings.api_key.get_secret_value(), "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def sdk(settings) -> genai.Client:
    """The real google-genai client, pointed at the stand-in."""
    options = types.HttpOptions(base_url=settings.base_url, api_version=settings.api_version)
    return genai.Client(api_key=settings.api_key.get_secret_value(), http_options=options)


@pytest.mark.parametrize("model", ["gemini-2.5-pro", "gemini-3.1-pro-preview"])
def test_the_stand_in_refuses_thinking_off_for_pro_models_like_the_real_api(settings, model):
    status, body = post(settings, model, {"thinkingBudget": 0})
    assert status == 400
    assert body == {"error": {"code": 400, "message": THINKING_ONLY, "status": "INVALID_ARGUMENT"}}
    assert post(settings, "gemini-2.5-flash", {"thinkingBudget": 0})[0] == 200


@pytest.mark.parametrize(
    ("model", "thinking", "message"),
    [
        ("gemini-2.5-pro", {"thinking_budget": 0}, THINKING_ONLY),
        ("gemini-2.5-flash", {"thinking_level": "LOW"}, "Thinking level is not supported for this model."),
        ("gemini-2.5-flash-lite", {"thinking_budget": 128}, "Please choose a value between 512 and 24576."),
        ("gemini-3.5-flash", {"thinking_budget": 1024}, "Thinking budget is not supported for this model"),
        ("gemini-3.7-flash", {"thinking_level": "MINIMAL"}, "Thinking level MINIMAL is not supported"),
    ],
)
def test_a_hand_made_config_the_api_refuses_fails_through_google_genai(settings, model, thinking, message):
    client = sdk(settings)
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(**thinking))
    with pytest.raises(errors.ClientError) as refused:
        client.models.generate_content(model=model, contents="hi", config=config)
    assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"
    assert message in refused.value.message


def test_a_refused_batch_item_comes_back_as_that_items_error(settings):
    client = sdk(settings)
    off = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
    request = types.InlinedRequest(contents="hi", config=off)
    job = client.batches.create(model="gemini-2.5-pro", src=[request, types.InlinedRequest(contents="hi")])
    first, second = client.batches.get(name=job.name).dest.inlined_responses
    assert first.response is None and first.error.message == THINKING_ONLY
    assert second.error is None and second.response.text


@pytest.mark.parametrize("model", sorted(KNOWN_MODELS))
def test_our_client_succeeds_on_every_model_with_the_default_thinking_off(
    gemini, settings, catalog, photo, model
):
    async def ask():
        detector = GeminiDetector(settings.model_copy(update={"model": model}), catalog)
        try:
            return await detector.predict_detailed(photo)
        finally:
            await detector.aclose()

    assert settings.thinking_budget == 0
    result = asyncio.run(ask())
    assert result.prediction.error is None, result.prediction.error
    (call,) = gemini.calls()
    assert call.body["generationConfig"]["thinkingConfig"] == rest(thinking_config(model, 0))


@pytest.mark.usefixtures("gemini")
def test_the_stand_in_counts_image_tokens_by_model_family(settings, catalog, photo):
    async def prompt_tokens(model: str) -> int:
        detector = GeminiDetector(settings.model_copy(update={"model": model}), catalog)
        try:
            return (await detector.predict_detailed(photo)).usage.prompt_tokens
        finally:
            await detector.aclose()

    gemini_2 = asyncio.run(prompt_tokens("gemini-2.5-flash"))
    gemini_3 = asyncio.run(prompt_tokens("gemini-3.5-flash"))
    assert gemini_3 - gemini_2 == 1120 - 258  # same prompt; an 80x60 photo is 258 tokens on 2.x, 1120 on 3
