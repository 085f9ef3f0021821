"""Service logs: readable lines, no secrets, no per-request lines from HTTP client libraries."""

import io
import logging

import httpx
import pytest

from agrorisk_common.logging import configure_logging


@pytest.fixture
def service_log():
    """The services' logging set up, written into a buffer; the test runner's restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)
    yield buffer
    root.handlers[:], level = saved
    root.setLevel(level)


def test_secrets_never_reach_the_log(service_log):
    logging.getLogger("agrorisk.test").info("calling Gemini with api_key=AIzaSyD-secret-value-123 now")
    assert "AIzaSyD-secret-value-123" not in service_log.getvalue()
    assert "api_key=*** now" in service_log.getvalue()


def test_http_client_requests_are_not_logged_one_by_one(service_log):
    transport = httpx.MockTransport(lambda _request: httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        client.get("http://detector.test/predict")
    logging.getLogger("httpx").warning("the detector is slow")
    assert "HTTP Request" not in service_log.getvalue()
    assert "the detector is slow" in service_log.getvalue()
