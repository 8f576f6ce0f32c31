"""A real, tiny OpenAI-compatible chat server for tests (standard library only).

It listens on 127.0.0.1 on a free port and speaks ``GET /v1/models`` and ``POST /v1/chat/completions``,
plain JSON or streamed (``"stream": true``: SSE ``data: {...}`` chunks, then ``data: [DONE]``)::

    from tests.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer(reply=lambda messages: "你问：" + messages[-1]["content"]) as server:
        settings = Settings(llm_base_url=server.base_url, llm_model=server.model)
        ...
        server.last_request        # the last chat request body, e.g. ["messages"], ["max_tokens"]

``reply`` is a string or a function of the request's messages. Streamed replies come ``chunk_chars``
characters per chunk, ``delay`` seconds apart. Set ``hang`` (seconds, also after start) to make every
request sleep that long before answering, like a stuck server. A request for a model other than
``model`` gets OpenAI's 404 ``model_not_found``. A ``stop`` list in the request cuts the reply. Set ``listing``
to "empty" for a ``/v1/models`` that lists nothing, or "missing" for one that 404s (chat still answers).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[list[dict[str, Any]]], str]


class FakeOpenAIServer:
    """An OpenAI-compatible server on 127.0.0.1; use as a context manager or call start() / stop()."""

    def __init__(
        self, reply: Reply = "你好，我是测试模型。", model: str = "fake-model", chunk_chars: int = 2, delay: float = 0.0
    ) -> None:
        self.reply = reply
        self.model = model
        self.chunk_chars = chunk_chars
        self.delay = delay
        self.hang = 0.0
        self.listing = "model"  # "empty": /v1/models lists nothing; "missing": it 404s
        self.requests: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, ending in /v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def last_request(self) -> dict[str, Any] | None:
        """The body of the last /chat/completions request."""
        return self.requests[-1] if self.requests else None

    def start(self) -> FakeOpenAIServer:
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging requests
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, body: dict[str, Any]) -> str:
        """The reply text for a request body, cut at its first stop string."""
        text = self.reply(body["messages"]) if callable(self.reply) else self.reply
        for stop in body.get("stop") or []:
            text = text.split(stop)[0]
        return text

    def wait_if_hanging(self) -> None:
        if self.hang:
            self._stopping.wait(self.hang)


def _handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def do_GET(self) -> None:
            server.wait_if_hanging()
            if self.path.rstrip("/") != "/v1/models" or server.listing == "missing":
                return self._json(404, _error(f"no route {self.path}", "not_found"))
            listed = [] if server.listing == "empty" else [{"id": server.model, "object": "model", "owned_by": "fake"}]
            self._json(200, {"object": "list", "data": listed})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._json(404, _error(f"no route {self.path}", "not_found"))
            server.requests.append(body)
            server.wait_if_hanging()
            if body.get("model") != server.model:
                return self._json(404, _error(f"The model `{body.get('model')}` does not exist.", "model_not_found"))
            text = server.answer(body)
            if body.get("stream"):
                return self._stream(text)
            message = {"role": "assistant", "content": text}
            self._json(200, _completion(server.model, {"index": 0, "message": message, "finish_reason": "stop"}))

        def _stream(self, text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            n = max(1, server.chunk_chars)
            deltas = [{"role": "assistant", "content": ""}] + [
                {"content": text[i : i + n]} for i in range(0, len(text), n)
            ]
            for delta in deltas:
                self._event(_completion(server.model, {"index": 0, "delta": delta, "finish_reason": None}, chunk=True))
                time.sleep(server.delay)
            self._event(_completion(server.model, {"index": 0, "delta": {}, "finish_reason": "stop"}, chunk=True))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _completion(model: str, choice: dict[str, Any], chunk: bool = False) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk" if chunk else "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
    }


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}
