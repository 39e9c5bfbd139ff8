"""Fake model servers on 127.0.0.1 that speak the real wire formats, scripted per test.

One `FakeLLMServer` subclass per provider (OpenAI SSE, Anthropic SSE, Ollama NDJSON,
Bedrock's binary AWS event stream). Each is a real HTTP/1.1 server in a thread that
answers with chunked transfer encoding, so clients see the byte boundaries we choose:

    server.queue_text("<kiln-file ...>...", stop="max_tokens", end="drop")
    server.queue_error(429, headers={"retry-after-ms": "5"})
    server.requests          # every request received (method, path, headers, body)

With nothing queued a server answers `default_text` (a small tagged two-file React
app), so pipeline and e2e tests can point OPENAI_BASE_URL / ANTHROPIC_BASE_URL /
OLLAMA_HOST (see `server.env()`) at it and get a plausible streamed reply. Pytest
fixtures: `fake_openai`, `fake_anthropic`, `fake_ollama`, `fake_bedrock`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import re
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal

import pytest

from kiln.config import Settings

TEST_KEY = "sk-kiln-test-7f3a9c-SECRET"
DEFAULT_TEXT = (
    "I'll build a counter.\n"
    '<kiln-file path="src/App.tsx">\n'
    "import { useState } from 'react';\n"
    "export default function App() {\n"
    "  const [n, setN] = useState(0);\n"
    "  return <button onClick={() => setN(n + 1)}>\n"
    "    Clicked {n} times \u2014 \u00e9\u00e8 \U0001f525\n"
    "  </button>;\n"
    "}\n"
    "</kiln-file>\n"
    '<kiln-file path="src/index.css">\n'
    "button { font-size: 2rem; }\n"
    "</kiln-file>\n"
)

End = Literal["close", "drop", "stall"]
Stop = Literal["end", "max_tokens"]
# Chunk sizes cycled through by `awkward_chunks`: single bytes, odd sizes, and chunks
# large enough to carry several events at once.
AWKWARD_SIZES = (1, 2, 5, 11, 3, 40, 1, 300, 7)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """One scripted HTTP answer: status, headers, body chunks, then how it ends."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    end: End = "close"
    stall_s: float = 10.0


def _dumps(value: Any) -> str:
    """JSON with raw UTF-8, as the providers send it (so chunks can split a character)."""
    return json.dumps(value, ensure_ascii=False)


def awkward_chunks(data: bytes) -> list[bytes]:
    """Split at awkward places: inside the first multi-byte UTF-8 char, 1-byte pieces, big ones."""
    cuts: set[int] = set()
    for i, byte in enumerate(data):
        if byte >= 0xC0:  # lead byte of a multi-byte character
            cuts.add(i + 1)
            break
    pos, k = 0, 0
    while pos < len(data):
        pos += AWKWARD_SIZES[k % len(AWKWARD_SIZES)]
        k += 1
        cuts.add(pos)
    edges = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def text_pieces(text: str, size: int = 9) -> list[str]:
    """Model deltas of a few characters each, as models stream them."""
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = Recorded(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        fake = self.server.fake
        reply = fake.answer(recorded)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(reply)

    do_GET = do_POST = _handle

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        if reply.end != "close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        for chunk in reply.chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
            time.sleep(0.001)  # keep chunks apart on the wire
        if reply.end == "close":
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        if reply.end == "stall":
            self.server.fake.released.wait(reply.stall_s)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLMServer


class FakeLLMServer:
    """A scripted model server; subclasses encode the provider's wire format."""

    provider: ClassVar[str] = ""
    content_type: ClassVar[str] = "text/event-stream"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.default_text = DEFAULT_TEXT
        self.responder: Callable[[Recorded], Reply] | None = None
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    # --- scripting -------------------------------------------------------------------

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def queue_text(
        self,
        text: str,
        *,
        input_tokens: int = 321,
        output_tokens: int | None = None,
        stop: Stop = "end",
        awkward: bool = True,
        end: End = "close",
        error: str | None = None,
    ) -> None:
        """A streamed reply of `text`; `end` drop/stall cuts it, `error` adds an in-band error."""
        events = self.stream_events(
            text_pieces(text),
            stop=stop,
            input_tokens=input_tokens,
            output_tokens=len(text) // 4 + 1 if output_tokens is None else output_tokens,
            complete=end == "close" and error is None,
        )
        if error is not None:
            events.append(self.in_band_error(error))
        data = b"".join(events)
        chunks = awkward_chunks(data) if awkward else [data]
        self.queue(Reply(200, {"Content-Type": self.content_type}, chunks, end))

    def queue_error(
        self,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        message: str | None = None,
        kind: str | None = None,
    ) -> None:
        """An HTTP error answer before any stream, in the provider's error body; `kind` is
        the provider's error type/code (default: the usual one for the status)."""
        reply = self.error_reply(status, message or f"fake error {status}", kind)
        reply.headers.update(headers or {})
        self.queue(reply)

    def answer(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            refused = self.refuse(request)
            if refused is not None:  # wrong credentials: the scripted replies stay queued
                return refused
            if self.replies:
                return self.replies.popleft()
        special = self.route(request)
        if special is not None:
            return special
        if self.responder is not None:
            return self.responder(request)
        events = self.stream_events(
            text_pieces(self.default_text),
            stop="end",
            input_tokens=321,
            output_tokens=len(self.default_text) // 4,
            complete=True,
        )
        return Reply(200, {"Content-Type": self.content_type}, awkward_chunks(b"".join(events)))

    @property
    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # --- per provider ------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply | None:
        """Answers that are not the chat stream (e.g. Ollama's /api/tags)."""
        return None

    def refuse(self, request: Recorded) -> Reply | None:
        """The provider's answer to missing or wrong credentials (None: they are right)."""
        return None

    def stream_events(
        self,
        pieces: list[str],
        *,
        stop: Stop,
        input_tokens: int,
        output_tokens: int,
        complete: bool,
    ) -> list[bytes]:
        raise NotImplementedError

    def in_band_error(self, kind: str) -> bytes:
        raise NotImplementedError

    def error_reply(self, status: int, message: str, kind: str | None = None) -> Reply:
        raise NotImplementedError

    def settings(self, **overrides: Any) -> Settings:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        raise NotImplementedError


def _json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    data = _dumps(body).encode()
    return Reply(status, {"Content-Type": "application/json", **(headers or {})}, [data])


def _settings(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "llm_provider": None,
        "llm_model": None,
        "openai_api_key": None,
        "anthropic_api_key": None,
        "bedrock_enabled": False,
        "llm_connect_timeout": 2.0,
        "llm_stall_timeout": 5.0,
    }
    base.update(values)
    return Settings(_env_file=None, **base)


class FakeOpenAI(FakeLLMServer):
    """`POST /v1/chat/completions`: data-only SSE, usage chunk with `choices: []`, `[DONE]`."""

    provider = "openai"

    def stream_events(
        self,
        pieces: list[str],
        *,
        stop: Stop,
        input_tokens: int,
        output_tokens: int,
        complete: bool,
    ) -> list[bytes]:
        def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
            body = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1_760_000_000,
                "model": "gpt-4.1-mini",
                "choices": choices,
                "usage": usage,
                "obfuscation": "x1y2",
            }
            return b"data: " + _dumps(body).encode() + b"\n\n"

        def delta(d: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

        events = [chunk(delta({"role": "assistant", "content": ""})), b": keep-alive\n\n"]
        events += [chunk(delta({"content": p})) for p in pieces]
        if complete:
            events.append(chunk(delta({}, "length" if stop == "max_tokens" else "stop")))
            usage = {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            }
            events += [chunk([], usage), b"data: [DONE]\n\n"]
        return events

    def answer(self, request: Recorded) -> Reply:
        """The usage chunk only comes when `stream_options.include_usage` asks for it."""
        reply = super().answer(request)
        body = request.json() if request.body else {}
        wants_usage = (body.get("stream_options") or {}).get("include_usage") is True
        if reply.status != 200 or wants_usage:
            return reply
        usage_chunk = rb'data: \{[^\n]*"choices": \[\], [^\n]*\n\n'
        data = re.sub(usage_chunk, b"", b"".join(reply.chunks))
        return dataclasses.replace(reply, chunks=awkward_chunks(data))

    def refuse(self, request: Recorded) -> Reply | None:
        if request.headers.get("authorization") == f"Bearer {TEST_KEY}":
            return None
        message = "Incorrect API key provided. You can find your API key at platform.openai.com."
        return self.error_reply(401, message, "invalid_api_key")

    def in_band_error(self, kind: str) -> bytes:
        body = {"error": {"message": f"fake {kind}", "type": kind, "param": None, "code": kind}}
        return b"data: " + _dumps(body).encode() + b"\n\n"

    def error_reply(self, status: int, message: str, kind: str | None = None) -> Reply:
        """OpenAI's body: `type` is the class of error, `code` the case (often the same)."""
        code = kind or {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        type_ = {
            "invalid_api_key": "invalid_request_error",
            "rate_limit_exceeded": "requests",
            "insufficient_quota": "insufficient_quota",
            "model_not_found": "invalid_request_error",
        }.get(code or "")
        type_ = type_ or ("server_error" if status >= 500 else "invalid_request_error")
        body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
        return _json_reply(status, body)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "llm_provider": "openai",
            "openai_base_url": f"{self.url}/v1",
            "openai_api_key": TEST_KEY,
        }
        return _settings(**{**values, **overrides})

    def env(self) -> dict[str, str]:
        return {
            "KILN_LLM_PROVIDER": "openai",
            "OPENAI_BASE_URL": f"{self.url}/v1",
            "OPENAI_API_KEY": TEST_KEY,
        }


class FakeAnthropic(FakeLLMServer):
    """`POST /v1/messages`: named SSE events from message_start to message_stop, pings."""

    provider = "anthropic"

    def stream_events(
        self,
        pieces: list[str],
        *,
        stop: Stop,
        input_tokens: int,
        output_tokens: int,
        complete: bool,
    ) -> list[bytes]:
        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {_dumps({'type': name, **data})}\n\n".encode()

        message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        events = [
            event("message_start", {"message": message}),
            event(
                "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
            ),
            event("ping", {}),
        ]
        for i, piece in enumerate(pieces):
            events.append(
                event(
                    "content_block_delta",
                    {"index": 0, "delta": {"type": "text_delta", "text": piece}},
                )
            )
            if i == 3:
                events.append(b": a comment line\n\n")
        if complete:
            reason = "max_tokens" if stop == "max_tokens" else "end_turn"
            events += [
                event("content_block_stop", {"index": 0}),
                event(
                    "message_delta",
                    {
                        "delta": {"stop_reason": reason, "stop_sequence": None},
                        "usage": {"output_tokens": output_tokens},
                    },
                ),
                event("message_stop", {}),
            ]
        return events

    def in_band_error(self, kind: str) -> bytes:
        data = {"type": "error", "error": {"type": kind, "message": "Overloaded"}}
        return f"event: error\ndata: {_dumps(data)}\n\n".encode()

    def refuse(self, request: Recorded) -> Reply | None:
        if request.headers.get("x-api-key") == TEST_KEY and request.headers.get(
            "anthropic-version"
        ):
            return None
        return self.error_reply(401, "invalid x-api-key")

    def error_reply(self, status: int, message: str, kind: str | None = None) -> Reply:
        kind = kind or {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
        return _json_reply(status, body, {"request-id": "req_1"})

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "llm_provider": "anthropic",
            "anthropic_base_url": self.url,
            "anthropic_api_key": TEST_KEY,
        }
        return _settings(**{**values, **overrides})

    def env(self) -> dict[str, str]:
        return {
            "KILN_LLM_PROVIDER": "anthropic",
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": TEST_KEY,
        }


class FakeOllama(FakeLLMServer):
    """`POST /api/chat` as NDJSON lines; `GET /api/tags` lists one model."""

    provider = "ollama"
    content_type = "application/x-ndjson"

    def route(self, request: Recorded) -> Reply | None:
        if request.method == "GET" and request.path == "/api/tags":
            return _json_reply(
                200, {"models": [{"name": "qwen2.5-coder:7b", "size": 4_700_000_000}]}
            )
        return None

    def stream_events(
        self,
        pieces: list[str],
        *,
        stop: Stop,
        input_tokens: int,
        output_tokens: int,
        complete: bool,
    ) -> list[bytes]:
        def line(data: dict[str, Any]) -> bytes:
            base = {"model": "qwen2.5-coder:7b", "created_at": "2026-01-01T00:00:00Z"}
            return _dumps({**base, **data}).encode() + b"\n"

        events = [
            line({"message": {"role": "assistant", "content": p}, "done": False}) for p in pieces
        ]
        if complete:
            events.append(
                line(
                    {
                        "message": {"role": "assistant", "content": ""},
                        "done": True,
                        "done_reason": "length" if stop == "max_tokens" else "stop",
                        "total_duration": 5_000_000_000,
                        "load_duration": 1_000_000,
                        "prompt_eval_count": input_tokens,
                        "prompt_eval_duration": 100_000_000,
                        "eval_count": output_tokens,
                        "eval_duration": 4_000_000_000,
                    }
                )
            )
        return events

    def in_band_error(self, kind: str) -> bytes:
        return _dumps({"error": f"fake {kind}"}).encode() + b"\n"

    def error_reply(self, status: int, message: str, kind: str | None = None) -> Reply:
        return _json_reply(status, {"error": message})

    def settings(self, **overrides: Any) -> Settings:
        return _settings(**{"llm_provider": "ollama", "ollama_host": self.url, **overrides})

    def env(self) -> dict[str, str]:
        return {"KILN_LLM_PROVIDER": "ollama", "OLLAMA_HOST": self.url}


def eventstream_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude, string headers, payload, CRC32s."""
    encoded = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        encoded += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


class FakeBedrock(FakeLLMServer):
    """`POST /model/{id}/converse-stream` answering `application/vnd.amazon.eventstream`."""

    provider = "bedrock"
    content_type = "application/vnd.amazon.eventstream"

    @staticmethod
    def _event(name: str, data: dict[str, Any]) -> bytes:
        headers = {
            ":event-type": name,
            ":content-type": "application/json",
            ":message-type": "event",
        }
        return eventstream_frame(headers, _dumps(data).encode())

    def stream_events(
        self,
        pieces: list[str],
        *,
        stop: Stop,
        input_tokens: int,
        output_tokens: int,
        complete: bool,
    ) -> list[bytes]:
        events = [self._event("messageStart", {"role": "assistant"})]
        events += [
            self._event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}})
            for p in pieces
        ]
        if complete:
            usage = {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            }
            events += [
                self._event("contentBlockStop", {"contentBlockIndex": 0}),
                self._event(
                    "messageStop",
                    {"stopReason": "max_tokens" if stop == "max_tokens" else "end_turn"},
                ),
                self._event("metadata", {"usage": usage, "metrics": {"latencyMs": 42}}),
            ]
        return events

    def in_band_error(self, kind: str) -> bytes:
        headers = {
            ":exception-type": kind,
            ":content-type": "application/json",
            ":message-type": "exception",
        }
        return eventstream_frame(headers, _dumps({"message": f"fake {kind}"}).encode())

    def refuse(self, request: Recorded) -> Reply | None:
        """SigV4 for bedrock in the region, by the test's access key (moto's `testing`)."""
        auth = request.headers.get("authorization", "")
        if re.match(r"AWS4-HMAC-SHA256 Credential=\w+/\d{8}/[\w-]+/bedrock/aws4_request,", auth):
            return None
        return self.error_reply(403, "Missing Authentication Token", "AccessDeniedException")

    def error_reply(self, status: int, message: str, kind: str | None = None) -> Reply:
        kind = kind or {
            400: "ValidationException",
            403: "AccessDeniedException",
            404: "ResourceNotFoundException",
            429: "ThrottlingException",
            503: "ServiceUnavailableException",
        }.get(status, "InternalServerException")
        return _json_reply(
            status, {"message": message}, {"x-amzn-ErrorType": f"{kind}:http://internal"}
        )

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "llm_provider": "bedrock",
            "bedrock_enabled": True,
            "bedrock_endpoint_url": self.url,
            "aws_region": "us-east-1",
        }
        return _settings(**{**values, **overrides})

    def env(self) -> dict[str, str]:
        return {
            "KILN_LLM_PROVIDER": "bedrock",
            "KILN_BEDROCK_ENABLED": "true",
            "KILN_BEDROCK_ENDPOINT_URL": self.url,
        }


def _serve(cls: type[FakeLLMServer]) -> Iterator[FakeLLMServer]:
    server = cls()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fake_openai() -> Iterator[FakeLLMServer]:
    yield from _serve(FakeOpenAI)


@pytest.fixture
def fake_anthropic() -> Iterator[FakeLLMServer]:
    yield from _serve(FakeAnthropic)


@pytest.fixture
def fake_ollama() -> Iterator[FakeLLMServer]:
    yield from _serve(FakeOllama)


@pytest.fixture
def fake_bedrock() -> Iterator[FakeLLMServer]:
    yield from _serve(FakeBedrock)


@pytest.fixture(params=["openai", "anthropic", "ollama", "bedrock"])
def fake_llm(request: pytest.FixtureRequest) -> Iterator[FakeLLMServer]:
    """Each provider's fake in turn, for behaviour every provider must share."""
    classes: dict[str, type[FakeLLMServer]] = {
        "openai": FakeOpenAI,
        "anthropic": FakeAnthropic,
        "ollama": FakeOllama,
        "bedrock": FakeBedrock,
    }
    yield from _serve(classes[request.param])
