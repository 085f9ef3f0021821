"""`FakeGeminiServer`: a local HTTP server that speaks Gemini's REST API, for tests and offline demos.

It answers `POST /{v1,v1beta}/models/<m>:generateContent`, `…:batchGenerateContent`,
`GET …/batches/<id>`, `POST …/cachedContents`, `DELETE …/cachedContents/<id>` and
`GET …/models/<m>` in the real wire shape, with `usageMetadata`. Point the real google-genai client
at `server.base_url` (settings `base_url`). By default it "echoes" a plausible detection: a risk id
from the request's instruction chosen by the photo's hash; `set_answer` fixes the answer for a photo,
`script` queues exact replies (errors, delays, malformed JSON) consumed one per `generateContent`.
Like the real API it refuses, with a 400, thinking settings a known model does not take (see
`agrorisk_gemini.thinking`), and it counts image tokens by the model's family.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agrorisk_devtools.gemini_wire import (
    GRPC_INVALID_ARGUMENT,
    FakeReply,
    decode_inline,
    error_body,
    finding,
    generate_response,
    image_prompt_tokens,
    refusal_of,
    text_of,
    usage_metadata,
)
from agrorisk_gemini.tokens import text_tokens

__all__ = ["FakeGeminiServer", "FakeReply", "RecordedRequest", "decode_inline", "finding"]

RISK_LINE = re.compile(r"^- ([a-z0-9]+(?:-[a-z0-9]+)*): ", re.MULTILINE)
ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/(.+?)(?::(generateContent|batchGenerateContent))?$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


class FakeGeminiServer:
    """Gemini's REST API on a free loopback port, in a background thread (`with FakeGeminiServer() as s:`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None):
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._script: deque[FakeReply] = deque()
        self._answers: dict[str, list[dict[str, Any]]] = {}
        self._caches: dict[str, dict[str, Any]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._generation = 0  # bumped by reset(): requests from before it neither count nor linger
        self._wake = threading.Event()
        self._in_flight: Counter[int] = Counter()
        self.max_in_flight = 0  # most generateContent calls served at once (checks client concurrency)
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGeminiServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-gemini", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeGeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *replies: FakeReply) -> None:
        """Queue replies for the next `generateContent` calls (after them, echo mode again)."""
        with self._lock:
            self._script.extend(replies)

    def set_answer(self, image: bytes, findings: list[dict[str, Any]]) -> None:
        """Answer these findings whenever this photo is asked about."""
        with self._lock:
            self._answers[hashlib.sha256(image).hexdigest()] = findings

    def reset(self) -> None:
        """Forget scripted replies, fixed answers and recorded requests."""
        with self._lock:
            self._script.clear()
            self._answers.clear()
            self.requests.clear()
            self.max_in_flight = 0
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()

    def calls(self, fragment: str = ":generateContent") -> list[RecordedRequest]:
        """Recorded requests whose path contains `fragment`."""
        with self._lock:
            return [r for r in self.requests if fragment in r.path]

    # --- request handling -------------------------------------------------------------------------

    def _handle(self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None):
        """(status, body dict, delay) for one request."""
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, body))
        if self.api_key is not None and headers.get("x-goog-api-key") != self.api_key:
            return 400, error_body(400, "API key not valid. Please pass a valid API key."), 0.0
        match = ROUTE.match(path.split("?", 1)[0])
        if not match:
            return 404, error_body(404, f"no route {path}"), 0.0
        resource, verb = match.group(2), match.group(3)
        if method == "POST" and verb == "generateContent":
            return self._generate(resource, body or {})
        if method == "POST" and verb == "batchGenerateContent":
            return 200, self._create_batch(resource, body or {}), 0.0
        if method == "GET" and resource.startswith("batches/"):
            return self._lookup(self._batches, resource)
        if method == "POST" and resource == "cachedContents":
            return 200, self._create_cache(body or {}), 0.0
        if method == "DELETE" and resource.startswith("cachedContents/"):
            with self._lock:
                found = self._caches.pop(resource, None)
            return (200, {}, 0.0) if found else (404, error_body(404, f"{resource} not found"), 0.0)
        if method == "GET" and resource.startswith("models/"):
            return 200, {"name": resource, "displayName": resource.removeprefix("models/")}, 0.0
        return 404, error_body(404, f"no route {method} {path}"), 0.0

    def _lookup(self, store: dict[str, Any], name: str):
        with self._lock:
            found = store.get(name)
        return (200, found, 0.0) if found else (404, error_body(404, f"{name} not found"), 0.0)

    def _generate(self, model_path: str, request: dict[str, Any]):
        refusal = refusal_of(model_path, request)
        if refusal:
            return 400, error_body(400, refusal), 0.0
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted.status, scripted.body, scripted.delay_s
        return 200, self._echo(model_path, request), 0.0

    def _echo(self, model_path: str, request: dict[str, Any]) -> dict[str, Any]:
        """A plausible answer: the fixed one for this photo, else one risk of the instruction by hash."""
        with self._lock:
            cache = self._caches.get(request.get("cachedContent", ""), {})
        instruction = text_of(request.get("systemInstruction") or cache.get("systemInstruction") or {})
        contents = request.get("contents", [])
        images = [p["inlineData"] for c in contents for p in c.get("parts", []) if "inlineData" in p]
        photo = decode_inline(images[-1]["data"]) if images else b""
        digest = hashlib.sha256(photo).hexdigest()
        with self._lock:
            findings = self._answers.get(digest)
        if findings is None:
            risk_ids = RISK_LINE.findall(instruction)
            findings = (
                [finding(risk_ids[int(digest[:8], 16) % len(risk_ids)], [200, 150, 800, 850], 0.8)]
                if (risk_ids)
                else [finding("healthy", [0, 0, 1000, 1000], 0.5)]
            )
        text = json.dumps({"findings": findings})
        prompt_text = instruction + "".join(text_of(c) for c in contents)
        cached = cache.get("tokens", 0)
        resolution = request.get("generationConfig", {}).get("mediaResolution", "")
        prompt = image_prompt_tokens(model_path, images, resolution) + text_tokens(prompt_text) + cached
        return generate_response(text, usage_metadata(prompt, text_tokens(text), cached=cached))

    def _create_cache(self, request: dict[str, Any]) -> dict[str, Any]:
        name = f"cachedContents/fake-{next(self._ids)}"
        contents = request.get("contents", [])
        images = [p["inlineData"] for c in contents for p in c.get("parts", []) if "inlineData" in p]
        instruction = request.get("systemInstruction", {})
        tokens = image_prompt_tokens(request.get("model", ""), images, "") + text_tokens(
            text_of(instruction) + "".join(map(text_of, contents))
        )
        entry = {
            "name": name,
            "model": request.get("model"),
            "displayName": request.get("displayName", ""),
            "usageMetadata": {"totalTokenCount": tokens},
        }
        with self._lock:
            self._caches[name] = {**entry, "systemInstruction": instruction, "tokens": tokens}
        return entry

    def _batch_item(self, model_path: str, item: dict[str, Any]) -> dict[str, Any]:
        """One inlined response: the answer, or (as a google.rpc.Status) what refuses the request alone."""
        request, metadata = item.get("request", {}), item.get("metadata", {})
        refusal = refusal_of(model_path, request)
        if refusal:
            return {"error": {"code": GRPC_INVALID_ARGUMENT, "message": refusal}, "metadata": metadata}
        return {"response": self._echo(model_path, request), "metadata": metadata}

    def _create_batch(self, model_path: str, request: dict[str, Any]) -> dict[str, Any]:
        """Runs every inlined request at once (echo/fixed answers) and stores the finished batch."""
        batch = request.get("batch", {})
        items = batch.get("inputConfig", {}).get("requests", {}).get("requests", [])
        responses = [self._batch_item(model_path, item) for item in items]
        name = f"batches/fake-{next(self._ids)}"
        operation = {
            "name": name,
            "metadata": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
                "name": name,
                "model": model_path,
                "displayName": batch.get("displayName", ""),
                "state": "BATCH_STATE_SUCCEEDED",
                "output": {"inlinedResponses": {"inlinedResponses": responses}},
            },
            "done": True,
        }
        with self._lock:
            self._batches[name] = operation
        pending = json.loads(json.dumps(operation))
        pending["metadata"]["state"] = "BATCH_STATE_PENDING"
        del pending["metadata"]["output"]
        pending["done"] = False
        return pending

    @contextmanager
    def _counting(self, counted: bool) -> Iterator[threading.Event]:
        """Count a generateContent call in flight; yields the event that cuts its scripted delay short."""
        with self._lock:
            generation, wake = self._generation, self._wake
            if counted:
                self._in_flight[generation] += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight[generation])
        try:
            yield wake
        finally:
            if counted:
                with self._lock:
                    self._in_flight[generation] -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    self._send(400, error_body(400, "request body is not JSON"))
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._counting(self.path.endswith(":generateContent")) as wake:
                    status, reply, delay = server._handle(self.command, self.path, headers, body)
                    if delay and wake.wait(delay):
                        self.close_connection = True
                        return
                    self._send(status, reply)

            def _send(self, status: int, reply: dict[str, Any] | str) -> None:
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                try:
                    self.send_response(status, HTTPStatus(status).phrase)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout); nothing to tell it

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
