"""The build gate's pure parts: parsing real tool output, passthrough, the env allow-list."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiln.gate.build import BuildError, NodeTools, build_env, build_project, parse_errors

ROOT = Path("/tmp/kiln-build-x/project")

ROLLDOWN = """\
vite v8.3.8 building client environment for production...
✗ Build failed in 31ms
error during build:
Build failed with 1 error:

\x1b[31m[UNRESOLVED_IMPORT] \x1b[0mCould not resolve './nope' in src/main.ts
   \x1b[38;5;246m╭\x1b[0m\x1b[38;5;246m─\x1b[0m\x1b[38;5;246m[\x1b[0m src/main.ts:1:19 \x1b[0m]
   │
 1 │ import { x } from "./nope";
    at aggregateBindingErrorsIntoJsError (file:///tmp/x/node_modules/rolldown/dist/error.mjs:50:18)
"""

ESBUILD = """\
error during build:
[vite:esbuild] Transform failed with 1 error:
/tmp/kiln-build-x/project/src/App.tsx:3:10: ERROR: Unexpected ";"
file: /tmp/kiln-build-x/project/src/App.tsx:3:10

Unexpected ";"
"""

ROLLUP_RESOLVE = """\
error during build:
Could not resolve "./nope" from "src/main.ts"
file: /tmp/kiln-build-x/project/src/main.ts
    at getRollupError (file:///tmp/x/node_modules/rollup/dist/es/shared/parseAst.js:355:41)
"""

TSC = """\
src/main.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.
src/App.tsx(12,5): error TS2304: Cannot find name 'foo'.
"""


def test_tsc_errors_keep_file_line_column_and_code() -> None:
    assert parse_errors(TSC, root=ROOT) == [
        BuildError(
            "src/main.ts", 1, 7, "TS2322: Type 'string' is not assignable to type 'number'."
        ),
        BuildError("src/App.tsx", 12, 5, "TS2304: Cannot find name 'foo'."),
    ]


def test_rolldown_errors_are_read_through_colour_codes() -> None:
    assert parse_errors(ROLLDOWN, root=ROOT) == [
        BuildError(
            "src/main.ts", 1, 19, "[UNRESOLVED_IMPORT] Could not resolve './nope' in src/main.ts"
        )
    ]


def test_esbuild_errors_get_paths_relative_to_the_project_once() -> None:
    assert parse_errors(ESBUILD, root=ROOT) == [BuildError("src/App.tsx", 3, 10, 'Unexpected ";"')]


def test_an_unresolved_import_without_a_line_is_located_in_the_source(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/main.ts").write_text('console.log(1);\nimport { x } from "./nope";\n')
    output = ROLLUP_RESOLVE.replace("/tmp/kiln-build-x/project", str(tmp_path))
    [error] = parse_errors(output, root=tmp_path)
    assert (error.file, error.line, error.column) == ("src/main.ts", 2, 19)


def test_output_without_errors_parses_to_nothing() -> None:
    assert parse_errors("vite v8 building...\n✓ built in 45ms\n", root=ROOT) == []


def test_a_python_project_ships_its_files_as_they_are() -> None:
    result = build_project({"main.py": "print(1)"}, framework="python")
    assert (result.ok, result.dist) == (True, {"main.py": b"print(1)"})


def test_a_project_without_package_json_ships_its_files_as_they_are() -> None:
    result = build_project({"index.html": "<h1>hi</h1>"}, framework="vanilla")
    assert (result.ok, result.dist) == (True, {"index.html": b"<h1>hi</h1>"})


def test_the_build_environment_is_an_allow_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("KILN_VERCEL_TOKEN", "x")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    tools = NodeTools(node="/opt/node/bin/node", npm=["npm"], bin_dir="/opt/node/bin")
    env = build_env(tools, home=tmp_path, cache=tmp_path / "cache")
    assert "AWS_SECRET_ACCESS_KEY" not in env and "KILN_VERCEL_TOKEN" not in env
    assert env["HTTPS_PROXY"] == "http://proxy.test:3128"
    assert env["PATH"].startswith("/opt/node/bin")
    assert (env["HOME"], env["npm_config_ignore_scripts"]) == (str(tmp_path), "true")
