"""One reading of an HTTP answer for model providers and deploy targets alike."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from kiln.deploy.http import ProviderApi, retry_wait
from kiln.errors import ProviderError
from kiln.http_answers import error_info, parse_retry_after
from kiln.llm.http import Api, error_for_status

NOW = 1_700_000_000.0
KEY = "sk-the-secret-key-1234"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "2500"}, 2.5),
        ({"Retry-After": "Tue, 14 Nov 2023 22:13:40 GMT"}, 20.0),
        ({"Retry-After": "2023-11-14 22:13:50 UTC"}, 30.0),
        ({"Retry-After": "-3"}, 0.0),
    ],
)
def test_a_deploy_target_waits_as_long_as_a_model_provider_would(
    headers: dict[str, str], seconds: float
) -> None:
    assert parse_retry_after(headers, now=NOW) == pytest.approx(seconds)
    assert retry_wait(headers, now=NOW) == pytest.approx(seconds)


def test_an_unreadable_retry_after_says_nothing() -> None:
    assert parse_retry_after({"Retry-After": "soon"}, now=NOW) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error": {"type": "rate_limit_error", "message": "slow down"}}',
            ("rate_limit_error", "slow down"),
        ),
        (b'{"error": {"code": "forbidden", "message": "no"}}', ("forbidden", "no")),
        (b'{"error": "model not found"}', ("", "model not found")),
        (b'{"message": "Not Found"}', ("", "Not Found")),
        (b"Bad Gateway\n", ("", "Bad Gateway")),
    ],
)
def test_error_bodies_of_every_provider_read_the_same(
    body: bytes, expected: tuple[str, str]
) -> None:
    assert error_info(body) == expected


def test_a_key_echoed_back_is_redacted_by_providers_and_deploy_targets_alike() -> None:
    body = f'{{"error": {{"message": "bad key {KEY}"}}}}'.encode()
    llm_error = error_for_status(Api("Fake", key=SecretStr(KEY)), 400, body)

    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(400, content=body))
    )
    with pytest.raises(ProviderError) as caught:
        ProviderApi("fake", "https://fake.test", KEY, client=client).request("GET", "/x")

    for message in (llm_error.message, caught.value.message):
        assert KEY not in message
        assert "bad key [redacted]" in message
