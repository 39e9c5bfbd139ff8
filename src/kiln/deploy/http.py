"""The HTTP conventions the three token-based deploy targets share (`ProviderApi`): auth,
bounded waits on rate limits, retries only where a call is safe to repeat, and the
mapping of provider answers onto `ProviderError` codes:

    deploy_auth          401/403     deploy_invalid       400/404/409/422
    deploy_rate_limited  429 (wait beyond the bound)
    deploy_unavailable   5xx, connection errors
    deploy_failed        the provider built or published and said ERROR

Tokens are only ever put into the Authorization header of one request; they are
never logged, stored in the journal, or put into exception text.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kiln.errors import ProviderError
from kiln.http_answers import error_info, parse_date, parse_retry_after, scrub
from kiln.retry import Retryable, RetryPolicy, call_with_retries

__all__ = ["ProviderApi", "provider_message", "retry_wait", "segment"]

log = logging.getLogger(__name__)

_TRANSPORT_RETRIES = 3
_RATE_LIMIT_RETRIES = 5


def segment(value: object) -> str:
    """One URL path segment: `/`, `?`, `#` and `%` quoted, so a value cannot climb out of it.

    `.` and `..` are refused: quoting leaves them as they are, and the URL would resolve them.
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ProviderError(f"{text!r} cannot be a URL path segment", code="deploy_invalid")
    return quote(text, safe="")


class ProviderApi:
    """Calls one provider's REST API with a token, waiting out rate limits up to a bound."""

    def __init__(
        self,
        provider: str,
        base: str,
        token: str,
        *,
        client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
        max_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.base = base.rstrip("/")
        self._token = token
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        self.headers = dict(headers or {})
        self.max_wait_s = max_wait_s
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"ProviderApi({self.provider!r}, {self.base!r})"

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> ProviderApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: Collection[int] = (),
        safe: bool | None = None,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one call; answers in `ok` (and 2xx) are returned, others raise ProviderError.

        `safe` says whether repeating the call after a lost answer or a 5xx is harmless
        (default: everything but POST). A 429 is always retried: nothing happened.
        """
        repeatable = method.upper() != "POST" if safe is None else safe
        merged = {**self.headers, **(headers or {}), "Authorization": f"Bearer {self._token}"}
        url = f"{self.base}{path}"
        failures = 0  # lost answers and 5xx: repeated only when safe, at most 3 attempts

        def attempt() -> httpx.Response:
            nonlocal failures
            try:
                resp = self.client.request(
                    method, url, json=json, content=content, params=params, headers=merged
                )
            except httpx.TransportError as exc:
                failures += 1
                log.warning("%s %s %s failed: %s", self.provider, method, path, type(exc).__name__)
                error = ProviderError(
                    f"{self.provider} is unreachable ({type(exc).__name__} on {method} {path})",
                    code="deploy_unavailable",
                )
                # `from None`: the chained httpx error carries the request and its headers
                if repeatable and failures < _TRANSPORT_RETRIES:
                    raise Retryable(error) from None
                raise error from None
            log.info("%s %s %s -> %s", self.provider, method, path, resp.status_code)
            if resp.status_code in ok or resp.is_success:
                return resp
            if _is_rate_limited(resp):  # always repeatable: nothing happened
                wait = retry_wait(resp.headers)
                limited = ProviderError(
                    f"{self.provider} rate limit: retry in {math.ceil(wait)} s",
                    code="deploy_rate_limited",
                    retry_after=math.ceil(wait),
                )
                if wait <= self.max_wait_s:
                    raise Retryable(limited, wait)
                raise limited
            if resp.status_code >= 500 and repeatable and failures + 1 < _TRANSPORT_RETRIES:
                failures += 1
                raise Retryable(self.error(resp, method, path))
            raise self.error(resp, method, path)

        policy = RetryPolicy(max_retries=_RATE_LIMIT_RETRIES - 1, sleep=self.sleep)
        return call_with_retries(attempt, policy, what=f"{self.provider} {method} {path}")

    def error(self, resp: httpx.Response, method: str, path: str) -> ProviderError:
        status = resp.status_code
        detail = self._scrub(provider_message(resp))
        message = f"{self.provider} answered {status} to {method} {path}: {detail}".rstrip(": ")
        if status in (401, 403):
            code = "deploy_auth"
        elif status >= 500:
            code = "deploy_unavailable"
        else:
            code = "deploy_invalid"
        return ProviderError(message, code=code)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._token)


def provider_message(resp: httpx.Response) -> str:
    """The human part of Vercel, Netlify and GitHub error bodies (or the plain text)."""
    code, message = error_info(resp.content)
    return message or code


def _is_rate_limited(resp: httpx.Response) -> bool:
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    if resp.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in resp.headers:
        return True
    return "rate limit" in provider_message(resp).lower()


def retry_wait(headers: Mapping[str, str], *, now: float | None = None) -> float:
    """Seconds to wait from Retry-After or X-RateLimit-Reset (seconds, epoch or a date)."""
    now = time.time() if now is None else now
    asked = parse_retry_after(headers, now=now)
    if asked is not None:
        return asked
    reset = {k.lower(): v for k, v in headers.items()}.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
            epoch = value / 1000 if value > 1e12 else value
        except ValueError:
            parsed = parse_date(reset)
            epoch = parsed if parsed is not None else now + 1
        return max(0.0, epoch - now)
    return 1.0
