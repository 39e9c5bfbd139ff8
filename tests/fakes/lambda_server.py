"""A fake of Lambda's Invoke API on 127.0.0.1 that runs the builder function's real
handler (`functions/builder/app.py`) in a child process with no AWS credentials and no
kiln settings: what the builder function's role gives it on AWS.

    POST /2015-03-31/functions/{name}/invocations   (RequestResponse)
    -> 200 with the handler's JSON; `X-Amz-Function-Error: Unhandled` when it raised
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_HANDLER = """
import json, sys, types
sys.path.insert(0, sys.argv[1])
import app
context = types.SimpleNamespace(
    function_name="kiln-builder", memory_limit_in_mb=3008, aws_request_id="r-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:kiln-builder",
)
print("RESULT " + json.dumps(app.handler(json.load(sys.stdin), context)))
"""


class FakeLambda:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.invocations: list[dict[str, Any]] = []
        self.environments: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                event = json.loads(body)
                fake.invocations.append({"path": self.path, "event": event})
                answer, failed = fake.run(event)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                if failed:
                    self.send_header("X-Amz-Function-Error", "Unhandled")
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def run(self, event: dict[str, Any]) -> tuple[bytes, bool]:
        self.environments.append(dict(self.env))
        proc = subprocess.run(
            [sys.executable, "-c", RUN_HANDLER, str(ROOT / "functions" / "builder")],
            input=json.dumps(event),
            capture_output=True,
            text=True,
            env=self.env,
            timeout=600,
        )
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                return line.removeprefix("RESULT ").encode(), False
        error = {"errorMessage": proc.stderr[-2000:], "errorType": "Unhandled"}
        return json.dumps(error).encode(), True


NETWORK_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
"""The machine's network setup, which a Lambda environment has of its own."""


@pytest.fixture(scope="session")
def lambda_npm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lambda-npm-cache")


@pytest.fixture
def fake_lambda(tmp_path: Path, lambda_npm_cache: Path) -> Iterator[FakeLambda]:
    env = {k: os.environ[k] for k in NETWORK_ENV if k in os.environ}
    env |= {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "KILN_BUILD_SANDBOX": "none",
        "KILN_RENDER_CHECK": "false",
        "KILN_NPM_CACHE_DIR": str(lambda_npm_cache),
        "KILN_INSTALL_CACHE_DIR": str(tmp_path / "lambda-tmp" / "kiln-installs"),
        "POWERTOOLS_SERVICE_NAME": "kiln-builder",
    }
    fake = FakeLambda(env)
    yield fake
    fake.server.shutdown()
