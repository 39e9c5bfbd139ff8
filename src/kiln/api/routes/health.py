from __future__ import annotations

from fastapi import APIRouter

from kiln import __version__
from kiln.api.deps import Store
from kiln.config import has_provider_key
from kiln.llm.providers import PROVIDER_NAMES, get_provider, resolve_provider_name
from kiln.models import HealthPublic

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health(store: Store) -> HealthPublic:
    """Liveness plus whether the table answers."""
    try:
        store.ddb.describe_table(TableName=store.table)
        ok = True
    except Exception:
        ok = False
    return HealthPublic(
        status="ok" if ok else "degraded",
        version=__version__,
        store=ok,
        provider=resolve_provider_name(store.settings),
        pyodide_packages_url=store.settings.pyodide_packages_url or None,
        push_url=store.settings.push_url or None,
    )


@router.get("/providers")
def providers(store: Store) -> list[dict[str, object]]:
    """The model providers this server can use, for the model picker."""
    settings = store.settings
    default = resolve_provider_name(settings)
    configured = {
        "anthropic": has_provider_key(settings, "anthropic"),
        "openai": has_provider_key(settings, "openai"),
        "bedrock": settings.bedrock_enabled,
        "ollama": default == "ollama",
        "starter": True,
    }
    out: list[dict[str, object]] = []
    for name in PROVIDER_NAMES:
        provider = get_provider(name, settings)
        out.append(
            {
                "name": name,
                "is_model": provider.is_model,
                "configured": configured.get(name, False),
                "default": name == default,
                "default_model": provider.default_model(),
            }
        )
    return out
