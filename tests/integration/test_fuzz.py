"""Fuzzing: schemathesis generates valid and invalid requests for every operation of the
combined OpenAPI document (all three functions) and sends them, signed in, to the ASGI
app. No answer may be a 5xx; every error is `{"error": {"code", "message"}}`; no answer
carries a stack trace. New routes are fuzzed as soon as they are in `routes.ALL`."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.generate import save_version
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from kiln.store.sessions import create_session
from tests.fakes.deploy_servers import FakeGitHub, FakeNetlify, FakeVercel

pytestmark = pytest.mark.integration

# Examples per operation and mode (at most; hypothesis stops where a space is exhausted);
# ~26 operations, valid and invalid, random ids and the real project: ~1,200 requests.
EXAMPLES = int(os.environ.get("KILN_FUZZ_EXAMPLES", "30"))
MIN_REQUESTS = 1000
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages")


@dataclass
class Tally:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class Target:
    app: Any
    headers: dict[str, str]
    project_id: str


@pytest.fixture
def target(
    settings: Settings, vercel_fake: FakeVercel, netlify_fake: FakeNetlify, github_fake: FakeGitHub
) -> Iterator[Target]:
    """The app with limits raised so the fuzzer reaches the handlers, a seeded project, and
    the deploy fakes (a schedule's token is checked with its provider)."""
    tuned = settings.model_copy(
        update={
            "rate_limit_per_minute": 10**6,
            "address_rate_limit_per_minute": 10**6,
            "daily_job_quota": 10**6,
            "sync_wait_s": 0.0,
            "vercel_api": vercel_fake.url,
            "netlify_api": netlify_fake.url,
            "github_api": github_fake.url,
        }
    )
    store = Store(tuned)
    token, owner = create_session(store)
    project = projects.create_project(store, owner=owner, name="Fuzzed", framework=Framework.react)
    pid = project["project_id"]
    save_version(store, pid, {"index.html": "<h1>hi</h1>"}, parent=None, prompt="seed", job_id=None)
    yield Target(
        create_app(routes.ALL, settings=tuned, store=store),
        {"Authorization": f"Bearer {token}"},
        pid,
    )


def problem_with(status: int, headers: Any, text: str) -> str | None:
    """Why an answer breaks the error contract, or None."""
    if status >= 500:
        return f"server error {status}: {text[:300]}"
    if any(marker in text for marker in TRACE_MARKERS):
        return f"stack trace in a {status} answer: {text[:300]}"
    if status < 400:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return f"{status} answer is not JSON: {text[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and error["code"]
        and isinstance(error.get("message"), str)
    ):
        return f"{status} answer without error.code/message: {text[:200]}"
    return None


def _fuzz(operation: Any, target: Target, mode: GenerationMode, tally: Tally, **fixed: Any) -> None:
    strategy = operation.as_strategy(generation_mode=mode, **fixed)

    @hsettings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        tally.requests += 1
        try:
            response = case.call(headers=target.headers)
        except Exception as exc:  # the test client re-raises what the app did not handle
            tally.problems.append(f"{case.method} {case.formatted_path}: raised {exc!r}")
            return
        tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
        text = response.content.decode("utf-8", "replace")  # archive.zip is binary
        problem = problem_with(response.status_code, response.headers, text)
        if problem:
            tally.problems.append(f"{case.method} {case.formatted_path}: {problem}")

    # An operation without inputs has no invalid form: nothing to generate in that mode.
    with contextlib.suppress(Unsatisfiable):
        run()


@pytest.mark.slow  # ~1,200 requests: the campaign runs with `make test`
def test_fuzzed_requests_get_no_5xx_and_every_error_has_a_stable_code(target: Target) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", target.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the combined OpenAPI lost routes"
    tally = Tally()
    for operation in operations:
        params = {p.name for p in operation.path_parameters}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, target, mode, tally)
            if "project_id" in params and mode is GenerationMode.POSITIVE:
                fixed = {"project_id": target.project_id}
                _fuzz(operation, target, mode, tally, path_parameters=fixed)
    print(
        f"\nfuzzed {tally.requests} requests over {len(operations)} operations: {tally.by_status}"
    )
    assert not tally.problems, "\n".join(tally.problems[:20])
    assert tally.requests >= MIN_REQUESTS


def test_the_contract_check_catches_a_bare_500_and_a_trace() -> None:
    """The checker itself: a test that can never fail proves nothing."""
    assert problem_with(500, {}, '{"error":{"code":"x","message":"y"}}')
    assert problem_with(404, {}, '{"detail":"Not Found"}')
    assert problem_with(400, {}, "Traceback (most recent call last):\n ...")
    assert problem_with(422, {}, '{"error":{"code":"validation_error","message":"bad"}}') is None
