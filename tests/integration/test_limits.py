"""Limits: the per-owner and per-address rate limits and the daily quota (429 with
Retry-After), body size (413), prompt length, files per project, file size, and API
Gateway's throttling in the template."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr

from kiln.api import routes
from kiln.api.app import create_app
from kiln.api.limits import count_request, rate_limit
from kiln.config import Settings
from kiln.errors import RateLimited
from kiln.local.resources import load_template
from kiln.store.db import Store, from_item, to_item

pytestmark = pytest.mark.integration

T = TypeVar("T")

# What each rate-limited route needs to get past validation; the limit must answer first.
LIMITED = {
    ("POST", "/api/generations"),
    ("POST", "/api/deployments"),
    ("POST", "/api/projects/{project_id}/versions"),
    ("POST", "/api/projects/{project_id}/schedules"),
    ("POST", "/api/projects/{project_id}/versions/{number}/preview"),
}


def _client(settings: Settings, **limits: Any) -> Iterator[TestClient]:
    tuned = settings.model_copy(update=limits)
    with TestClient(create_app(routes.ALL, settings=tuned, store=Store(tuned))) as c:
        c.headers["Authorization"] = "Bearer " + c.post("/api/sessions").json()["token"]
        yield c


owner_client = contextmanager(_client)


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    yield from _client(settings, rate_limit_per_minute=3)


def in_one_window(run: Callable[[int], T]) -> T:
    """Run a sequence whose requests must fall in one minute's count. Should it straddle a
    minute boundary (the count starts again), it runs again; `run(attempt)` uses fresh
    owners or addresses each attempt, so an earlier attempt's count does not carry over."""
    for attempt in range(3):
        minute = int(time.time() // 60)
        result = run(attempt)
        if int(time.time() // 60) == minute:
            return result
    raise AssertionError("three attempts in a row straddled a minute boundary")


def _generate(client: TestClient, **body: Any) -> Any:
    return client.post("/api/generations", json={"prompt": "a todo list", **body})


def _assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_the_rate_limit_answers_429_rate_limited_with_retry_after(settings: Settings) -> None:
    def run(_: int) -> list[Any]:
        with owner_client(settings, rate_limit_per_minute=3) as client:
            return [_generate(client) for _ in range(4)]

    answers = in_one_window(run)
    assert [a.status_code for a in answers[:3]] == [202, 202, 202]
    _assert_error(answers[3], 429, "rate_limited")
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60


def test_the_rate_limit_counts_each_owner_apart(settings: Settings) -> None:
    def run(_: int) -> tuple[list[int], int]:
        with owner_client(settings, rate_limit_per_minute=3) as client:
            mine = [_generate(client).status_code for _ in range(4)]
            other = client.post("/api/sessions").json()["token"]
            resp = client.post(
                "/api/generations",
                json={"prompt": "a todo list"},
                headers={"Authorization": f"Bearer {other}"},
            )
            return mine, resp.status_code

    mine, others = in_one_window(run)
    assert mine == [202, 202, 202, 429] and others == 202


def test_reads_are_not_rate_limited(limited: TestClient) -> None:
    for _ in range(3):
        _generate(limited)
    for _ in range(5):
        assert limited.get("/api/projects").status_code == 200


def test_every_mutating_route_that_starts_work_is_rate_limited(settings: Settings) -> None:
    """With a limit of 0 the first call is refused, before its body is even looked at."""
    limited = {
        (method, route.path)
        for router in routes.ALL
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if any(d.dependency is rate_limit for d in route.dependencies)
    }
    assert limited >= LIMITED
    for client in _client(settings, rate_limit_per_minute=0):
        for method, path in sorted(limited):
            url = path.replace("{project_id}", "p_missing").replace("{number}", "1")
            _assert_error(client.request(method, url, json={}), 429, "rate_limited")


def test_the_counter_is_one_item_per_owner_per_minute_with_a_ttl(store: Store) -> None:
    at = 1_800_000_000.0  # a minute boundary
    assert count_request(store, "o_x", 5, at=at) == 1
    assert count_request(store, "o_x", 5, at=at + 59) == 2
    item = store.ddb.get_item(
        TableName=store.table, Key=to_item({"PK": f"RATE#o_x#{int(at) // 60}", "SK": "META"})
    )["Item"]
    values = from_item(item)
    assert values["requests"] == 2 and values["expires_at"] == int(at) + 120


def test_a_new_minute_starts_a_new_count(store: Store) -> None:
    at = 1_800_000_000.0
    count_request(store, "o_y", 1, at=at)
    with pytest.raises(RateLimited) as refused:
        count_request(store, "o_y", 1, at=at + 45)
    assert refused.value.retry_after == 15
    assert count_request(store, "o_y", 1, at=at + 60) == 1


def test_the_daily_quota_answers_429_quota_exceeded_with_retry_after(
    settings: Settings,
) -> None:
    for client in _client(settings, daily_job_quota=2):
        assert _generate(client).status_code == 202
        assert _generate(client).status_code == 202
        resp = _generate(client)
        _assert_error(resp, 429, "quota_exceeded")
        assert 0 < int(resp.headers["retry-after"]) <= 86400


def test_a_body_over_the_limit_is_refused_with_413(settings: Settings) -> None:
    for client in _client(settings, max_body_bytes=10_000):
        resp = client.post("/api/generations", json={"prompt": "x" * 20_000})
        _assert_error(resp, 413, "payload_too_large")


def test_a_prompt_over_the_limit_is_refused(settings: Settings) -> None:
    for client in _client(settings, max_prompt_chars=100):
        _assert_error(_generate(client, prompt="y" * 101), 413, "prompt_too_long")
        assert _generate(client, prompt="y" * 100).status_code == 202


def _project(client: TestClient) -> str:
    pid: str = _generate(client).json()["project_id"]
    return pid


def test_a_hand_edit_past_the_file_count_limit_is_refused(settings: Settings) -> None:
    for client in _client(settings, max_files=3):
        pid = _project(client)
        files = {f"src/f{i}.ts": "x" for i in range(4)}
        resp = client.post(
            f"/api/projects/{pid}/versions", json={"base_version": 0, "files": files}
        )
        _assert_error(resp, 422, "too_many_files")


def test_a_hand_edited_file_over_the_size_limit_is_refused(settings: Settings) -> None:
    for client in _client(settings, max_file_bytes=1000):
        pid = _project(client)
        resp = client.post(
            f"/api/projects/{pid}/versions",
            json={"base_version": 0, "files": {"src/big.ts": "z" * 1001}},
        )
        _assert_error(resp, 422, "file_too_large")


def test_api_gateway_throttles_every_route_of_the_http_api() -> None:
    resources = load_template()["Resources"]
    stages = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stages, "the template has no HttpApi stage"
    params = load_template()["Parameters"]
    for stage in stages:
        route = stage["Properties"]["DefaultRouteSettings"]
        for setting in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
            value = route[setting]
            ref = value.get("Ref") if isinstance(value, dict) else None
            number = float(params[ref]["Default"]) if ref else float(value)
            assert 0 < number <= 10_000, (setting, number)


# --- the legacy routes and session minting, counted per client address -----------------


def _address(attempt: int) -> str:
    return f"203.0.113.{10 + attempt}"


def _anonymous(settings: Settings, address: str = "203.0.113.7", **limits: Any) -> TestClient:
    """A client with no token, connecting from `address` (the socket peer)."""
    tuned = settings.model_copy(update={"sync_wait_s": 0.0, **limits})
    return TestClient(
        create_app(routes.ALL, settings=tuned, store=Store(tuned)), client=(address, 40000)
    )


def test_token_less_legacy_generate_past_the_address_limit_answers_429_with_retry_after(
    settings: Settings,
) -> None:
    """Each call mints a new owner, so only the address can count them."""

    def run(attempt: int) -> list[Any]:
        with _anonymous(settings, _address(attempt), address_rate_limit_per_minute=2) as client:
            return [client.post("/api/generate", json={"prompt": "a todo list"}) for _ in range(4)]

    answers = in_one_window(run)
    assert [a.status_code for a in answers[:2]] == [202, 202]
    for resp in answers[2:]:
        _assert_error(resp, 429, "rate_limited")
        assert 1 <= int(resp.headers["retry-after"]) <= 60


def test_legacy_generate_with_a_token_past_the_owner_limit_answers_429(
    settings: Settings,
) -> None:
    def run(_: int) -> list[Any]:
        with owner_client(settings, rate_limit_per_minute=2, sync_wait_s=0.0) as client:
            return [client.post("/api/generate", json={"prompt": "a todo list"}) for _ in range(4)]

    answers = in_one_window(run)
    assert [a.status_code for a in answers[:2]] == [202, 202]
    for resp in answers[2:]:
        _assert_error(resp, 429, "rate_limited")
        assert 1 <= int(resp.headers["retry-after"]) <= 60


def test_token_less_legacy_deploy_is_counted_per_address(settings: Settings) -> None:
    with _anonymous(settings, address_rate_limit_per_minute=0) as client:
        resp = client.post("/api/deploy", json={"code": "<h1>hi</h1>", "platform": "s3"})
    _assert_error(resp, 429, "rate_limited")


def test_sessions_minted_from_one_address_past_the_limit_are_refused(
    settings: Settings,
) -> None:
    def run(attempt: int) -> list[Any]:
        with _anonymous(settings, _address(attempt), address_rate_limit_per_minute=3) as client:
            return [client.post("/api/sessions") for _ in range(5)]

    minted = in_one_window(run)
    assert [m.status_code for m in minted[:3]] == [201, 201, 201]
    for resp in minted[3:]:
        _assert_error(resp, 429, "rate_limited")
        assert "token" not in resp.text
    with _anonymous(settings, "198.51.100.9", address_rate_limit_per_minute=3) as other:
        assert other.post("/api/sessions").status_code == 201


def test_work_from_one_address_is_counted_across_all_its_owners(settings: Settings) -> None:
    """Minting owners does not multiply the work an address may start."""

    def run(attempt: int) -> list[Any]:
        with _anonymous(settings, _address(attempt), address_rate_limit_per_minute=4) as client:
            tokens = [client.post("/api/sessions").json()["token"] for _ in range(2)]
            return [
                client.post(
                    "/api/generations",
                    json={"prompt": "a todo list"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for token in [*tokens, *tokens]
            ]

    answers = in_one_window(run)
    assert [a.status_code for a in answers[:2]] == [202, 202]
    for resp in answers[2:]:
        _assert_error(resp, 429, "rate_limited")


def test_a_client_supplied_x_forwarded_for_does_not_change_the_address(
    settings: Settings,
) -> None:
    def run(attempt: int) -> list[int]:
        with _anonymous(settings, _address(attempt), address_rate_limit_per_minute=2) as client:
            return [
                client.post("/api/sessions", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
                for n in range(3)
            ]

    assert in_one_window(run) == [201, 201, 429]


def test_behind_a_trusted_proxy_the_address_it_forwards_is_counted(settings: Settings) -> None:
    """With one trusted hop (CloudFront), the entry the proxy appended is the client; what
    the client put before it is not believed."""

    def run(attempt: int) -> tuple[list[int], int]:
        with _anonymous(settings, address_rate_limit_per_minute=2, trusted_proxy_hops=1) as client:

            def mint(chain: str) -> int:
                resp = client.post("/api/sessions", headers={"X-Forwarded-For": chain})
                return int(resp.status_code)

            viewer = f"192.0.2.{1 + attempt}"
            return [mint(f"10.9.9.{n}, {viewer}") for n in range(3)], mint("192.0.2.200")

    same_viewer, another = in_one_window(run)
    assert same_viewer == [201, 201, 429] and another == 201


def test_the_address_counter_is_one_item_per_address_per_minute(settings: Settings) -> None:
    with _anonymous(settings) as client:
        client.post("/api/sessions")
        client.post("/api/sessions")
    store = Store(settings)
    minute = int(time.time() // 60)
    counted = 0
    for m in (minute - 1, minute):  # the two calls may straddle a minute boundary
        item = store.ddb.get_item(
            TableName=store.table, Key=to_item({"PK": f"RATE#ip:203.0.113.7#{m}", "SK": "META"})
        ).get("Item")
        counted += from_item(item)["requests"] if item else 0
    assert counted == 2


# --- on AWS, the API answers only requests that came through CloudFront -------------------


def test_without_cloudfronts_origin_header_the_api_answers_403_direct_access_refused(
    settings: Settings,
) -> None:
    tuned = settings.model_copy(update={"origin_verify_secret": SecretStr("s3cret-origin")})
    with TestClient(create_app(routes.ALL, settings=tuned, store=Store(tuned))) as client:
        for headers in ({}, {"X-Kiln-Origin-Verify": "guess"}):
            _assert_error(
                client.post("/api/sessions", headers=headers), 403, "direct_access_refused"
            )
            _assert_error(client.get("/api/health", headers=headers), 403, "direct_access_refused")
        through = {"X-Kiln-Origin-Verify": "s3cret-origin"}
        assert client.post("/api/sessions", headers=through).status_code == 201
        assert "s3cret-origin" not in client.get("/api/health").text


def test_the_origin_header_value_is_read_from_secrets_manager_at_start(
    settings: Settings, store: Store
) -> None:
    """On AWS the functions get the secret's ARN, never its value, in their environment."""
    arn = store.client("secretsmanager").create_secret(
        Name=f"kiln/origin-{uuid.uuid4().hex[:8]}", SecretString="from-secrets-manager"
    )["ARN"]
    tuned = settings.model_copy(update={"origin_verify_secret_arn": arn})
    with TestClient(create_app(routes.ALL, settings=tuned, store=Store(tuned))) as client:
        _assert_error(client.post("/api/sessions"), 403, "direct_access_refused")
        through = {"X-Kiln-Origin-Verify": "from-secrets-manager"}
        assert client.post("/api/sessions", headers=through).status_code == 201
