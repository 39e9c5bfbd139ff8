"""Anthropic Messages streaming (SSE) with `x-api-key` and `anthropic-version: 2023-06-01`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
from httpx_sse import EventSource

from kiln.config import Settings, provider_key
from kiln.errors import ProviderError
from kiln.llm.base import ChatRequest, Finish, StopReason
from kiln.llm.http import (
    Api,
    error_for_status,
    open_stream,
    parse_event_json,
)
from kiln.retry import RetryPolicy

DEFAULT_MODEL = "claude-sonnet-4-5"
API_VERSION = "2023-06-01"
# Stop reasons that mean the reply was cut short, not finished.
TRUNCATED = frozenset({"max_tokens", "model_context_window_exceeded"})
# In-band `error` event types -> the HTTP status the same error has before a stream.
ERROR_STATUS = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "api_error": 500,
    "authentication_error": 401,
    "permission_error": 403,
    "invalid_request_error": 400,
    "request_too_large": 413,
}


class AnthropicProvider:
    """Streams `POST {ANTHROPIC_BASE_URL}/v1/messages`."""

    name = "anthropic"
    is_model = True

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._retry = retry or RetryPolicy()
        self._base_url = settings.anthropic_base_url.rstrip("/")
        self._api = Api("Anthropic", "ANTHROPIC_API_KEY", settings.anthropic_api_key)

    def __repr__(self) -> str:
        return f"AnthropicProvider(base_url={self._base_url!r})"

    def default_model(self) -> str:
        return self._settings.llm_model or DEFAULT_MODEL

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
        }
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    def stream(self, request: ChatRequest) -> Iterator[str | Finish]:
        key = provider_key(self._settings, "anthropic")
        self._api = replace(self._api, key=key)
        if key is None:
            raise ProviderError(
                "ANTHROPIC_API_KEY is not set; Anthropic needs an API key.", code="provider_auth"
            )
        headers = {
            "x-api-key": key.get_secret_value(),
            "anthropic-version": API_VERSION,
            "Accept": "text/event-stream",
        }
        http_request = httpx.Request(
            "POST", f"{self._base_url}/v1/messages", json=self._body(request), headers=headers
        )
        stop: StopReason | None = None
        input_tokens = output_tokens = 0
        extra: dict[str, int] = {}
        with open_stream(
            self._client, http_request, settings=self._settings, api=self._api, policy=self._retry
        ) as resp:
            for sse in EventSource(resp).iter_sse():
                if not sse.data or sse.event == "ping":
                    continue
                data = parse_event_json(self._api, sse.data)
                kind = data.get("type", sse.event)
                if kind == "content_block_delta":
                    delta = data.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        yield delta["text"]
                elif kind == "message_start":
                    usage = (data.get("message") or {}).get("usage") or {}
                    input_tokens = int(usage.get("input_tokens") or 0)
                    output_tokens = int(usage.get("output_tokens") or 0)
                    extra = _cache_usage(usage)
                elif kind == "message_delta":
                    reason = (data.get("delta") or {}).get("stop_reason")
                    if reason:
                        stop = "max_tokens" if reason in TRUNCATED else "end"
                    usage = data.get("usage") or {}
                    output_tokens = int(usage.get("output_tokens") or output_tokens)
                    input_tokens = int(usage.get("input_tokens") or input_tokens)
                elif kind == "message_stop":
                    break
                elif kind == "error":
                    err = data.get("error") or {}
                    status = ERROR_STATUS.get(str(err.get("type")), 500)
                    raise error_for_status(self._api, status, json.dumps(data).encode())
            else:
                raise ProviderError(
                    "Anthropic closed the stream before the reply finished.",
                    code="provider_unavailable",
                )
        yield Finish(
            stop_reason=stop or "end",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            extra=extra,
        )


def _cache_usage(usage: dict[str, Any]) -> dict[str, int]:
    keys = ("cache_creation_input_tokens", "cache_read_input_tokens")
    return {k: int(usage[k]) for k in keys if usage.get(k)}
