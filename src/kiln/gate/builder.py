"""Where a project's code is built and rendered: never where kiln's credentials are.

On AWS the builder function does it (`BuilderFunction` in the template: a role that may
write its logs and nothing else). The worker that holds the credentials only
orchestrates: it puts the project's files in S3, invokes the builder with a presigned
GET for them and a presigned PUT for the result, and reads the result back. On one
machine (`kiln dev`, tests) the build runs here, in the sandbox (`kiln.sandbox`).

The build gate, deploys and preview links all build through `build_version`.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import functools
import json
import os
import signal
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

from kiln import telemetry
from kiln.checks.format import CHECKS_PATH, Check, CheckSource, read_checks
from kiln.checks.run import CheckOutcome
from kiln.config import Settings, find_chromium
from kiln.errors import KilnError
from kiln.gate.build import BuildError, BuildResult, build_project, gate_install_key
from kiln.gate.installs import InstallCache, Remote
from kiln.sandbox import find_sandbox
from kiln.store.db import Store

__all__ = ["Built", "RenderOutcome", "build_version", "serve_build"]

STAGING = "builds-tmp/"
"""S3 prefix of the builder's inputs and outputs; a lifecycle rule expires it."""
URL_TTL_S = 1800
INSTALLS = "installs/"
"""S3 prefix of shared installs (kiln.gate.installs): written once, expired by a lifecycle rule."""
_PR_SET_CHILD_SUBREAPER = 36


@dataclass
class RenderOutcome:
    renders: bool
    page_errors: list[str]
    checks: list[CheckOutcome] = field(default_factory=list)


@dataclass
class Built:
    result: BuildResult
    render: RenderOutcome | None = None
    render_skipped: str | None = None


class BuilderFailed(KilnError):
    code = "builder_failed"
    status = 502


@telemetry.traced
def build_version(
    store: Store,
    files: dict[str, str],
    *,
    framework: str,
    base: str,
    render: bool = False,
    stop: threading.Event | None = None,
) -> Built:
    """Build (and, when asked and a browser exists, render) one project version. `stop`
    ends a build running here; the builder function's invocation runs to its end."""
    settings = store.settings
    if settings.builder_function:
        return _invoke(store, files, framework=framework, base=base, render=render)
    return build_here(settings, files, framework=framework, base=base, render=render, stop=stop)


def build_here(
    settings: Settings,
    files: dict[str, str],
    *,
    framework: str,
    base: str,
    render: bool,
    stop: threading.Event | None = None,
    installs: InstallCache | None = None,
) -> Built:
    sandbox = find_sandbox(settings.build_sandbox)
    result = build_project(
        files,
        framework=framework,
        base=base,
        timeout_s=settings.build_timeout_s,
        npm_cache=settings.npm_cache_dir,
        sandbox=sandbox,
        stop=stop,
        installs=installs or local_installs(settings),
    )
    built = Built(result)
    web = framework != "python" and "index.html" in result.dist
    chromium = settings.chromium_path or find_chromium()
    stopped = stop is not None and stop.is_set()
    if stopped or not (render and result.ok and web and settings.render_check and chromium):
        return built
    from kiln.gate.render import render_check

    sources = read_checks(files.get(CHECKS_PATH))
    try:
        seen = render_check(
            result.dist,
            chromium=chromium,
            sandbox=sandbox,
            wait_s=settings.render_wait_s,
            checks=[Check(name=c.name, steps=c.steps) for c in sources if c.steps is not None],
            step_s=settings.check_step_timeout_s,
            checks_s=settings.checks_timeout_s,
        )
    except ImportError:
        built.render_skipped = "render check skipped: playwright is not installed"
        return built
    built.render = RenderOutcome(seen.renders, seen.page_errors, _outcomes(sources, seen.checks))
    return built


def _outcomes(sources: list[CheckSource], ran: list[CheckOutcome]) -> list[CheckOutcome]:
    """A result for every check in the file, in its order: a check that does not parse
    fails with its error, one the browser never reached (the page did not load) fails too."""
    results = iter(ran)
    out = []
    for source in sources:
        if source.steps is None:
            out.append(
                CheckOutcome(
                    source.name,
                    False,
                    0,
                    expected="a check that parses",
                    observed=source.error or "invalid",
                )
            )
            continue
        done = next(results, None)
        out.append(
            done
            or CheckOutcome(
                source.name,
                False,
                len(source.steps),
                expected="the app to load",
                observed="not run: the page did not load",
            )
        )
    return out


def local_installs(settings: Settings) -> InstallCache:
    """Reused installs under `.kiln/installs` (kept across `kiln dev` restarts)."""
    root = settings.install_cache_dir or settings.data_dir / "installs"
    return InstallCache(root.resolve(), max_bytes=settings.install_cache_max_bytes)


# --- AWS: the orchestrating side -----------------------------------------------------


def _invoke(
    store: Store, files: dict[str, str], *, framework: str, base: str, render: bool
) -> Built:
    settings = store.settings
    key = f"{STAGING}{uuid.uuid4().hex}"
    store.s3.put_object(
        Bucket=store.bucket, Key=f"{key}/input.json", Body=json.dumps({"files": files}).encode()
    )
    urls = {
        "input_url": store.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": store.bucket, "Key": f"{key}/input.json"},
            ExpiresIn=URL_TTL_S,
        ),
        "output_url": store.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": store.bucket, "Key": f"{key}/output.json"},
            ExpiresIn=URL_TTL_S,
        ),
    }
    request = {**urls, "framework": framework, "base": base, "render": render}
    install = _install_urls(store, files)
    if install is not None:
        request["install"] = install
    try:
        answer = _lambda(settings).invoke(
            FunctionName=settings.builder_function, Payload=json.dumps(request).encode()
        )
        if answer.get("FunctionError"):
            raise BuilderFailed("the builder function failed", details={"kind": "function"})
        body = store.s3.get_object(Bucket=store.bucket, Key=f"{key}/output.json")["Body"].read()
    finally:
        store.s3.delete_objects(
            Bucket=store.bucket,
            Delete={"Objects": [{"Key": f"{key}/input.json"}, {"Key": f"{key}/output.json"}]},
        )
    return _unpack(json.loads(body))


def _install_urls(store: Store, files: dict[str, str]) -> dict[str, str] | None:
    """The shared install for `files`' dependency set: a GET and its MD5 (the ETag, read
    here where S3 is trusted) when stored, else a write-once PUT for the builder to fill
    right after its install, before the project's own code runs."""
    if "package.json" not in files:
        return None
    name = f"{INSTALLS}{gate_install_key(files, node_version='builder')}.tar"
    try:
        head = store.s3.head_object(Bucket=store.bucket, Key=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            return None
        put_url = store.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": store.bucket, "Key": name, "IfNoneMatch": "*"},
            ExpiresIn=URL_TTL_S,
        )
        return {"put_url": put_url}
    etag = str(head.get("ETag", "")).strip('"')
    if "-" in etag:  # a multipart ETag is no MD5 of the object
        return None
    get_url = store.s3.generate_presigned_url(
        "get_object", Params={"Bucket": store.bucket, "Key": name}, ExpiresIn=URL_TTL_S
    )
    return {"get_url": get_url, "md5": etag}


def _lambda(settings: Settings) -> Any:
    return _lambda_client(
        settings.aws_region,
        settings.lambda_endpoint_url or settings.aws_endpoint_url,
        int(settings.build_timeout_s) + 120,
    )


@functools.cache
def _lambda_client(region: str, endpoint_url: str | None, read_timeout: int) -> Any:
    """One client per process (a fresh boto3 session costs ~0.1 s of CPU) that waits as
    long as a build may take and never retries one."""
    return boto3.session.Session().client(
        "lambda",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            read_timeout=read_timeout,
            connect_timeout=5,
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    )


def _pack(built: Built) -> dict[str, Any]:
    result = built.result
    return {
        "ok": result.ok,
        "dist": {path: base64.b64encode(data).decode() for path, data in result.dist.items()},
        "errors": [asdict(e) for e in result.errors],
        "log": result.log,
        "seconds": result.seconds,
        "render": _pack_render(built.render) if built.render else None,
        "render_skipped": built.render_skipped,
    }


def _pack_render(render: RenderOutcome) -> dict[str, Any]:
    out = asdict(render)
    for check in out["checks"]:
        shot = check["screenshot"]
        check["screenshot"] = base64.b64encode(shot).decode() if shot else None
    return out


def _unpack_check(raw: dict[str, Any]) -> CheckOutcome:
    shot = raw.get("screenshot")
    text = {
        k: (None if raw.get(k) is None else str(raw[k])[:1000])
        for k in ("step", "source", "expected", "observed")
    }
    return CheckOutcome(
        name=str(raw["name"])[:200],
        passed=bool(raw["passed"]),
        steps=int(raw["steps"]),
        failed_step=None if raw.get("failed_step") is None else int(raw["failed_step"]),
        blocked=[str(u)[:200] for u in list(raw.get("blocked") or [])[:10]],
        screenshot=base64.b64decode(shot)[:2_000_000] if shot else None,
        seconds=float(raw.get("seconds") or 0),
        **text,
    )


def _unpack(data: dict[str, Any]) -> Built:
    """The builder's answer is as untrusted as the code it built: shape-checked here."""
    try:
        result = BuildResult(
            ok=bool(data["ok"]),
            dist={str(p): base64.b64decode(b) for p, b in dict(data["dist"]).items()},
            errors=[BuildError(**dict(e)) for e in list(data["errors"])[:50]],
            log=str(data["log"])[-200_000:],
            seconds=float(data["seconds"]),
        )
        seen = data.get("render")
        render = (
            None
            if seen is None
            else RenderOutcome(
                bool(seen["renders"]),
                [str(m) for m in seen["page_errors"]],
                [_unpack_check(dict(c)) for c in list(seen.get("checks") or [])[:20]],
            )
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BuilderFailed("the builder answered something that is not a build") from exc
    skipped = data.get("render_skipped")
    return Built(result, render, str(skipped) if skipped else None)


# --- AWS: the builder function's side -------------------------------------------------


def serve_build(event: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The builder function: fetch the files, build, put the result, leave nothing running.

    Holds no credential worth taking. Processes a build leaves behind are killed before
    the invocation returns, so none can wait on the Lambda runtime API for the next
    invocation (another owner's build)."""
    adopt_orphans()
    try:
        with httpx.Client(timeout=60) as http:
            files = http.get(str(event["input_url"])).raise_for_status().json()["files"]
            built = build_here(
                settings,
                {str(k): str(v) for k, v in files.items()},
                framework=str(event["framework"]),
                base=str(event.get("base") or "/"),
                render=bool(event.get("render")),
                installs=builder_installs(settings, event.get("install"), http),
            )
            body = json.dumps(_pack(built)).encode()
            http.put(str(event["output_url"]), content=body).raise_for_status()
    finally:
        kill_descendants()
    return {"ok": built.result.ok}


def builder_installs(settings: Settings, install: Any, http: httpx.Client) -> InstallCache:
    """`/tmp` as the first level, anchored to the S3 entry the worker named: an earlier
    invocation's build could have written `/tmp`, so a local entry is used only when its
    MD5 is the stored object's, and without a named entry none is."""
    urls = {k: str(v) for k, v in install.items()} if isinstance(install, dict) else {}
    remote = Remote(get_url=urls.get("get_url"), md5=urls.get("md5"), put_url=urls.get("put_url"))

    def fetch(url: str) -> bytes | None:
        with contextlib.suppress(httpx.HTTPError):
            answer = http.get(url)
            if answer.status_code == 200:
                return answer.content
        return None

    def upload(url: str, data: bytes) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return http.put(url, content=data, headers={"If-None-Match": "*"}).status_code == 200
        return False

    root = settings.install_cache_dir or Path(tempfile.gettempdir()) / "kiln-installs"
    return InstallCache(
        root, max_bytes=settings.install_cache_max_bytes, remote=remote, fetch=fetch, upload=upload
    )


def adopt_orphans() -> None:
    """Make this process the child subreaper: a build's detached processes stay ours."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_descendants() -> None:
    """SIGKILL every process below this one (with `adopt_orphans`, detached ones too)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
    me = os.getpid()
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != me:
            ancestor = parents.get(ancestor)
        if ancestor == me:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
