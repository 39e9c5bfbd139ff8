"""Which function serves which path and which CSP the web app gets, read from
infra/template.yaml: `kiln dev` dispatches and answers as the deployed stack does, and
there is no second table to drift.

API Gateway picks the most specific route: exact segments beat `{param}`, which beats
`{proxy+}`; `route_for` does the same. `/pkg/*` is CloudFront's behaviour for the
package service, not an API route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kiln.local.resources import load_template

__all__ = ["ApiRoute", "api_routes", "function_for", "route_for", "web_csp", "websocket_routes"]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    function: str  # the template's logical id, e.g. `GenerateApiFunction`

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = [
            ".+" if seg.endswith("+}") else "[^/]+" if seg.startswith("{") else re.escape(seg)
            for seg in self.path.split("/")
        ]
        return re.compile("/".join(parts) + "$")

    @property
    def rank(self) -> tuple[int, int]:
        return self.path.count("{") + 10 * self.path.count("+}"), -len(self.path)


def _resources(template: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _of_api(template: Mapping[str, Any], kind: str, api: str) -> dict[str, Any]:
    return {
        k: v
        for k, v in _resources(template, kind).items()
        if v["Properties"].get("ApiId") == {"Ref": api}
    }


def websocket_routes(template: Mapping[str, Any]) -> set[str]:
    """The WebSocket API's route keys (`$connect`, `subscribe`, ...): kiln dev's /push
    accepts the same actions (kiln.local.push)."""
    return {
        res["Properties"]["RouteKey"]
        for res in _of_api(template, "AWS::ApiGatewayV2::Route", "WebSocketApi").values()
    }


def api_routes(template: Mapping[str, Any]) -> list[ApiRoute]:
    """Every HttpApi route with the function its integration invokes."""
    function_of = {
        name: res["Properties"]["IntegrationUri"]["Ref"].split(".")[0]
        for name, res in _of_api(template, "AWS::ApiGatewayV2::Integration", "HttpApi").items()
    }
    routes = []
    for res in _of_api(template, "AWS::ApiGatewayV2::Route", "HttpApi").values():
        method, path = res["Properties"]["RouteKey"].split(" ", 1)
        integration = res["Properties"]["Target"]["Fn::Sub"].split("${")[1].rstrip("}")
        routes.append(ApiRoute(method, path, function_of[integration]))
    return routes


def route_for(routes: list[ApiRoute], method: str, path: str) -> str | None:
    """The function API Gateway invokes for `method path`, None when no route matches."""
    candidates = [
        (r.rank, r.function)
        for r in routes
        if r.method in (method, "ANY") and r.pattern.match(path)
    ]
    return min(candidates)[1] if candidates else None


@lru_cache(maxsize=1)
def _template_routes() -> tuple[ApiRoute, ...]:
    return tuple(api_routes(load_template()))


def function_for(path: str, method: str | None = None) -> str | None:
    """The local function app (`generate`, `status`, `deploy`, `packages`) for a path, or
    None for the web app. Without a method any route of the path counts; an `/api` path
    no route names goes to `status`, which answers 404 as the API does."""
    if path.startswith("/pkg/"):
        return "packages"
    if path != "/api" and not path.startswith("/api/"):
        return None
    routes = list(_template_routes())
    found = None
    if method is not None:
        found = route_for(routes, method, path)
    if found is None:
        found = min(
            ((r.rank, r.function) for r in routes if r.pattern.match(path)), default=(None, None)
        )[1]
    return found.removesuffix("ApiFunction").lower() if found else "status"


def web_csp(template: Mapping[str, Any] | None = None, *, connect: str = "") -> str:
    """The web app's Content-Security-Policy as the template composes it from its parameters'
    defaults; kiln dev's push WebSocket is its own origin, so connect-src needs no API there.
    `connect`: more origins the app may reach."""
    params = (template or load_template())["Parameters"]
    sources = " ".join(["'self'", str(params["ConnectSources"]["Default"]), connect])
    return " ".join(f"{params['ContentSecurityPolicy']['Default']}; connect-src {sources}".split())
