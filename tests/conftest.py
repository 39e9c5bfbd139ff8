"""Shared fixtures: the AWS emulator (moto's server on 127.0.0.1) and settings pointing at it."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiln.config import Settings
from kiln.store.db import Store
from tests.tools import require

pytest_plugins = [
    "tests.fakes.llm_servers",
    "tests.fakes.deploy_servers",
    "tests.fakes.lambda_server",
    "tests.fakes.npm_registry",
]

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tier rule: browser tests and tests that run outside tools are `slow`. Browser
    tests run last: their one Chromium keeps Playwright's loop marked running on its thread."""
    for item in items:
        if item.path.is_relative_to(E2E) or item.get_closest_marker("needs"):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.path.is_relative_to(E2E))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        require(*mark.args)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's real HTTP server on 127.0.0.1 (the same emulator `kiln dev` runs), in memory."""
    from kiln.local.emulator import start_emulator

    emulator = start_emulator(None, access_key=os.environ["AWS_ACCESS_KEY_ID"])
    emulator.serve_in_process()
    yield emulator.endpoint_url
    emulator.stop()


@functools.cache
def _boto_session() -> Any:
    """One boto3 session for the run's fixtures (a client from a fresh one costs ~0.1 s)."""
    import boto3

    return boto3.session.Session()


@functools.cache
def _template() -> dict[str, Any]:
    from kiln.local.resources import load_template

    return load_template()


@pytest.fixture(scope="session")
def npm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One npm cache for every build of the run (shared by xdist's workers): cold once, warm
    after, and nothing left from earlier runs."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    cache = root / "npm-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def install_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One install cache (kiln.gate.installs) for every gate build of the run, beside the
    npm cache: a dependency set is installed once, later builds restore it. (Not derived
    from `npm_cache`, which a module may override with a narrower scope.)"""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    return root / "installs"


@pytest.fixture
def settings(
    moto_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
    npm_cache: Path,
    install_cache: Path,
) -> Settings:
    """Settings naming a fresh table, bucket and queues on the moto server, made from the
    template's definitions (kiln.local.resources), so tests and infrastructure cannot drift."""
    import uuid

    from kiln.local.resources import create_resources

    suffix = uuid.uuid4().hex[:10]
    names = create_resources(
        _boto_session(),
        table_name=f"kiln-{suffix}",
        bucket=f"kiln-{suffix}",
        prefix=f"kiln-{suffix}",
        endpoint_url=moto_endpoint,
        region="us-east-1",
        template=_template(),
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
        llm_retry_initial_delay_s=0.01,  # the backoff's shape is unit-tested; here it only waits
        lock_dependencies=False,  # tests of package resolution turn it on (tests/.../packages)
        npm_cache_dir=npm_cache,
        install_cache_dir=install_cache,
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings)
