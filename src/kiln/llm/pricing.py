"""What a generation cost: list prices per million tokens, overridable with KILN_PRICES.

`estimate_cost` returns a `Cost(usd, known)`: an unknown model is priced as the most
expensive known one, with `known=False`, so budgets and the daily ceiling still trip
(a model missing from the table never runs for free) and the UI can say "estimated". Prices are list
prices from memory (late 2025), not a bill; operators with other rates set, e.g.,
`KILN_PRICES='{"gpt-4.1-mini": {"input": 0.4, "output": 1.6}}'` (or `[0.4, 1.6]`).
Bedrock ids (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) and dated Anthropic ids
fall back to the base model's price; regional Bedrock profiles may cost ~10 % more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, TypeAdapter, ValidationError

from kiln.config import Settings, get_settings

__all__ = ["DEFAULT_PRICES", "Cost", "Price", "estimate_cost", "normalise_model", "price_table"]


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float


@dataclass(frozen=True)
class Cost:
    usd: float
    known: bool


DEFAULT_PRICES: dict[str, Price] = {
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1": Price(2.0, 8.0),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.0),
    "gpt-5": Price(1.25, 10.0),
    "gpt-5-mini": Price(0.25, 2.0),
    # local models run on the user's machine
    "qwen2.5-coder:7b": Price(0.0, 0.0),
}

_REGION = re.compile(r"^(us|eu|apac|jp|au|ca|global|us-gov)\.")
_VERSION = re.compile(r"-v\d+(:\d+)?$")
_DATE = re.compile(r"-\d{8}$")


class _PriceIn(BaseModel):
    input: float
    output: float


_OVERRIDES = TypeAdapter(dict[str, _PriceIn | tuple[float, float]])


def normalise_model(model: str) -> str:
    """The base model name: no Bedrock region/vendor prefix, version or date suffix."""
    name = model.strip().lower()
    name = _REGION.sub("", name)
    name = name.removeprefix("anthropic.")
    name = _VERSION.sub("", name)
    name = _DATE.sub("", name)
    return name.removesuffix(":latest")


def price_table(settings: Settings | None = None) -> dict[str, Price]:
    """Default prices updated with KILN_PRICES; raises ValueError if that is malformed."""
    settings = settings or get_settings()
    table = dict(DEFAULT_PRICES)
    if settings.prices_json:
        try:
            overrides = _OVERRIDES.validate_json(settings.prices_json)
        except ValidationError as exc:
            raise ValueError(
                'KILN_PRICES must be JSON like {"model": {"input": 3.0, "output": 15.0}} '
                f"(USD per million tokens): {exc.error_count()} error(s)"
            ) from exc
        for model, price in overrides.items():
            pair = (price.input, price.output) if isinstance(price, _PriceIn) else price
            table[model.strip().lower()] = Price(*pair)
    return table


def estimate_cost(
    model: str, input_tokens: int, output_tokens: int, *, settings: Settings | None = None
) -> Cost:
    """The list-price cost of one call; a model without a price costs what the most
    expensive known one would (`known=False`)."""
    table = price_table(settings)
    price = table.get(model.strip().lower()) or table.get(normalise_model(model))
    known = price is not None
    if price is None:
        price = max(table.values(), key=lambda p: (p.output, p.input))
    usd = (input_tokens * price.input + output_tokens * price.output) / 1_000_000
    return Cost(usd=usd, known=known)
