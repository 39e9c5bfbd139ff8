"""A fake of the user-content CloudFront distribution's `/sites/*`: objects of a bucket on
the moto server, a directory URL answered with its index.html (`SiteIndexFunction` in
infra/template.yaml), a missing key answered 403 as S3 behind origin access control does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.exceptions import ClientError

from kiln.config import Settings


@contextmanager
def sites_cdn(s3: Any, bucket: str) -> Iterator[str]:
    """The base URL of a CDN in front of `bucket` (its sites are under `<url>/sites/`)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            key = self.path.split("?", 1)[0].lstrip("/")
            if key.endswith("/"):
                key += "index.html"
            try:
                obj = s3.get_object(Bucket=bucket, Key=key)
            except ClientError:
                body, kind, status = b"<Error><Code>AccessDenied</Code></Error>", "text/xml", 403
            else:
                body, kind, status = obj["Body"].read(), obj["ContentType"], 200
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def quick_deploys(settings: Settings) -> Iterator[dict[str, Any]]:
    """Settings for deploy tests: kiln's hosting behind the fake CDN, deploy polls and
    requeues at once, and no build gate or render check (they have tests of their own)."""
    s3 = boto3.client("s3", endpoint_url=settings.aws_endpoint_url, region_name="us-east-1")
    with sites_cdn(s3, settings.bucket) as cdn:
        yield {
            "sites_public_base": cdn,
            "deploy_poll_interval_s": 0.01,
            "deploy_requeue_delay_s": 0,
            "build_gate": False,
            "render_check": False,
        }
