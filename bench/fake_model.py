"""A paced OpenAI-compatible model on 127.0.0.1: streams a tagged kiln reply of N tokens
at a fixed rate (one 4-character token per SSE event, as kiln estimates tokens), so
the pipeline's overhead can be measured against a stream time we control.

The reply size and rate are set per server (`tokens`, `rate`) or per request by a
marker in the prompt, `[bench tokens=1000 rate=500]`, so concurrent jobs can differ.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHARS_PER_TOKEN = 4
TICK_S = 0.005
_MARKER = re.compile(r"\[bench tokens=(\d+) rate=(\d+(?:\.\d+)?)\]")


def tagged_reply(tokens: int) -> str:
    """A plausible React app in kiln's tagged format, `tokens` * 4 characters long.

    The text is spread over an App and component files so no file is huge and no
    file of the skeleton shrinks (which would trigger a repair round)."""
    target = tokens * CHARS_PER_TOKEN
    head = "I'll build a list of items with components.\n"
    app_lines = [
        "import { useState } from 'react'",
        "import './App.css'",
        "",
        "const ITEMS = [",
        *(
            f"  {{ id: {i}, label: 'Item number {i}', done: {str(i % 3 == 0).lower()} }},"
            for i in range(40)
        ),
        "]",
        "",
        "export default function App() {",
        "  const [items, setItems] = useState(ITEMS)",
        "  const toggle = (id: number) =>",
        "    setItems(items.map((it) => (it.id === id ? { ...it, done: !it.done } : it)))",
        "  return (",
        '    <main className="app">',
        '      <h1 data-testid="app-title">Bench app</h1>',
        "      <ul>",
        "        {items.map((it) => (",
        "          <li key={it.id} onClick={() => toggle(it.id)}>{it.label}</li>",
        "        ))}",
        "      </ul>",
        "    </main>",
        "  )",
        "}",
    ]
    parts = [head, '<kiln-file path="src/App.tsx">\n' + "\n".join(app_lines) + "\n</kiln-file>\n"]
    size = sum(map(len, parts))
    n = 0
    while size < target:
        body = [f"export function Part{n}() {{", "  const rows = ["]
        row = 0
        chunk = len(body[0]) + len(body[1])
        while chunk < 1600 and size + chunk < target:
            line = f"    'part {n} row {row} has a little text',"
            body.append(line)
            chunk += len(line) + 1
            row += 1
        body += ["  ]", "  return <ul>{rows.map((r) => <li key={r}>{r}</li>)}</ul>", "}"]
        text = f'<kiln-file path="src/parts/Part{n}.tsx">\n' + "\n".join(body) + "\n</kiln-file>\n"
        parts.append(text)
        size += len(text)
        n += 1
    return "".join(parts)


@dataclass
class Stream:
    """What the server measured for one request."""

    tokens: int
    rate: float
    started: float  # monotonic, request received
    first_byte: float
    last_byte: float

    @property
    def stream_s(self) -> float:
        return self.last_byte - self.first_byte


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"


def _usage(prompt_tokens: int, tokens: int) -> bytes:
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "model": "bench-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": tokens,
            "total_tokens": prompt_tokens + tokens,
        },
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        started = time.monotonic()
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        fake = self.server.fake
        tokens, rate = fake.tokens, fake.rate
        text = body.decode("utf-8", "replace")
        marker = _MARKER.search(text.replace('\\"', '"'))
        if marker:
            tokens, rate = int(marker.group(1)), float(marker.group(2))
        reply = (fake.script(text) if fake.script else None) or fake.reply_for(tokens)
        pieces = [reply[i : i + CHARS_PER_TOKEN] for i in range(0, len(reply), CHARS_PER_TOKEN)]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            first = self._send(b"")  # headers out: the stream has begun
            sent = 0
            while sent < len(pieces):
                due = min(len(pieces), int((time.monotonic() - first) * rate) + 1)
                if due > sent:
                    self._send(b"".join(_chunk(p) for p in pieces[sent:due]))
                    sent = due
                else:
                    time.sleep(TICK_S)
            tail = _chunk(None, "stop") + _usage(len(body) // 4, len(pieces)) + b"data: [DONE]\n\n"
            last = self._send(tail)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            fake.record(Stream(len(pieces), rate, started, first, last))

    def _send(self, data: bytes) -> float:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
        return time.monotonic()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: PacedModel

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its keep-alive connection is not an error worth a traceback."""


class PacedModel:
    """The server; `streams` holds one `Stream` per answered request."""

    def __init__(
        self,
        tokens: int = 1000,
        rate: float = 500.0,
        script: Callable[[str], str | None] | None = None,
    ) -> None:
        """`script(request body)` may answer a request with a reply of its own (Q1)."""
        self.tokens = tokens
        self.rate = rate
        self.script = script
        self.streams: list[Stream] = []
        self._replies: dict[int, str] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def reply_for(self, tokens: int) -> str:
        with self._lock:
            if tokens not in self._replies:
                self._replies[tokens] = tagged_reply(tokens)
            return self._replies[tokens]

    def record(self, stream: Stream) -> None:
        with self._lock:
            self.streams.append(stream)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def marker(tokens: int, rate: float) -> str:
    """The prompt marker that sets one request's reply size and rate."""
    return f"[bench tokens={tokens} rate={rate:g}]"


if __name__ == "__main__":
    # `python -m bench.fake_model`: serve until killed, in a process of its own (so a load
    # client's event loop does not share a GIL with the streams); prints the URL first.
    served = PacedModel()
    print(served.url, flush=True)
    threading.Event().wait()
