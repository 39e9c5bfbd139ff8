"""CORS: one list of allowed origins (KILN_ALLOWED_ORIGINS) for the app and for API Gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import CORS_HEADERS, CORS_MAX_AGE_S, CORS_METHODS, create_app
from kiln.config import Settings
from kiln.local.resources import load_template
from kiln.store.db import Store
from tests.integration.test_template import HTTP_FUNCTIONS, TEMPLATE, function_props

pytestmark = pytest.mark.integration

ALLOWED = "http://localhost:3000"
FOREIGN = "https://evil.example"


@pytest.fixture
def cors_client(settings: Settings) -> Iterator[TestClient]:
    tuned = settings.model_copy(update={"allowed_origins": f"{ALLOWED}, http://127.0.0.1:3000"})
    with TestClient(create_app(routes.ALL, settings=tuned, store=Store(tuned))) as c:
        yield c


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/api/generate",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered_with_its_origin(
    cors_client: TestClient,
) -> None:
    resp = _preflight(cors_client, ALLOWED)
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in resp.headers["access-control-allow-methods"]


def test_a_preflight_from_a_foreign_origin_gets_no_allow_origin(cors_client: TestClient) -> None:
    resp = _preflight(cors_client, FOREIGN)
    assert resp.status_code == 400
    assert "access-control-allow-origin" not in resp.headers


def test_an_allowed_origins_simple_request_carries_its_allow_origin(
    cors_client: TestClient,
) -> None:
    resp = cors_client.post("/api/sessions", headers={"Origin": ALLOWED})
    assert resp.status_code == 201
    assert resp.headers["access-control-allow-origin"] == ALLOWED
    foreign = cors_client.post("/api/sessions", headers={"Origin": FOREIGN})
    assert "access-control-allow-origin" not in foreign.headers


def test_by_default_no_other_origin_is_allowed(settings: Settings, store: Store) -> None:
    with TestClient(create_app(routes.ALL, settings=settings, store=store)) as client:
        resp = _preflight(client, ALLOWED)
    assert "access-control-allow-origin" not in resp.headers


def test_the_templates_api_gateway_cors_is_the_apps_policy_from_the_same_setting() -> None:
    template = load_template(TEMPLATE)
    parameter = template["Parameters"]["AllowedOrigins"]
    assert parameter["Default"] == Settings.model_fields["allowed_origins"].default
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["Fn::If"]
    assert cors[0] == "HasAllowedOrigins" and cors[2] == {"Ref": "AWS::NoValue"}
    policy = cors[1]
    assert policy["AllowOrigins"] == {"Ref": "AllowedOrigins"}
    assert policy["AllowMethods"] == list(CORS_METHODS)
    assert policy["AllowHeaders"] == list(CORS_HEADERS)
    assert policy["MaxAge"] == CORS_MAX_AGE_S
    for function in HTTP_FUNCTIONS:
        env = function_props(template, function)["Environment"]["Variables"]
        assert env["KILN_ALLOWED_ORIGINS"] == {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}
