"""Which model provider to use, and building it: the one place that resolves providers.

Order when nothing is asked for explicitly: `KILN_LLM_PROVIDER`, then the first
configured of anthropic (key), openai (key), bedrock (`KILN_BEDROCK_ENABLED`), a
reachable Ollama (0.3 s probe of `/api/tags`, remembered for a while), else `starter`,
the offline template generator that is not a model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from kiln.config import Settings, has_provider_key
from kiln.errors import BadRequest
from kiln.llm.base import Provider
from kiln.llm.ollama import ollama_base_url
from kiln.retry import RetryPolicy

__all__ = [
    "PROVIDER_NAMES",
    "clear_probe_cache",
    "get_provider",
    "ollama_reachable",
    "resolve_provider_name",
]

PROVIDER_NAMES = ("anthropic", "openai", "bedrock", "ollama", "starter")
ALIASES = {"local": "ollama"}  # the original interface's name for the local model
PROBE_TIMEOUT_S = 0.3
# A found Ollama is trusted longer than a missing one, which may be starting up.
PROBE_TTL_S = {True: 300.0, False: 30.0}

_probes: dict[str, tuple[bool, float]] = {}


def ollama_reachable(host: str) -> bool:
    """Whether an Ollama server answers `/api/tags` at `host` (cached per host)."""
    url = ollama_base_url(host)
    now = time.monotonic()
    cached = _probes.get(url)
    if cached is not None and now - cached[1] < PROBE_TTL_S[cached[0]]:
        return cached[0]
    try:
        response = httpx.get(f"{url}/api/tags", timeout=PROBE_TIMEOUT_S)
        found = response.status_code == 200 and "models" in response.json()
    except (httpx.HTTPError, ValueError):
        found = False
    _probes[url] = (found, now)
    return found


def clear_probe_cache() -> None:
    """Forget probe results (tests, or after the user starts Ollama)."""
    _probes.clear()


def resolve_provider_name(
    settings: Settings, *, ollama_probe: Callable[[str], bool] = ollama_reachable
) -> str:
    """The provider to use when the request names none."""
    if settings.llm_provider:
        return _checked(settings.llm_provider)
    if has_provider_key(settings, "anthropic"):
        return "anthropic"
    if has_provider_key(settings, "openai"):
        return "openai"
    if settings.bedrock_enabled:
        return "bedrock"
    if ollama_probe(settings.ollama_host):
        return "ollama"
    return "starter"


def get_provider(
    name: str | None, settings: Settings, *, retry: RetryPolicy | None = None
) -> Provider:
    """The provider called `name` (or the resolved default), ready to stream."""
    name = _checked(name) if name else resolve_provider_name(settings)
    retry = retry or RetryPolicy(initial_delay=settings.llm_retry_initial_delay_s)
    if name == "anthropic":
        from kiln.llm.anthropic import AnthropicProvider

        return AnthropicProvider(settings, retry=retry)
    if name == "openai":
        from kiln.llm.openai import OpenAIProvider

        return OpenAIProvider(settings, retry=retry)
    if name == "bedrock":
        from kiln.llm.bedrock import BedrockProvider

        return BedrockProvider(settings, endpoint_url=settings.bedrock_endpoint_url, retry=retry)
    if name == "ollama":
        from kiln.llm.ollama import OllamaProvider

        return OllamaProvider(settings, retry=retry)
    from kiln.llm.starter import StarterProvider

    starter: Provider = StarterProvider(settings)
    return starter


def _checked(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in PROVIDER_NAMES:
        raise BadRequest(
            f"Unknown model provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}.",
            code="unknown_provider",
        )
    return key
