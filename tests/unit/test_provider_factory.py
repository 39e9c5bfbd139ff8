"""Choosing and building a model provider from settings; the Ollama probe is injected."""

from __future__ import annotations

from typing import Any

import pytest

from kiln.config import Settings
from kiln.errors import BadRequest
from kiln.llm.providers import get_provider, resolve_provider_name


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "llm_provider": None,
        "llm_model": None,
        "openai_api_key": None,
        "anthropic_api_key": None,
        "bedrock_enabled": False,
        "aws_region": "us-east-1",
    }
    base.update(values)
    return Settings(_env_file=None, **base)


def no_ollama(host: str) -> bool:
    return False


def ollama_running(host: str) -> bool:
    return True


def test_nothing_configured_resolves_to_starter() -> None:
    assert resolve_provider_name(settings(), ollama_probe=no_ollama) == "starter"


def test_anthropic_key_wins_over_every_other_provider() -> None:
    s = settings(anthropic_api_key="a", openai_api_key="o", bedrock_enabled=True)

    assert resolve_provider_name(s, ollama_probe=ollama_running) == "anthropic"


def test_openai_key_wins_over_bedrock_and_ollama() -> None:
    s = settings(openai_api_key="o", bedrock_enabled=True)

    assert resolve_provider_name(s, ollama_probe=ollama_running) == "openai"


def test_bedrock_enabled_wins_over_ollama() -> None:
    s = settings(bedrock_enabled=True)

    assert resolve_provider_name(s, ollama_probe=ollama_running) == "bedrock"


def test_reachable_ollama_wins_over_starter() -> None:
    assert resolve_provider_name(settings(), ollama_probe=ollama_running) == "ollama"


def test_ollama_probe_is_asked_about_the_configured_host() -> None:
    asked: list[str] = []

    def probe(host: str) -> bool:
        asked.append(host)
        return False

    resolve_provider_name(settings(ollama_host="http://10.0.0.5:11434"), ollama_probe=probe)

    assert asked == ["http://10.0.0.5:11434"]


def test_configured_provider_wins_over_keys() -> None:
    s = settings(llm_provider="ollama", anthropic_api_key="a")

    assert resolve_provider_name(s, ollama_probe=no_ollama) == "ollama"


def test_explicit_name_wins_over_configured_provider() -> None:
    s = settings(llm_provider="ollama", anthropic_api_key="a")

    assert get_provider("openai", s).name == "openai"


def test_names_are_case_insensitive() -> None:
    assert get_provider(" OpenAI ", settings()).name == "openai"


def test_local_the_original_interfaces_name_is_the_local_ollama_model() -> None:
    assert get_provider("local", settings()).name == "ollama"
    assert resolve_provider_name(settings(llm_provider="local"), ollama_probe=no_ollama) == "ollama"


def test_unknown_explicit_name_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as info:
        get_provider("gemini", settings())

    assert info.value.code == "unknown_provider"
    assert "anthropic" in info.value.message


def test_unknown_configured_provider_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as info:
        resolve_provider_name(settings(llm_provider="gpt"), ollama_probe=no_ollama)

    assert info.value.code == "unknown_provider"


@pytest.mark.parametrize("name", ["anthropic", "openai", "bedrock", "ollama"])
def test_model_providers_say_they_are_models(name: str) -> None:
    provider = get_provider(name, settings())

    assert provider.name == name
    assert provider.is_model is True


def test_starter_is_built_lazily_and_says_it_is_not_a_model() -> None:
    provider = get_provider("starter", settings())

    assert provider.name == "starter"
    assert provider.is_model is False


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("anthropic", "claude-sonnet-4-5"),
        ("openai", "gpt-4.1-mini"),
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("ollama", "qwen2.5-coder:7b"),
    ],
)
def test_each_provider_has_a_default_model(name: str, model: str) -> None:
    assert get_provider(name, settings()).default_model() == model


@pytest.mark.parametrize(
    ("region", "prefix"),
    [("eu-west-1", "eu."), ("ap-southeast-2", "apac."), ("sa-east-1", "global.")],
)
def test_bedrock_default_model_uses_the_regions_inference_profile(region: str, prefix: str) -> None:
    model = get_provider("bedrock", settings(aws_region=region)).default_model()

    assert model == f"{prefix}anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.mark.parametrize("name", ["anthropic", "openai", "bedrock", "ollama"])
def test_configured_model_overrides_the_default(name: str) -> None:
    provider = get_provider(name, settings(llm_model="my-model"))

    assert provider.default_model() == "my-model"


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_provider_repr_hides_the_api_key(name: str) -> None:
    secret = "sk-very-secret-123"
    provider = get_provider(name, settings(anthropic_api_key=secret, openai_api_key=secret))

    assert secret not in repr(provider)
    assert secret not in repr(vars(provider))
