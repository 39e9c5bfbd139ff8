"""Routers, one module per noun, in the groups each function serves. A group imports only
its own modules, so a function's cold start pays for the routes it serves; `ALL` feeds the
combined OpenAPI document."""

from importlib import import_module
from typing import Any

from fastapi import APIRouter

_GROUPS: dict[str, list[tuple[str, str]]] = {
    "GENERATE": [("sessions", "router"), ("generations", "router")],
    "STATUS": [
        ("jobs", "router"),
        ("projects", "router"),
        ("checks", "router"),
        ("previews", "router"),
        ("health", "router"),
        ("packages", "router"),
    ],
    "DEPLOY": [("deployments", "router"), ("schedules", "router")],
    "PACKAGES": [("packages", "modules")],
}


def _group(name: str) -> list[APIRouter]:
    return [getattr(import_module(f"{__name__}.{m}"), attr) for m, attr in _GROUPS[name]]


def __getattr__(name: str) -> Any:
    if name == "ALL":
        return [router for group in _GROUPS for router in _group(group)]
    if name in _GROUPS:
        return _group(name)
    raise AttributeError(name)
