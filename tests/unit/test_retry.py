"""The one retry policy shared by model providers, Bedrock and deploy targets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiln.errors import ProviderError
from kiln.retry import Retryable, RetryPolicy, call_with_retries


def failing(*errors: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return calls, attempt


def test_the_wait_is_what_the_server_asked_for_else_a_jittered_backoff() -> None:
    waits: list[float] = []
    calls, attempt = failing(
        Retryable(ProviderError("slow down", code="x"), after=3.0),
        Retryable(ProviderError("down", code="x")),
    )
    assert call_with_retries(attempt, RetryPolicy(sleep=waits.append), what="t") == "ok"
    assert len(calls) == 3
    assert waits[0] == 3.0
    assert 0.75 <= waits[1] <= 1.0  # second attempt: 0.5 s doubled, less up to 25 %


def test_when_the_retries_are_spent_the_last_error_is_raised_as_itself() -> None:
    cause = ConnectionError("refused")
    last = ProviderError("unreachable", code="provider_unavailable")
    retry = Retryable(last)
    retry.__cause__ = cause
    calls, attempt = failing(Retryable(ProviderError("a", code="x")), retry)
    with pytest.raises(ProviderError) as caught:
        call_with_retries(attempt, RetryPolicy(max_retries=1, sleep=lambda s: None), what="t")
    assert caught.value is last and caught.value.__cause__ is cause
    assert len(calls) == 2


def test_an_error_that_is_not_retryable_ends_the_call_at_once() -> None:
    calls, attempt = failing(ProviderError("bad key", code="provider_auth"))
    with pytest.raises(ProviderError):
        call_with_retries(attempt, RetryPolicy(sleep=lambda s: None), what="t")
    assert len(calls) == 1
