"""The operator's bill: a daily dollar ceiling over all owners, and the models allowed.

Spend is one item per UTC day (`SPEND#<day>/META`, TTL two days) to which every job adds
its measured cost with an atomic `ADD`; a job checks it before it starts and between its
model requests, so the ceiling is overshot by at most the requests already in flight.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kiln.config import Settings
from kiln.errors import RateLimited, Unprocessable
from kiln.llm.pricing import normalise_model, price_table
from kiln.store.db import Store, from_item, now, to_item, to_values

DAY_S = 86400


def _key(t: float) -> dict[str, object]:
    day = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")
    return to_item({"PK": f"SPEND#{day}", "SK": "META"})


def spent_today(store: Store) -> float:
    item = store.ddb.get_item(TableName=store.table, Key=_key(now()), ConsistentRead=True)
    return float(from_item(item["Item"]).get("cost_usd", 0.0)) if "Item" in item else 0.0


def record_spend(store: Store, usd: float) -> float:
    """Add a job's measured cost to today's total; returns the new total."""
    t = now()
    resp = store.ddb.update_item(
        TableName=store.table,
        Key=_key(t),
        UpdateExpression="ADD cost_usd :c SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeValues=to_values({":c": round(usd, 6), ":ttl": int(t) + 2 * DAY_S}),
        ReturnValues="UPDATED_NEW",
    )
    return float(from_item(resp["Attributes"])["cost_usd"])


def check_ceiling(store: Store, pending_usd: float = 0.0) -> None:
    """Raise spend_ceiling_reached once today's spend (plus a running job's) reaches the
    operator's `KILN_DAILY_SPEND_USD`; it lifts at midnight UTC."""
    ceiling = store.settings.daily_spend_usd
    if ceiling is None:
        return
    spent = spent_today(store) + pending_usd
    if spent >= ceiling:
        raise RateLimited(
            f"kiln's daily spending limit of ${ceiling:.2f} is reached; "
            "it resets at midnight UTC (your previous version is unchanged)",
            code="spend_ceiling_reached",
            retry_after=max(1, DAY_S - int(now()) % DAY_S),
        )


def allowed_models(settings: Settings) -> set[str]:
    """`KILN_ALLOWED_MODELS`, else every priced model and each provider's default model."""
    from kiln.llm import anthropic, ollama, openai
    from kiln.llm.bedrock import inference_profile

    if settings.allowed_models.strip():
        names = {m for m in settings.allowed_models.split(",") if m.strip()}
    else:
        names = set(price_table(settings)) | {
            anthropic.DEFAULT_MODEL,
            openai.DEFAULT_MODEL,
            ollama.DEFAULT_MODEL,
            inference_profile(settings.aws_region),
        }
    if settings.llm_model:
        names.add(settings.llm_model)
    return {normalise_model(n) for n in names}


def check_model(model: str | None, settings: Settings) -> None:
    """A request may name a model only from the allow-list (none: the provider's default)."""
    if model is None:
        return
    if normalise_model(model) not in allowed_models(settings):
        raise Unprocessable(
            f"the model {model[:100]!r} is not offered here",
            code="model_not_allowed",
            details={"allowed": sorted(allowed_models(settings))},
        )
