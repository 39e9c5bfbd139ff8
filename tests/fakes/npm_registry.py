"""A fake npm registry on 127.0.0.1 speaking the registry's wire format: packuments at
`/<name>` (scoped as `/@scope%2fname`) and tarballs at `/<name>/-/<file>.tgz`.

It serves packages made in the test (`publish`, including hostile tarballs) and, for any
other name, proxies the real registry (`upstream`), rewriting tarball URLs to itself, so a
test can count every request kiln makes (`requests`) while using real packages.
Fixture: `npm_fake`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

UPSTREAM = "https://registry.npmjs.org"


def tarball(
    files: dict[str, str | bytes], *, top: str = "package", links: dict[str, str] | None = None
) -> bytes:
    """A .tgz as npm packs it (files under `top/`); `links` adds symlink members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path if path.startswith(("/", "..")) else f"{top}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(f"{top}/{path}")
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass
class FakeRegistry:
    upstream: str = UPSTREAM
    packuments: dict[str, dict[str, Any]] = field(default_factory=dict)
    tarballs: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def publish(
        self,
        name: str,
        version: str,
        files: dict[str, str | bytes] | None = None,
        *,
        manifest: dict[str, Any] | None = None,
        data: bytes | None = None,
        integrity: str | None = None,
        tarball_url: str | None = None,
    ) -> None:
        """Add `name@version` (made `latest`); `data`/`integrity`/`tarball_url` override the
        honest tarball, its hash or its address for hostile cases."""
        pkg_json = {"name": name, "version": version, **(manifest or {})}
        body = (
            data
            if data is not None
            else tarball({"package.json": json.dumps(pkg_json), **(files or {})})
        )
        file = f"{name.split('/')[-1]}-{version}.tgz"
        path = f"/{name}/-/{file}"
        self.tarballs[path] = body
        doc = self.packuments.setdefault(name, {"name": name, "dist-tags": {}, "versions": {}})
        doc["dist-tags"]["latest"] = version
        doc["versions"][version] = {
            **pkg_json,
            "dist": {
                "tarball": tarball_url or f"{self.url}{path}",
                "integrity": integrity or sri(body),
            },
        }

    def count(self, fragment: str = "") -> int:
        return sum(1 for r in self.requests if fragment in r)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeRegistry

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.fake
        path = unquote(self.path.split("?")[0])
        fake.requests.append(path)
        if "/-/" in path:
            body = fake.tarballs.get(path)
            if body is None and fake.upstream:
                resp = httpx.get(fake.upstream + self.path, timeout=60)
                body = resp.content if resp.status_code == 200 else None
            self._send(200 if body is not None else 404, body or b"{}", "application/octet-stream")
            return
        name = path.lstrip("/")
        doc = fake.packuments.get(name)
        if doc is None and fake.upstream:
            resp = httpx.get(
                f"{fake.upstream}/{name.replace('/', '%2f')}",
                headers={"Accept": self.headers.get("Accept", "application/json")},
                timeout=60,
            )
            if resp.status_code == 200:
                text = resp.text.replace(f"{fake.upstream}/", f"{fake.url}/")
                self._send(200, text.encode(), "application/json")
                return
        if doc is None:
            self._send(404, b'{"error":"Not found"}', "application/json")
            return
        self._send(200, json.dumps(doc).encode(), "application/json")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def npm_fake() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
