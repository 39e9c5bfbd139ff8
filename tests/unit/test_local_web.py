"""How `kiln dev` serves web/dist: real files, client routes, 404 for missing assets."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from starlette.websockets import WebSocket

from kiln.local.routes import function_for
from kiln.local.server import SecurityHeaders, web_app


async def _no_ws(ws: WebSocket) -> None:
    await ws.close()


def _client(dist: Path) -> TestClient:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>kiln</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    (dist / "vendor").mkdir()
    (dist / "vendor" / "react.js").write_text("export {}")
    return TestClient(SecurityHeaders(web_app(dist, _no_ws)))


def test_assets_are_served_with_their_type(tmp_path: Path) -> None:
    resp = _client(tmp_path).get("/assets/app.js")
    assert resp.status_code == 200 and "javascript" in resp.headers["content-type"]


def test_a_missing_asset_is_a_404_not_the_index(tmp_path: Path) -> None:
    resp = _client(tmp_path).get("/assets/gone-1234.js")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_client_routes_get_the_index(tmp_path: Path) -> None:
    resp = _client(tmp_path).get("/p/some-project")
    assert resp.status_code == 200 and "kiln" in resp.text


def test_paths_cannot_escape_the_dist_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    dist = tmp_path / "dist"
    resp = _client(dist).get("/..%2Fsecret.txt")
    assert resp.status_code == 404


def test_pages_are_cross_origin_isolated_and_vendor_files_are_shared(tmp_path: Path) -> None:
    client = _client(tmp_path)
    page = client.get("/")
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    assert "access-control-allow-origin" not in page.headers
    assert client.get("/vendor/react.js").headers["access-control-allow-origin"] == "*"


def test_api_paths_go_to_the_function_the_template_routes_them_to() -> None:
    assert function_for("/api/generations") == "generate"
    assert function_for("/api/sessions") == "generate"
    assert function_for("/api/deployments/d_1") == "deploy"
    assert function_for("/api/projects/p_1/schedules") == "deploy"
    assert function_for("/api/projects/p_1/versions/2") == "status"
    assert function_for("/api/jobs/j_1") == "status"
    assert function_for("/index.html") is None


def test_the_app_gets_a_strict_csp_and_the_preview_runner_its_own(tmp_path: Path) -> None:
    client = _client(tmp_path)
    app_csp = client.get("/").headers["content-security-policy"]
    assert "'unsafe-inline'" not in app_csp.split("script-src", 1)[1].split(";")[0]
    frame_csp = client.get("/vendor/react.js").headers["content-security-policy"]
    assert "'unsafe-eval'" in frame_csp


def test_the_apps_csp_lets_the_worker_reach_the_configured_pyodide_packages() -> None:
    from kiln.config import Settings
    from kiln.local.routes import web_csp
    from kiln.local.server import PYODIDE_CDN, app_csp

    template_csp = web_csp()
    assert PYODIDE_CDN in template_csp and app_csp(Settings()) == template_csp
    mirror = app_csp(Settings(pyodide_packages_url="https://pypi.example.org/pyodide/v1/"))
    connect = next(d for d in mirror.split(";") if d.strip().startswith("connect-src"))
    assert "https://pypi.example.org" in connect.split()
    assert app_csp(Settings(pyodide_packages_url="javascript:alert(1)")) == template_csp
