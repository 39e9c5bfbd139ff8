"""OpenAI Chat Completions streaming (SSE), for OpenAI and any OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

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

DEFAULT_MODEL = "gpt-4.1-mini"
OFFICIAL_HOST = "api.openai.com"


class OpenAIProvider:
    """Streams `/chat/completions` from `settings.openai_base_url`.

    api.openai.com gets `max_completion_tokens`; other servers (vLLM, LM Studio,
    Ollama's /v1) get the older `max_tokens`, which they all understand.
    """

    name = "openai"
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
        self._base_url = settings.openai_base_url.rstrip("/")
        self._api = Api("OpenAI", "OPENAI_API_KEY", settings.openai_api_key)

    def __repr__(self) -> str:
        return f"OpenAIProvider(base_url={self._base_url!r})"

    @property
    def official(self) -> bool:
        return urlsplit(self._base_url).hostname == OFFICIAL_HOST

    def default_model(self) -> str:
        return self._settings.llm_model or DEFAULT_MODEL

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        body["max_completion_tokens" if self.official else "max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    def stream(self, request: ChatRequest) -> Iterator[str | Finish]:
        key = provider_key(self._settings, "openai")
        self._api = replace(self._api, key=key)
        if key is None and self.official:
            raise ProviderError(
                "OPENAI_API_KEY is not set; OpenAI needs an API key.", code="provider_auth"
            )
        headers = {"Accept": "text/event-stream"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
        http_request = httpx.Request(
            "POST", f"{self._base_url}/chat/completions", json=self._body(request), headers=headers
        )
        stop: StopReason | None = None
        usage: dict[str, Any] = {}
        with open_stream(
            self._client, http_request, settings=self._settings, api=self._api, policy=self._retry
        ) as resp:
            for sse in EventSource(resp).iter_sse():
                if sse.data == "[DONE]":
                    break
                if not sse.data:
                    continue
                chunk = parse_event_json(self._api, sse.data)
                if "error" in chunk:
                    raise _in_band_error(self._api, chunk)
                if chunk.get("usage"):
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
                    reason = choice.get("finish_reason")
                    if reason:
                        stop = "max_tokens" if reason == "length" else "end"
            else:
                if stop is None:
                    raise ProviderError(
                        "OpenAI closed the stream before the reply finished.",
                        code="provider_unavailable",
                    )
        yield Finish(
            stop_reason=stop or "end",
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            extra=_cached(usage),
        )


def _cached(usage: dict[str, Any]) -> dict[str, int]:
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return {"cached_input_tokens": int(cached)} if cached else {}


def _in_band_error(api: Api, chunk: dict[str, Any]) -> ProviderError:
    """An error sent as a data event after the stream started (HTTP status stays 200)."""
    err = chunk.get("error") or {}
    status = 500
    if isinstance(err, dict):
        kind = str(err.get("code") or err.get("type") or "")
        if "rate_limit" in kind:
            status = 429
        elif "overloaded" in kind:
            status = 529
        elif "invalid_request" in kind:
            status = 400
    return error_for_status(api, status, json.dumps(chunk).encode())
