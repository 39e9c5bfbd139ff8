"""A fake API Gateway Management API on 127.0.0.1: `POST /{stage}/@connections/{id}`
answers 200 for an open connection and records the data, 410 `GoneException` (the header
botocore reads the code from, and API Gateway's body) for one that is gone, 500 for one in
`failing`; `DELETE` closes one."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

_PATH = re.compile(r"^/live/@connections/([^/?]+)$")


class FakeManagementApi:
    def __init__(self) -> None:
        self.open: set[str] = set()
        self.failing: set[str] = set()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes, error: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match = _PATH.match(self.path)
                if match is None:
                    return self._answer(404, b'{"message":"Not Found"}')
                cid = unquote(match.group(1))
                with fake.lock:
                    if cid in fake.failing:
                        return self._answer(500, b'{"message":"Internal server error"}')
                    if cid not in fake.open:
                        return self._answer(410, b'{"message":null}', "GoneException")
                    fake.posts.append((cid, json.loads(data)))
                self._answer(200, b"")

            def do_DELETE(self) -> None:
                match = _PATH.match(self.path)
                cid = unquote(match.group(1)) if match else ""
                with fake.lock:
                    if cid not in fake.open:
                        return self._answer(410, b'{"message":null}', "GoneException")
                    fake.open.discard(cid)
                self._answer(204, b"")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/live"

    def received(self, connection_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for cid, m in self.posts if cid == connection_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
