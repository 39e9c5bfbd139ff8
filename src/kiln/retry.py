"""One retry policy for every call kiln makes over the network: model providers (HTTP and
Bedrock) and deploy targets, run by tenacity.

An attempt that may be repeated raises `Retryable(error, after)`; anything else ends the
call at once. Between attempts kiln waits what the server asked for (`after`), else an
exponential backoff with up to 25 % jitter, 0.5 s doubling to 8 s, as the official OpenAI
and Anthropic SDKs do. When the attempts run out, the last error is raised as itself.
A response that has started streaming is never retried: that is the callers' rule.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

__all__ = ["RetryPolicy", "Retryable", "call_with_retries"]

log = logging.getLogger("kiln.retry")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before retrying; tests pass a recording `sleep`."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], object] = time.sleep

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with up to 25 % jitter, as the official SDKs do."""
        delay = min(self.initial_delay * 2.0**attempt, self.max_delay)
        return delay * (1.0 - 0.25 * random.random())


class Retryable(Exception):
    """This attempt failed in a way that may be repeated; `after` is the server's wish."""

    def __init__(self, error: Exception, after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.after = after


def call_with_retries(attempt: Callable[[], T], policy: RetryPolicy, *, what: str) -> T:
    """`attempt()` until it returns, raises something other than `Retryable`, or the
    policy's retries are spent (then the last `Retryable`'s error is raised)."""

    def wait(state: tenacity.RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome else None
        after = failed.after if isinstance(failed, Retryable) else None
        return after if after is not None else policy.backoff(state.attempt_number - 1)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        failed = state.outcome.exception() if state.outcome else None
        code = getattr(getattr(failed, "error", None), "code", type(failed).__name__)
        delay = state.upcoming_sleep
        log.warning("%s failed (%s); retrying in %.2f s", what, code, delay)

    def sleep(seconds: float) -> None:
        policy.sleep(seconds)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_retries + 1),
        retry=tenacity.retry_if_exception_type(Retryable),
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except Retryable as last:
        raise last.error from last.__cause__
