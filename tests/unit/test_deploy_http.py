"""The shared provider HTTP conventions, served from functions (no sockets)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from kiln.deploy.http import ProviderApi, retry_wait
from kiln.deploy.journal import Journal, Recorder
from kiln.errors import ProviderError

TOKEN = "secret-token-value"
NOW = 1_700_000_000.0


def api(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> ProviderApi:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return ProviderApi(
        "fake", "https://fake.test/v1", TOKEN, client=client, sleep=lambda s: None, **kw
    )  # type: ignore[arg-type]


def answering(
    *responses: httpx.Response,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler, seen


def code_for(status: int, **headers: str) -> str:
    handler, _ = answering(httpx.Response(status, json={"message": "no"}, headers=headers))
    with pytest.raises(ProviderError) as caught:
        api(handler).request("GET", "/x")
    return caught.value.code


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "deploy_auth"),
        (403, "deploy_auth"),
        (400, "deploy_invalid"),
        (422, "deploy_invalid"),
        (500, "deploy_unavailable"),
        (503, "deploy_unavailable"),
    ],
)
def test_provider_answers_map_to_stable_codes(status: int, code: str) -> None:
    assert code_for(status) == code


def test_a_403_with_an_exhausted_rate_limit_is_a_rate_limit_not_auth() -> None:
    assert (
        code_for(403, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"})
        == "deploy_rate_limited"
    )


def test_the_token_goes_only_into_the_authorization_header() -> None:
    handler, seen = answering(httpx.Response(200, json={}))
    api(handler).request("GET", "/x")
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(seen[0].url)


def test_a_provider_echoing_the_token_does_not_put_it_in_the_error() -> None:
    handler, _ = answering(httpx.Response(401, json={"message": f"bad token {TOKEN}"}))
    with pytest.raises(ProviderError) as caught:
        api(handler).request("GET", "/x")
    assert TOKEN not in str(caught.value)


def test_a_connection_failure_names_no_request_details(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderError) as caught:
        api(handler).request("GET", "/x")
    assert caught.value.code == "deploy_unavailable"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert TOKEN not in caplog.text


def test_a_post_is_not_repeated_after_a_server_error() -> None:
    handler, seen = answering(httpx.Response(500), httpx.Response(200, json={}))
    with pytest.raises(ProviderError):
        api(handler).request("POST", "/create")
    assert len(seen) == 1


def test_a_safe_call_is_repeated_after_a_server_error() -> None:
    handler, seen = answering(httpx.Response(502), httpx.Response(200, json={}))
    assert api(handler).request("PUT", "/file").status_code == 200
    assert len(seen) == 2


def test_a_rate_limited_post_is_repeated_after_the_wait() -> None:
    waits: list[float] = []
    handler, seen = answering(
        httpx.Response(429, headers={"retry-after": "3"}), httpx.Response(201, json={})
    )
    client = httpx.Client(transport=httpx.MockTransport(handler))
    ProviderApi("fake", "https://fake.test", TOKEN, client=client, sleep=waits.append).request(
        "POST", "/create"
    )
    assert (waits, len(seen)) == ([3.0], 2)


def test_a_wait_beyond_the_bound_is_raised_with_retry_after() -> None:
    handler, seen = answering(httpx.Response(429, headers={"retry-after": "120"}))
    with pytest.raises(ProviderError) as caught:
        api(handler, max_wait_s=60).request("GET", "/x")
    assert (caught.value.code, caught.value.retry_after, len(seen)) == (
        "deploy_rate_limited",
        120,
        1,
    )


def test_answers_the_caller_expects_are_returned_not_raised() -> None:
    handler, _ = answering(httpx.Response(422, json={"message": "exists"}))
    assert api(handler).request("POST", "/repos", ok={422}).status_code == 422


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT"}, 10.0),
        ({"X-RateLimit-Reset": str(int(NOW) + 30)}, 30.0),
        ({"X-RateLimit-Reset": str(int(NOW * 1000) + 5000)}, 5.0),
        ({"X-RateLimit-Reset": "2023-11-14 22:13:40 UTC"}, 20.0),
        ({"X-RateLimit-Reset": str(int(NOW) - 30)}, 0.0),
        ({}, 1.0),
    ],
)
def test_retry_wait_reads_seconds_epochs_and_dates(headers: dict[str, str], seconds: float) -> None:
    assert retry_wait(headers, now=NOW) == pytest.approx(seconds)


def test_the_recorder_saves_each_step_and_keeps_the_log_short() -> None:
    saved: list[str] = []
    heard: list[tuple[str, str]] = []
    rec = Recorder(
        Journal(target="x"), lambda j: saved.append(j.step), lambda s, m: heard.append((s, m))
    )
    for n in range(300):
        rec.step(f"s{n}", "m")
    assert saved[-1] == "s299"
    assert heard[-1] == ("s299", "m")
    assert len(rec.journal.log) == 200


def test_provider_ids_are_saved_the_moment_they_are_known() -> None:
    saved: list[dict[str, str]] = []
    rec = Recorder(Journal(target="x"), lambda j: saved.append(dict(j.provider_ids)))
    rec.ids(site="s1")
    assert saved == [{"site": "s1"}]
