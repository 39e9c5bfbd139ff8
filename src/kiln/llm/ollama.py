"""Ollama's native `/api/chat` streaming (NDJSON), for local models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx

from kiln.config import Settings
from kiln.errors import ProviderError
from kiln.llm.base import ChatRequest, Finish
from kiln.llm.http import (
    Api,
    error_for_status,
    open_stream,
    parse_event_json,
)
from kiln.retry import RetryPolicy

DEFAULT_MODEL = "qwen2.5-coder:7b"
# Context sizes we ask for; Ollama's default (2k-4k) silently truncates our prompts.
CONTEXT_WINDOWS = (8192, 16384, 32768)
MIN_PREDICT = 1024
CHARS_PER_TOKEN = 3  # conservative for code: over-estimating only costs memory


def ollama_base_url(host: str) -> str:
    """OLLAMA_HOST as Ollama's own CLI reads it: `host:port` gets `http://`."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    return host


def context_options(request: ChatRequest) -> dict[str, int]:
    """`num_ctx` sized to the prompt plus the reply, and a `num_predict` that fits in it."""
    chars = len(request.system) + sum(len(m.content) for m in request.messages)
    prompt_tokens = chars // CHARS_PER_TOKEN + 64
    wanted = prompt_tokens + request.max_tokens
    num_ctx = next((n for n in CONTEXT_WINDOWS if n >= wanted), CONTEXT_WINDOWS[-1])
    num_predict = min(request.max_tokens, max(num_ctx - prompt_tokens, MIN_PREDICT))
    return {"num_ctx": num_ctx, "num_predict": num_predict}


class OllamaProvider:
    """Streams `POST {OLLAMA_HOST}/api/chat`."""

    name = "ollama"
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
        self._base_url = ollama_base_url(settings.ollama_host)
        self._api = Api(f"Ollama at {self._base_url}", None, None)

    def __repr__(self) -> str:
        return f"OllamaProvider(base_url={self._base_url!r})"

    def default_model(self) -> str:
        return self._settings.llm_model or DEFAULT_MODEL

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        options: dict[str, Any] = dict(context_options(request))
        if request.temperature is not None:
            options["temperature"] = request.temperature
        return {"model": request.model, "messages": messages, "stream": True, "options": options}

    def stream(self, request: ChatRequest) -> Iterator[str | Finish]:
        http_request = httpx.Request("POST", f"{self._base_url}/api/chat", json=self._body(request))
        api = replace(
            self._api,
            not_found=f"Ollama has no model {request.model!r}. Run `ollama pull {request.model}`.",
        )
        final: dict[str, Any] | None = None
        with open_stream(
            self._client, http_request, settings=self._settings, api=api, policy=self._retry
        ) as resp:
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                data = parse_event_json(api, line)
                if "error" in data:
                    raise error_for_status(api, 500, json.dumps(data).encode())
                text = (data.get("message") or {}).get("content")
                if text:
                    yield text
                if data.get("done"):
                    final = data
                    break
        if final is None:
            raise ProviderError(
                "Ollama closed the stream before the reply finished.", code="provider_unavailable"
            )
        yield Finish(
            stop_reason="max_tokens" if final.get("done_reason") == "length" else "end",
            input_tokens=int(final.get("prompt_eval_count") or 0),
            output_tokens=int(final.get("eval_count") or 0),
        )
