"""What every HTTP model provider shares: timeouts, retries before the first byte, errors.

The retry rules follow the official OpenAI and Anthropic SDKs: `x-should-retry`
overrides everything; otherwise 408, 409, 429 and 5xx are retried, waiting
`retry-after-ms`, else `retry-after` (seconds or an HTTP date; more than 60 s is not
retried), else an exponential backoff from 0.5 s to 8 s. A response that has started
is never retried: the caller may already have shown part of it.

Errors become `ProviderError` with a stable code:

    401/403                         provider_auth
    429                             provider_rate_limited (retry_after set when known)
    429 insufficient_quota, ...     provider_quota_exceeded (never retried: only billing helps)
    529, overloaded_error           provider_overloaded
    other 5xx, connection dropped   provider_unavailable
    connect timeout, stalled stream provider_timeout
    400 and other 4xx               provider_bad_request

API keys never appear in messages or logs: they are `SecretStr` until the moment a
header is built, and anything a server echoes back is scrubbed of the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from httpx_sse import SSEError
from pydantic import SecretStr

from kiln.config import Settings
from kiln.errors import ProviderError
from kiln.http_answers import error_info, parse_retry_after, scrub
from kiln.retry import Retryable, RetryPolicy, call_with_retries

__all__ = [
    "Api",
    "build_client",
    "client_for",
    "error_for_exception",
    "error_for_status",
    "open_stream",
    "parse_event_json",
    "redact_url",
    "stream_errors",
]

log = logging.getLogger("kiln.llm")

MAX_RETRY_AFTER_S = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 429})
# Error types that mean "stop asking": a spent quota does not come back in seconds.
NO_RETRY_ERROR_CODES = frozenset({"insufficient_quota", "enforced_spend_limit_reached"})


@dataclass(frozen=True)
class Api:
    """Who we are talking to, for messages a person can act on."""

    name: str
    key_env: str | None = None
    key: SecretStr | None = field(default=None, repr=False)
    not_found: str | None = None  # what a 404 means here, e.g. "run `ollama pull m`"

    def scrub(self, text: str) -> str:
        """Remove the API key from text a server sent back (some echo it, partly masked)."""
        return scrub(text, self.key.get_secret_value() if self.key is not None else None)


def build_client(settings: Settings) -> httpx.Client:
    """An httpx client whose read timeout is the stall timeout: the longest gap between bytes."""
    timeout = httpx.Timeout(
        connect=settings.llm_connect_timeout,
        read=settings.llm_stall_timeout,
        write=settings.llm_connect_timeout,
        pool=settings.llm_connect_timeout,
    )
    return httpx.Client(timeout=timeout, follow_redirects=False)


@contextmanager
def client_for(settings: Settings, client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The injected client, or a fresh one closed after the call (no sockets outlive a job)."""
    if client is not None:
        yield client
        return
    with build_client(settings) as fresh:
        yield fresh


def redact_url(url: str | httpx.URL) -> str:
    """The URL without user info or query string, safe to log."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def error_for_status(
    api: Api, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> ProviderError:
    """The ProviderError for an HTTP error answer."""
    kind, detail = error_info(body)
    detail = api.scrub(detail)
    suffix = f": {detail}" if detail else "."
    retry_after = parse_retry_after(headers or {})
    if status in (401, 403):
        check = f" Check {api.key_env}." if api.key_env else ""
        verb = "rejected the API key" if status == 401 else "refused access"
        return ProviderError(f"{api.name} {verb} ({status}).{check}", code="provider_auth")
    if status == 429:
        if kind in NO_RETRY_ERROR_CODES:
            return ProviderError(
                f"{api.name} says the account's quota or spend limit is used up (429){suffix}",
                code="provider_quota_exceeded",
            )
        wait = f" Try again in {retry_after:.0f} s." if retry_after is not None else ""
        msg = f"{api.name} is rate-limiting requests (429).{wait}"
        return ProviderError(msg, code="provider_rate_limited", retry_after=retry_after)
    if status == 529 or kind == "overloaded_error":
        return ProviderError(
            f"{api.name} is overloaded ({status}). Try again in a minute or use another provider.",
            code="provider_overloaded",
            retry_after=retry_after,
        )
    if status >= 500 or status in (408, 409):
        return ProviderError(
            f"{api.name} is unavailable ({status}){suffix}",
            code="provider_unavailable",
            retry_after=retry_after,
        )
    if status == 404 and api.not_found:
        return ProviderError(api.not_found, code="provider_bad_request")
    if status == 404:
        return ProviderError(
            f"{api.name} answered 404 (unknown model or wrong base URL){suffix}",
            code="provider_bad_request",
        )
    return ProviderError(
        f"{api.name} rejected the request ({status}){suffix}", code="provider_bad_request"
    )


def error_for_exception(api: Api, exc: Exception, *, started: bool) -> ProviderError:
    """The ProviderError for a transport failure, before or during the stream."""
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError(
            f"Could not connect to {api.name} in time (connect timeout).", code="provider_timeout"
        )
    if isinstance(exc, httpx.TimeoutException):
        where = "stalled mid-stream" if started else "did not answer"
        return ProviderError(
            f"{api.name} {where}: no data within the stall timeout (KILN_LLM_STALL_TIMEOUT).",
            code="provider_timeout",
        )
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(
            f"Could not connect to {api.name}: {api.scrub(str(exc)) or type(exc).__name__}.",
            code="provider_unavailable",
        )
    if isinstance(exc, SSEError):
        return ProviderError(
            f"{api.name} answered without an event stream: {exc}.", code="provider_unavailable"
        )
    if started:
        return ProviderError(
            f"{api.name} dropped the connection mid-stream ({type(exc).__name__}).",
            code="provider_unavailable",
        )
    return ProviderError(
        f"{api.name} connection failed ({type(exc).__name__}).", code="provider_unavailable"
    )


def parse_event_json(api: Api, data: str | bytes) -> dict[str, Any]:
    """One streamed JSON event; anything else means the stream is broken."""
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ProviderError(
            f"{api.name} sent a malformed stream event.", code="provider_unavailable"
        ) from exc
    if not isinstance(value, dict):
        raise ProviderError(
            f"{api.name} sent a malformed stream event.", code="provider_unavailable"
        )
    return value


@contextmanager
def stream_errors(api: Api) -> Iterator[None]:
    """Turn transport errors while reading a started stream into ProviderError."""
    try:
        yield
    except (httpx.RequestError, httpx.StreamError, SSEError) as exc:
        raise error_for_exception(api, exc, started=True) from exc


def _retry_decision(response: httpx.Response, body: bytes) -> tuple[bool, float | None]:
    """(should retry, server-requested delay) for an error answer."""
    hint = response.headers.get("x-should-retry", "").lower()
    retry_after = parse_retry_after(response.headers)
    if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
        return False, retry_after
    if hint == "true":
        return True, retry_after
    if hint == "false":
        return False, retry_after
    kind, _ = error_info(body)
    if kind in NO_RETRY_ERROR_CODES:
        return False, retry_after
    status = response.status_code
    return status in RETRYABLE_STATUS or status >= 500, retry_after


@contextmanager
def open_stream(
    client: httpx.Client | None,
    request: httpx.Request,
    *,
    settings: Settings,
    api: Api,
    policy: RetryPolicy,
) -> Iterator[httpx.Response]:
    """Send `request` until a 2xx response starts (retrying per policy), then yield it open.

    Without an injected `client` a fresh one is used and closed afterwards. Errors
    raised while the caller reads the body become ProviderError and are never retried.
    """
    with client_for(settings, client) as http:
        yield from _open_stream(http, request, api=api, policy=policy)


def _open_stream(
    client: httpx.Client, request: httpx.Request, *, api: Api, policy: RetryPolicy
) -> Iterator[httpx.Response]:
    response = call_with_retries(
        lambda: _start(client, request, api), policy, what=f"{api.name} request"
    )
    try:
        with stream_errors(api):
            yield response
    finally:
        response.close()


def _start(client: httpx.Client, request: httpx.Request, api: Api) -> httpx.Response:
    """Send once: a 2xx response is returned open; an error that may be repeated is raised
    as `Retryable` (with the server's requested delay), any other as ProviderError."""
    try:
        response = client.send(request, stream=True)
    except httpx.TransportError as exc:
        raise Retryable(error_for_exception(api, exc, started=False)) from exc
    if response.is_success:
        return response
    try:
        body = response.read()
    except httpx.HTTPError:
        body = b""
    finally:
        response.close()
    error = error_for_status(api, response.status_code, body, response.headers)
    retry, retry_after = _retry_decision(response, body)
    if not retry:
        raise error
    log.info(
        "%s answered %s", api.name, response.status_code, extra={"url": redact_url(request.url)}
    )
    raise Retryable(error, retry_after)
