"""Gemini fails fast: a total deadline per call, a circuit breaker, and the local half never waits on
Gemini — against the fake Gemini REST server (scripted slow and failed replies) and a refused port."""

from __future__ import annotations

import threading
import time

from agrorisk_backend.services.gemini_guard import CircuitBreaker
from agrorisk_common.ports import free_port
from agrorisk_devtools.gemini_standin import FakeReply


def upload(data: bytes) -> dict:
    return {"file": ("leaf.jpg", data, "image/jpeg")}


def timed_compare(client, leaf) -> tuple[dict, float]:
    started = time.monotonic()
    response = client.post("/v1/compare", files=upload(leaf))
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_failures_in_a_row_and_lets_one_trial_through():
    clock = Clock()
    breaker = CircuitBreaker(failures=2, open_s=30, clock=clock)
    assert breaker.refusal() is None
    breaker.failed("Gemini answered 503")
    breaker.succeeded()  # a success in between resets the count
    for _ in range(2):
        assert breaker.refusal() is None
        breaker.failed("Gemini answered 503")
    refusal = breaker.refusal()
    assert refusal.startswith("circuit open after 2 failures in a row, last: Gemini answered 503")
    assert "next try in 30 s" in refusal
    clock.now = 31
    assert breaker.blocked() is None and breaker.refusal() is None  # the trial call
    assert "trial call is in flight" in breaker.refusal()
    breaker.failed("still down")
    assert "circuit open" in breaker.refusal()  # the failed trial opens it again
    clock.now = 62
    assert breaker.refusal() is None
    breaker.succeeded()
    assert breaker.refusal() is None and breaker.refusal() is None


def test_a_slow_gemini_costs_compare_at_most_the_deadline(make_client, fake_gemini, leaf):
    client = make_client(gemini_timeout_s=1.0)
    fake_gemini.script(FakeReply.answer([], delay_s=8.0))
    body, elapsed = timed_compare(client, leaf)
    assert elapsed < 6, f"compare waited {elapsed:.1f} s on a Gemini that answers after 8 s"
    assert body["status"] == {"local": "ok", "gemini": "unavailable (Gemini did not answer within 1 s)"}
    assert body["local"]["error"] is None and body["local"]["model_version"] == "v1"
    assert body["verdict"] == body["local"]["verdict"] and body["gemini"]["verdict"] == "unavailable"


def test_retries_against_a_refused_port_stop_at_the_deadline(make_client, gemini_settings, leaf):
    down = gemini_settings.model_copy(
        update={
            "base_url": f"http://127.0.0.1:{free_port()}",
            "max_attempts": 5,
            "backoff_initial_s": 1.0,  # 1 + 2 + 4 + 8 s of backoff: far past the deadline
        }
    )
    client = make_client(gemini=down, gemini_timeout_s=2.0)
    body, elapsed = timed_compare(client, leaf)
    assert elapsed < 7, f"compare took {elapsed:.1f} s with a 2 s Gemini deadline"
    assert body["status"]["gemini"] == "unavailable (Gemini did not answer within 2 s)"
    assert body["local"]["error"] is None
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["gemini"].startswith("unavailable")


def test_an_open_breaker_answers_for_gemini_at_once_and_readyz_is_degraded(make_client, fake_gemini, leaf):
    client = make_client(gemini_breaker_failures=2, gemini_breaker_open_s=60)
    fake_gemini.script(FakeReply.error(503, "overloaded"), FakeReply.error(503, "overloaded"))
    for _ in range(2):
        body, _ = timed_compare(client, leaf)
        assert body["status"]["gemini"].startswith("unavailable (Gemini answered 503")
    assert len(fake_gemini.calls()) == 2

    body, _ = timed_compare(client, leaf)
    assert len(fake_gemini.calls()) == 2, "an open breaker must not call Gemini"
    gemini_status = body["status"]["gemini"]
    assert gemini_status.startswith("unavailable (Gemini skipped: circuit open after 2 failures in a row")
    assert body["status"]["local"] == "ok" and body["local"]["detections"]
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["gemini"].startswith("unavailable (circuit open after 2 failures")
    assert "\nagrorisk_gemini_breaker_open 1.0" in client.get("/metrics").text  # the alert rule's series


def test_the_breaker_closes_again_when_gemini_answers(make_client, fake_gemini, leaf):
    client = make_client(gemini_breaker_failures=1, gemini_breaker_open_s=0.5)
    fake_gemini.script(FakeReply.error(500, "backend exploded"))
    assert timed_compare(client, leaf)[0]["status"]["gemini"].startswith("unavailable")
    assert "circuit open" in timed_compare(client, leaf)[0]["status"]["gemini"]
    time.sleep(0.6)
    body, _ = timed_compare(client, leaf)  # the trial call: the fake's echo answer
    assert body["status"] == {"local": "ok", "gemini": "ok"} and body["gemini"]["detections"]
    assert len(fake_gemini.calls()) == 2
    assert client.get("/readyz").json()["status"] == "ok"


def test_a_full_gemini_queue_does_not_hold_the_local_half(make_client, fake_gemini, gemini_settings, leaf):
    one_at_a_time = gemini_settings.model_copy(update={"concurrency": 1})
    client = make_client(gemini=one_at_a_time, gemini_timeout_s=2.0, gemini_breaker_failures=10)
    fake_gemini.script(FakeReply.answer([], delay_s=10.0), FakeReply.answer([], delay_s=10.0))
    first: dict = {}
    holder = threading.Thread(target=lambda: first.update(timed_compare(client, leaf)[0]))
    holder.start()
    time.sleep(0.3)  # the first compare now holds Gemini's only slot
    body, elapsed = timed_compare(client, leaf)
    holder.join(30)
    assert elapsed < 7, f"the second compare waited {elapsed:.1f} s behind Gemini's queue"
    assert body["local"]["error"] is None and body["local"]["detections"]
    assert body["status"]["gemini"] == "unavailable (Gemini did not answer within 2 s)"
    assert first["status"]["gemini"] == "unavailable (Gemini did not answer within 2 s)"
    assert client.post("/v1/predict", files=upload(leaf)).json()["error"] is None
