"""Shared fixtures: the AWS emulator (moto's server on 127.0.0.1) and settings pointing at it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from kiln.config import Settings
from kiln.store.db import Store

pytest_plugins = [
    "tests.fakes.llm_servers",
    "tests.fakes.deploy_servers",
    "tests.fakes.npm_registry",
]

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's real HTTP server on 127.0.0.1 (the same emulator `kiln dev` runs), in memory."""
    from kiln.local.emulator import start_emulator

    emulator = start_emulator(None)
    yield emulator.endpoint_url
    emulator.stop()


@pytest.fixture
def settings(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings naming a fresh table, bucket and queues on the moto server, made from the
    template's definitions (kiln.local.resources), so tests and infrastructure cannot drift."""
    import uuid

    import boto3

    from kiln.local.resources import create_resources

    suffix = uuid.uuid4().hex[:10]
    names = create_resources(
        boto3.session.Session(),
        table_name=f"kiln-{suffix}",
        bucket=f"kiln-{suffix}",
        prefix=f"kiln-{suffix}",
        endpoint_url=moto_endpoint,
        region="us-east-1",
    )
    return Settings(
        table_name=names["table"],
        bucket=names["bucket"],
        generate_queue_url=names["generate_queue_url"],
        deploy_queue_url=names["deploy_queue_url"],
        aws_endpoint_url=moto_endpoint,
        aws_region="us-east-1",
        llm_provider="starter",
        data_dir=tmp_path_factory.mktemp("kiln"),
        flush_interval_s=0.05,
        lock_dependencies=False,  # tests of package resolution turn it on (tests/.../packages)
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings)
