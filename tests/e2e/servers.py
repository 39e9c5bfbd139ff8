"""Servers the preview e2e tests run next to Chromium: `kiln dev` as a subprocess, and an
npm registry proxy that counts what reaches the registry (so a test can prove a warm
preview asks it nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
NPM = "https://registry.npmjs.org"


RUNNING_LOGS: list[Path] = []
"""The logs of the `kiln dev` processes running now: a failing test shows their tracebacks."""


@contextmanager
def kiln_dev(data_dir: Path, web_dist: Path, port: int = 0, **env: str) -> Iterator[str]:
    """A `kiln dev` subprocess (starter model) until healthy; yields its base URL. A restart
    on the same port keeps the page's origin, so a returning browser keeps its storage.
    A port picked here that another process took before kiln bound it is picked again."""
    full_env = {**os.environ, "KILN_LLM_PROVIDER": "starter"}
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        full_env.pop(key, None)
    full_env |= env  # a test's own model (a fake provider) goes in after the machine's is out
    for attempt in range(1 if port else 3):
        proc, base, log_path = _start_kiln_dev(data_dir, web_dist, port or free_port(), full_env)
        try:
            if _healthy(proc, base, log_path, last_try=bool(port) or attempt == 2):
                break
        except BaseException:
            _stop(proc)
            raise
    RUNNING_LOGS.append(log_path)
    try:
        yield base
    finally:
        RUNNING_LOGS.remove(log_path)
        _stop(proc)


def _start_kiln_dev(
    data_dir: Path, web_dist: Path, port: int, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str, Path]:
    log_path = data_dir.parent / f"kiln-dev-{port}.log"
    cmd = [str(Path(sys.executable).parent / "kiln"), "dev", "--host", "127.0.0.1"]
    cmd += ["--port", str(port)]
    cmd += ["--data-dir", str(data_dir), "--web-dist", str(web_dist)]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log_path


def _healthy(proc: subprocess.Popen[bytes], base: str, log_path: Path, *, last_try: bool) -> bool:
    """True once /api/health answers; False if the port was taken (try another)."""
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            log = log_path.read_text()
            if "address already in use" in log and not last_try:
                return False
            pytest.fail(f"kiln dev exited early:\n{log[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"kiln dev did not become healthy:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class NpmProxy:
    """Forwards GETs to the public npm registry, rewriting tarball URLs onto itself (the
    package service only fetches tarballs from its configured registry's host), and
    records every path asked for."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.client = httpx.Client(timeout=60, follow_redirects=True)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.requests.append(self.path)
                headers = {"Accept": self.headers.get("Accept", "*/*")}
                try:
                    resp = proxy.client.get(NPM + self.path, headers=headers)
                except httpx.HTTPError:
                    self.send_error(502)
                    return
                body = resp.content
                ctype = resp.headers.get("content-type", "application/octet-stream")
                if "json" in ctype:
                    body = body.replace(NPM.encode(), proxy.url.encode())
                self.send_response(resp.status_code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> NpmProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.client.close()
