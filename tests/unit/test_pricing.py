"""Cost estimates from the price table and KILN_PRICES overrides."""

from __future__ import annotations

from typing import Any

import pytest

from kiln.config import Settings
from kiln.llm.pricing import Cost, estimate_cost, normalise_model

M = 1_000_000


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    ("model", "usd"),
    [
        ("claude-sonnet-4-5", 3.0 + 15.0),
        ("gpt-4.1-mini", 0.40 + 1.60),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0 + 15.0),
    ],
)
def test_default_models_have_list_prices(model: str, usd: float) -> None:
    cost = estimate_cost(model, M, M, settings=settings())

    assert cost == Cost(usd=pytest.approx(usd), known=True)


def test_cost_scales_with_input_and_output_separately() -> None:
    cost = estimate_cost("claude-sonnet-4-5", 2000, 1000, settings=settings())

    assert cost.usd == pytest.approx((2000 * 3.0 + 1000 * 15.0) / M)


def test_local_ollama_model_is_known_and_free() -> None:
    assert estimate_cost("qwen2.5-coder:7b", M, M, settings=settings()) == Cost(0.0, True)


def test_an_unknown_model_is_priced_as_the_most_expensive_known_one_and_says_so() -> None:
    """Never $0: a model missing from the table would otherwise run past every budget."""
    assert estimate_cost("mystery-model", M, M, settings=settings()) == Cost(15.0 + 75.0, False)


def test_the_most_expensive_price_includes_the_operators_overrides() -> None:
    pricey = settings(prices_json='{"house-model": [100, 400]}')
    assert estimate_cost("mystery-model", M, 0, settings=pricey) == Cost(100.0, False)


def test_dated_anthropic_id_uses_the_base_model_price() -> None:
    dated = estimate_cost("claude-sonnet-4-5-20250929", M, 0, settings=settings())

    assert dated == Cost(pytest.approx(3.0), True)


@pytest.mark.parametrize(
    ("model", "base"),
    [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("Qwen2.5-Coder:latest", "qwen2.5-coder"),
    ],
)
def test_normalise_model_strips_region_vendor_version_and_date(model: str, base: str) -> None:
    assert normalise_model(model) == base


def test_kiln_prices_overrides_a_default() -> None:
    s = settings(prices_json='{"gpt-4.1-mini": {"input": 1.0, "output": 2.0}}')

    assert estimate_cost("gpt-4.1-mini", M, M, settings=s).usd == pytest.approx(3.0)


def test_kiln_prices_accepts_an_input_output_pair() -> None:
    s = settings(prices_json='{"my-finetune": [0.5, 1.5]}')

    assert estimate_cost("my-finetune", M, M, settings=s) == Cost(pytest.approx(2.0), True)


def test_kiln_prices_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_PRICES", '{"house-model": [10, 20]}')

    cost = estimate_cost("house-model", M, 0, settings=settings())

    assert cost == Cost(pytest.approx(10.0), True)


def test_override_of_a_base_model_applies_to_its_bedrock_id() -> None:
    s = settings(prices_json='{"claude-sonnet-4-5": [6, 30]}')

    cost = estimate_cost("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", M, 0, settings=s)

    assert cost.usd == pytest.approx(6.0)


@pytest.mark.parametrize("bad", ["not json", '{"m": {"input": 1}}', '{"m": "cheap"}'])
def test_malformed_kiln_prices_is_an_error_naming_the_setting(bad: str) -> None:
    with pytest.raises(ValueError, match="KILN_PRICES"):
        estimate_cost("gpt-4.1-mini", 1, 1, settings=settings(prices_json=bad))
