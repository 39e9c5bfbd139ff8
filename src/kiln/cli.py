"""`kiln dev | generate | deploy | status`: the local stack and a client of the HTTP API."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    token = os.environ.get("KILN_TOKEN")
    if not token:
        try:
            resp = client.post("/api/sessions")
        except httpx.ConnectError:
            sys.exit(f"kiln: no server at {url}; start one with `make dev` (or `kiln dev`)")
        _check(resp)
        token = resp.json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _check(resp: httpx.Response) -> None:
    if resp.is_success:
        return
    try:
        err = resp.json()["error"]
        sys.exit(f"kiln: {err['message']} ({err['code']}, HTTP {resp.status_code})")
    except (ValueError, KeyError, TypeError):
        sys.exit(f"kiln: HTTP {resp.status_code}: {resp.text[:300]}")


class Progress:
    """One line per file as it completes, with a live counter of bytes streamed."""

    def __init__(self, out: Any = sys.stderr) -> None:
        self.out = out
        self.bytes = 0
        self.current: str | None = None
        self.tty = out.isatty()

    def event(self, ev: dict[str, Any]) -> None:
        kind = ev["type"]
        if kind == "file_start":
            self.current = ev["path"]
        elif kind == "file_chunk":
            self.bytes += len(ev["text"])
            if self.tty:
                self.out.write(f"\r  writing {self.current} … {self.bytes:,} bytes\x1b[K")
        elif kind == "file_end":
            self._line(f"  ✓ {ev['path']}")
        elif kind == "edit":
            self._line(f"  ✎ {ev['path']}")
        elif kind == "delete":
            self._line(f"  ✗ {ev['path']}")
        elif kind == "deps":
            self._line(f"  + {' '.join(ev['add'])}")
        elif kind == "status" and ev.get("message"):
            self._line(f"[{ev['phase']}] {ev['message']}")
        elif kind == "usage":
            self._line(f"  tokens: {ev['input_tokens']} in / {ev['output_tokens']} out")

    def _line(self, text: str) -> None:
        self.out.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self.out.flush()


def follow(client: httpx.Client, job_id: str, progress: Progress) -> dict[str, Any]:
    after = 0
    while True:
        resp = client.get(f"/api/jobs/{job_id}", params={"after": after})
        _check(resp)
        job: dict[str, Any] = resp.json()
        for ev in job["events"]:
            progress.event(ev)
        after = job["next"]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.3)


def cmd_generate(args: argparse.Namespace) -> int:
    client = _client(args.url)
    body: dict[str, Any] = {"prompt": args.prompt, "framework": args.framework}
    for key in ("project", "provider", "model"):
        if getattr(args, key):
            body["project_id" if key == "project" else key] = getattr(args, key)
    resp = client.post("/api/generations", json=body)
    _check(resp)
    accepted = resp.json()
    print(
        f"job {accepted['job_id']} · project {accepted['project_id']} · {accepted['provider']}",
        file=sys.stderr,
    )
    if accepted.get("notice"):
        print(f"note: {accepted['notice']}", file=sys.stderr)
    started = time.monotonic()
    job = follow(client, accepted["job_id"], Progress())
    if job["status"] != "succeeded":
        err = job.get("error") or {}
        print(
            f"kiln: generation {job['status']}: {err.get('message', '')} "
            f"({err.get('code', job['status'])})",
            file=sys.stderr,
        )
        return 1
    pid, version = job["project_id"], job["version"]
    print(f"version {version} of {pid} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    if args.out:
        resp = client.get(f"/api/projects/{pid}/versions/{version}/archive.zip")
        _check(resp)
        out = Path(args.out)
        with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
            for name in zf.namelist():
                target = out / name.split("/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
        print(f"wrote {out}/ — run: cd {out} && npm install && npm run dev", file=sys.stderr)
    print(json.dumps({"project_id": pid, "version": version, "job_id": job["job_id"]}))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    """Start a deployment, show each step as it happens, print the live URL."""
    client = _client(args.url)
    body: dict[str, Any] = {"project_id": args.project, "target": args.target}
    if args.version:
        body["version"] = args.version
    if args.token_env:
        token = os.environ.get(args.token_env, "").strip()
        if not token:
            sys.exit(f"kiln: ${args.token_env} is empty")
        body["token"] = token
    if args.option:
        body["options"] = dict(opt.split("=", 1) for opt in args.option)
    resp = client.post("/api/deployments", json=body)
    _check(resp)
    accepted = resp.json()
    print(
        f"deployment {accepted['deployment_id']} · version {accepted['version']} · {args.target}",
        file=sys.stderr,
    )
    job = follow(client, accepted["job_id"], Progress())
    resp = client.get(f"/api/deployments/{accepted['deployment_id']}")
    _check(resp)
    dep = resp.json()
    if job["status"] != "succeeded":
        err = job.get("error") or {}
        print(
            f"kiln: deploy {job['status']}: {err.get('message', '')} "
            f"({err.get('code', job['status'])})",
            file=sys.stderr,
        )
        return 1
    print(dep["url"])
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    client = _client(args.url)
    resp = client.get(f"/api/jobs/{args.job}") if args.job else client.get("/api/health")
    _check(resp)
    print(json.dumps(resp.json(), indent=2))
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from kiln.local.server import run_dev

    run_dev(args.host, args.port, Path(args.data_dir), Path(args.web_dist), aws=args.aws)
    return 0


def eval_table(summary: dict[str, Any]) -> str:
    """Per prompt and in total: builds, renders, checks passed, before -> after the fix round."""

    def cells(stage: dict[str, Any]) -> tuple[str, str, str]:
        checks = f"{stage['checks_passed']}/{stage['checks_total']}"
        return str(stage["builds"]), str(stage["renders"]), checks

    rows = [("prompt", "builds", "renders", "checks passed")]
    stages = [*summary["by_prompt"].items(), ("total", summary)]
    for name, data in stages:
        before, after = cells(data["before"]), cells(data["after"])
        rows.append((name, *(f"{b} -> {a}" for b, a in zip(before, after, strict=True))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def cmd_eval(args: argparse.Namespace) -> int:
    """Against `--url`, or in-process: an emulator, the three apps and their queue pumps."""
    from kiln.eval import load_prompts, run_eval, write_report

    prompts = load_prompts(Path(args.prompts))

    def report(run: Any) -> None:
        print(
            f"  {run.id} #{run.attempt}: {run.status} {run.first_build}->{run.final_build} "
            f"fix={run.fix_rounds} {run.seconds}s",
            file=sys.stderr,
        )

    kw: dict[str, Any] = {"k": args.k, "provider": args.provider, "model": args.model}
    if args.url:
        runs = run_eval(_client(args.url), prompts, progress=report, **kw)
    else:
        import tempfile

        from fastapi.testclient import TestClient

        from kiln.local.server import asgi_app, start_stack

        with tempfile.TemporaryDirectory(prefix="kiln-eval-") as tmp:
            stack = start_stack(Path(tmp), tick_s=5.0, concurrency=2)
            try:
                with TestClient(asgi_app(stack, Path(tmp) / "no-web")) as client:
                    runs = run_eval(client, prompts, progress=report, **kw)
            finally:
                stack.stop()
    meta = {"prompts": args.prompts, "k": args.k, "provider": args.provider, "model": args.model}
    json_path, html_path = write_report(runs, Path(args.out), meta=meta)
    summary = json.loads(json_path.read_text())["summary"]
    print(json.dumps(summary, indent=2))
    print(eval_table(summary), file=sys.stderr)
    print(f"wrote {json_path} and {html_path}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiln", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run kiln locally on an embedded AWS emulator")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--data-dir", default=".kiln")
    dev.add_argument("--web-dist", default="web/dist")
    dev.add_argument(
        "--aws", action="store_true", help="use real AWS (the KILN_* settings name the resources)"
    )
    dev.set_defaults(func=cmd_dev)

    gen = sub.add_parser("generate", help="generate an app (or edit one with --project)")
    gen.add_argument("prompt")
    gen.add_argument("--framework", default="react", choices=["react", "vue", "vanilla", "python"])
    gen.add_argument("--project", help="edit this project instead of creating one")
    gen.add_argument("--provider")
    gen.add_argument("--model")
    gen.add_argument("--out", help="write the resulting project into this folder")
    gen.add_argument("--url", default=os.environ.get("KILN_URL", DEFAULT_URL))
    gen.set_defaults(func=cmd_generate)

    dep = sub.add_parser("deploy", help="deploy a project's version and print its URL")
    dep.add_argument("project", help="project id")
    dep.add_argument("--target", required=True, choices=["vercel", "netlify", "github", "s3"])
    dep.add_argument("--version", type=int, help="default: the latest version")
    dep.add_argument("--token-env", help="read the provider token from this environment variable")
    dep.add_argument(
        "--option", action="append", metavar="KEY=VALUE", help="e.g. site_id=..., org=..."
    )
    dep.add_argument("--url", default=os.environ.get("KILN_URL", DEFAULT_URL))
    dep.set_defaults(func=cmd_deploy)

    status = sub.add_parser("status", help="server health, or a job's state")
    status.add_argument("job", nargs="?")
    status.add_argument("--url", default=os.environ.get("KILN_URL", DEFAULT_URL))
    status.set_defaults(func=cmd_status)

    ev = sub.add_parser("eval", help="run a prompt set through generation and the build gate")
    ev.add_argument("--prompts", default="tests/fixtures/eval/prompts.json")
    ev.add_argument("--k", type=int, default=1, help="attempts per prompt")
    ev.add_argument("--provider")
    ev.add_argument("--model")
    ev.add_argument("--out", default="eval-report")
    ev.add_argument("--url", help="a running kiln (default: an in-process stack)")
    ev.set_defaults(func=cmd_eval)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
