"""Fake Vercel, Netlify and GitHub APIs: real HTTP servers on 127.0.0.1 speaking the wire format.

Each fake keeps the provider's state (uploaded files by SHA, deployments, sites,
git objects and refs, Pages builds), walks deploy states forward one step per
poll, records every request it received (with its path as sent, `raw_path`, and
decoded, `path`), answers the token's owner (`/user`, `/v2/user`), and can be told
to answer the next matching request with an error (`fail`) or to do the work and then drop the
connection without answering (`drop`). Fixtures: `vercel_fake`, `netlify_fake`,
`github_fake` (each a fresh server per test).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from kiln.deploy.journal import Journal

TOKEN = "tok_fake_0123456789_SECRET"
STOP_POLL_S = 0.05
"""How often a fake's serve loop looks for `shutdown()`: the default 0.5 s was paid by every
test's teardown, once per fake."""

JSON = dict[str, Any]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    if body is None:
        return Reply(status, b"", dict(headers or {}))
    if isinstance(body, bytes):
        return Reply(status, body, {"Content-Type": "text/plain", **(headers or {})})
    data = json.dumps(body).encode()
    return Reply(status, data, {"Content-Type": "application/json", **(headers or {})})


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    times: int
    reply: Reply | None  # None: do the work, then drop the connection


class _Drop(Exception):
    pass


Route = tuple[str, re.Pattern[str], Callable[..., Reply]]


class FakeProvider:
    """The plumbing every fake shares: routing, auth, recording, injections."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.token = TOKEN
        self._injections: list[_Injection] = []
        self._routes: list[Route] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": STOP_POLL_S}, daemon=True
        )

    def route(self, method: str, pattern: str, fn: Callable[..., Reply]) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), fn))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- test controls ----------------------------------------------------------------

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with this error instead of serving them."""
        injection = _Injection(method, re.compile(pattern), times, reply(status, body, headers))
        with self.lock:
            self._injections.append(injection)

    def drop(self, method: str, pattern: str, times: int = 1) -> None:
        """Serve the next matching request, then close the connection without an answer."""
        with self.lock:
            self._injections.append(_Injection(method, re.compile(pattern), times, None))

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        rx = re.compile(f"^{pattern}$")
        return [r for r in self.requests if r.method == method and rx.match(r.path)]

    # --- provider specifics (overridden) ----------------------------------------------

    def unauthorized(self) -> Reply:
        return reply(401, {"message": "Bad credentials"})

    def not_found(self) -> Reply:
        return reply(404, {"message": "Not Found"})

    def common_headers(self) -> dict[str, str]:
        return {}

    def check_request(self, rec: Recorded) -> Reply | None:
        return None

    # --- dispatch ---------------------------------------------------------------------

    def handle(self, rec: Recorded) -> Reply:
        with self.lock:
            self.requests.append(rec)
            injection = self._take_injection(rec)
            if injection is not None and injection.reply is not None:
                return injection.reply
            if rec.headers.get("authorization") != f"Bearer {self.token}":
                return self.unauthorized()
            problem = self.check_request(rec)
            if problem is not None:
                return problem
            result = self._dispatch(rec)
            if injection is not None:
                raise _Drop
            return result

    def _take_injection(self, rec: Recorded) -> _Injection | None:
        for inj in self._injections:
            if inj.times > 0 and inj.method == rec.method and inj.pattern.search(rec.path):
                inj.times -= 1
                return inj
        return None

    def _dispatch(self, rec: Recorded) -> Reply:
        for method, pattern, fn in self._routes:
            if method == rec.method and (m := pattern.match(rec.path)):
                return fn(rec, *m.groups())
        return self.not_found()


def _handler_for(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            rec = Recorded(self.command, unquote(split.path), query, headers, body, split.path)
            try:
                result = fake.handle(rec)
            except _Drop:
                self.close_connection = True
                return
            self.send_response(result.status)
            for key, value in {**fake.common_headers(), **result.headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(result.body)))
            self.end_headers()
            self.wfile.write(result.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# === Vercel ===============================================================================


class FakeVercel(FakeProvider):
    """`/v2/files`, `/v13/deployments` with the missing_files handshake, readyState polling."""

    PROGRESSION = ("QUEUED", "INITIALIZING", "BUILDING", "READY")

    def __init__(self) -> None:
        super().__init__()
        self.blobs: dict[str, dict[str, bytes]] = {}  # scope -> sha -> bytes
        self.deployments: dict[str, JSON] = {}
        self.end_state = "READY"  # or "ERROR" / "CANCELED"
        self._ids = itertools.count(1)
        self.route("POST", r"/v2/files", self.upload)
        self.route("POST", r"/v13/deployments", self.create)
        self.route("GET", r"/v13/deployments/([^/]+)", self.get)
        self.route("GET", r"/v6/deployments", self.list)
        self.route("GET", r"/v2/user", self.user)

    def unauthorized(self) -> Reply:
        return reply(403, {"error": {"code": "forbidden", "message": "Not authorized"}})

    def not_found(self) -> Reply:
        return reply(404, {"error": {"code": "not_found", "message": "Not found"}})

    def user(self, rec: Recorded) -> Reply:
        return reply(200, {"user": {"id": "usr_fake", "username": "fake", "email": "f@x.test"}})

    def _scope(self, rec: Recorded) -> str:
        return rec.query.get("teamId", "")

    def upload(self, rec: Recorded) -> Reply:
        digest = rec.headers.get("x-vercel-digest") or rec.headers.get("x-now-digest")
        if digest != sha1(rec.body):
            err = {"code": "invalid_digest", "message": "digest does not match"}
            return reply(400, {"error": err})
        self.blobs.setdefault(self._scope(rec), {})[digest] = rec.body
        return reply(200)

    def create(self, rec: Recorded) -> Reply:
        body = rec.json()
        if not body.get("name"):
            return reply(400, {"error": {"code": "bad_request", "message": "name is required"}})
        known = self.blobs.get(self._scope(rec), {})
        missing = sorted({f["sha"] for f in body.get("files", []) if f["sha"] not in known})
        if missing:
            err = {"code": "missing_files", "message": "Missing files", "missing": missing}
            return reply(400, {"error": err})
        n = next(self._ids)
        dpl = {
            "id": f"dpl_{n:06d}",
            "url": f"{body['name']}-{n:06d}.vercel.app",
            "name": body["name"],
            "readyState": "QUEUED",
            "aliasAssigned": False,
            "alias": [f"{body['name']}.vercel.app"] if body.get("target") == "production" else [],
            "target": body.get("target"),
            "meta": body.get("meta", {}),
            "createdAt": int(time.time() * 1000),
            "files": {f["file"]: known[f["sha"]] for f in body["files"]},
            "projectSettings": body.get("projectSettings"),
            "scope": self._scope(rec),
            "polls": 0,
        }
        self.deployments[dpl["id"]] = dpl
        return reply(200, self._public(dpl))

    def get(self, rec: Recorded, dpl_id: str) -> Reply:
        dpl = self.deployments.get(dpl_id)
        if dpl is None:
            return self.not_found()
        dpl["polls"] += 1
        step = min(dpl["polls"], len(self.PROGRESSION) - 1)
        state = self.PROGRESSION[step]
        if state == "READY" and self.end_state != "READY":
            state = self.end_state
            dpl["errorCode"] = "BUILD_FAILED"
            dpl["errorMessage"] = "Command 'vite build' exited with 1"
        # The alias is assigned after READY: the first READY answer comes without it.
        dpl["aliasAssigned"] = state == "READY" and dpl["readyState"] == "READY"
        dpl["readyState"] = state
        return reply(200, self._public(dpl))

    def list(self, rec: Recorded) -> Reply:
        items = [
            {
                "uid": d["id"],
                "name": d["name"],
                "url": d["url"],
                "state": d["readyState"],
                "meta": d["meta"],
                "createdAt": d["createdAt"],
            }
            for d in self.deployments.values()
            if d["name"] == rec.query.get("app", d["name"]) and d["scope"] == self._scope(rec)
        ]
        return reply(200, {"deployments": items, "pagination": {"count": len(items)}})

    @staticmethod
    def _public(dpl: JSON) -> JSON:
        return {k: v for k, v in dpl.items() if k not in ("files", "polls", "scope")}


# === Netlify ==============================================================================


class FakeNetlify(FakeProvider):
    """Sites, file-digest deploys (`required` SHA-1s), file PUTs, state polling, rate limits."""

    def __init__(self) -> None:
        super().__init__()
        self.sites: dict[str, JSON] = {}
        self.blobs: dict[str, dict[str, bytes]] = {}  # site id -> sha -> bytes
        self.deploys: dict[str, JSON] = {}
        self.end_state = "ready"  # or "error"
        self.deploys_per_minute: int | None = None
        self.remaining = 500
        self._ids = itertools.count(1)
        self._created_at: list[float] = []
        self.route("GET", r"/user", self.user)
        self.route("POST", r"/sites", self.create_site)
        self.route("GET", r"/sites/([^/]+)", self.get_site)
        self.route("POST", r"/sites/([^/]+)/deploys", self.create_deploy)
        self.route("GET", r"/sites/([^/]+)/deploys", self.list_deploys)
        self.route("GET", r"/sites/[^/]+/deploys/([^/]+)", self.get_deploy)
        self.route("GET", r"/deploys/([^/]+)", self.get_deploy)
        self.route("PUT", r"/deploys/([^/]+)/files/(.+)", self.put_file)

    def unauthorized(self) -> Reply:
        return reply(401, b"Access Denied: Invalid token")

    def not_found(self) -> Reply:
        return reply(404, {"code": 404, "message": "Not Found"})

    def common_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "500",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 60),
        }

    def user(self, rec: Recorded) -> Reply:
        return reply(200, {"id": "5f0c0fake", "email": "fake@example.test", "full_name": "Fake"})

    def _site(self, key: str) -> JSON | None:
        for site in self.sites.values():
            if key in (site["id"], f"{site['name']}.netlify.app"):
                return site
        return None

    def create_site(self, rec: Recorded) -> Reply:
        name = rec.json().get("name") or f"site-{next(self._ids)}"
        if any(s["name"] == name for s in self.sites.values()):
            return reply(422, {"code": 422, "message": "subdomain must be unique"})
        sid = f"site-{next(self._ids):04d}-{name}"
        site = {
            "id": sid,
            "name": name,
            "url": f"http://{name}.netlify.app",
            "ssl_url": f"https://{name}.netlify.app",
            "published_deploy": None,
        }
        self.sites[sid] = site
        return reply(201, site)

    def get_site(self, rec: Recorded, key: str) -> Reply:
        site = self._site(key)
        return reply(200, site) if site else self.not_found()

    def create_deploy(self, rec: Recorded, key: str) -> Reply:
        site = self._site(key)
        if site is None:
            return self.not_found()
        now = time.time()
        recent = [t for t in self._created_at if now - t < 60]
        if self.deploys_per_minute is not None and len(recent) >= self.deploys_per_minute:
            reset = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(min(recent) + 60))
            headers = {"X-RateLimit-Reset": reset, "Retry-After": reset}
            return reply(429, {"code": 429, "message": "Rate limit exceeded"}, headers)
        self._created_at.append(now)
        body = rec.json()
        files = {path.lstrip("/"): sha for path, sha in body.get("files", {}).items()}
        known = self.blobs.setdefault(site["id"], {})
        required = sorted({sha for sha in files.values() if sha not in known})
        dep = {
            "id": f"dep{next(self._ids):05d}",
            "site_id": site["id"],
            "title": rec.query.get("title"),
            "files": files,
            "required": required,
            "state": "preparing"
            if body.get("async")
            else ("prepared" if required else "processing"),
            "deploy_ssl_url": "",
            "ssl_url": site["ssl_url"],
            "url": site["url"],
            "error_message": None,
        }
        dep["deploy_ssl_url"] = f"https://{dep['id']}--{site['name']}.netlify.app"
        self.deploys[dep["id"]] = dep
        return reply(200, self._public(dep))

    def list_deploys(self, rec: Recorded, key: str) -> Reply:
        site = self._site(key)
        if site is None:
            return self.not_found()
        items = [self._public(d) for d in self.deploys.values() if d["site_id"] == site["id"]]
        return reply(200, list(reversed(items)))

    def get_deploy(self, rec: Recorded, dep_id: str) -> Reply:
        dep = self.deploys.get(dep_id)
        if dep is None:
            return self.not_found()
        if dep["state"] == "preparing":
            dep["state"] = "prepared" if dep["required"] else "processing"
        elif dep["state"] == "uploaded":
            dep["state"] = "processing"
        elif dep["state"] == "processing":
            dep["state"] = self.end_state
            if self.end_state == "error":
                dep["error_message"] = "Failed to process deploy"
            else:
                self.sites[dep["site_id"]]["published_deploy"] = dep["id"]
        return reply(200, self._public(dep))

    def put_file(self, rec: Recorded, dep_id: str, path: str) -> Reply:
        dep = self.deploys.get(dep_id)
        if dep is None:
            return self.not_found()
        path = path.lstrip("/")
        if dep["files"].get(path) != sha1(rec.body):
            return reply(422, {"code": 422, "message": f"SHA-1 of {path} does not match"})
        self.blobs[dep["site_id"]][sha1(rec.body)] = rec.body
        dep["required"] = [s for s in dep["required"] if s != sha1(rec.body)]
        if dep["state"] in ("prepared", "uploading"):
            dep["state"] = "uploading" if dep["required"] else "uploaded"
        return reply(
            200,
            {
                "id": sha1(rec.body),
                "path": f"/{path}",
                "sha": sha1(rec.body),
                "size": len(rec.body),
            },
        )

    def published_files(self, site_id: str) -> dict[str, bytes]:
        dep = self.deploys[self.sites[site_id]["published_deploy"]]
        blobs = self.blobs[site_id]
        return {path: blobs[sha] for path, sha in dep["files"].items()}

    @staticmethod
    def _public(dep: JSON) -> JSON:
        return {k: v for k, v in dep.items() if k != "files"}


# === GitHub ===============================================================================


def git_blob_sha(data: bytes) -> str:
    return sha1(b"blob %d\0" % len(data) + data)


class FakeGitHub(FakeProvider):
    """Repos, the Git Data API (blobs, trees, commits, refs), and Pages with legacy builds."""

    VERSIONS = ("2022-11-28", "2026-03-10")

    def __init__(self, login: str = "octo") -> None:
        super().__init__()
        self.login = login
        self.repos: dict[str, JSON] = {}  # "owner/name" -> repo state
        self.build_result = "built"  # or "errored"
        self._clock = itertools.count(1)
        r = r"/repos/([^/]+)/([^/]+)"
        self.route("GET", r"/user", self.user)
        self.route("POST", r"/user/repos", self.create_repo)
        self.route("GET", r, self.get_repo)
        self.route("POST", rf"{r}/git/blobs", self.create_blob)
        self.route("POST", rf"{r}/git/trees", self.create_tree)
        self.route("POST", rf"{r}/git/commits", self.create_commit)
        self.route("GET", rf"{r}/git/commits/([0-9a-f]+)", self.get_commit)
        self.route("GET", rf"{r}/git/ref/heads/(.+)", self.get_ref)
        self.route("POST", rf"{r}/git/refs", self.create_ref)
        self.route("PATCH", rf"{r}/git/refs/heads/(.+)", self.update_ref)
        self.route("POST", rf"{r}/pages", self.create_pages)
        self.route("GET", rf"{r}/pages", self.get_pages)
        self.route("PUT", rf"{r}/pages", self.update_pages)
        self.route("GET", rf"{r}/pages/builds/latest", self.latest_build)

    def check_request(self, rec: Recorded) -> Reply | None:
        if not rec.headers.get("user-agent"):
            return reply(403, {"message": "Request forbidden by administrative rules."})
        version = rec.headers.get("x-github-api-version")
        if version is not None and version not in self.VERSIONS:
            return reply(410, {"message": f"API version {version} is not supported"})
        return None

    def _repo(self, owner: str, name: str) -> JSON | None:
        return self.repos.get(f"{owner}/{name}")

    def _public_repo(self, repo: JSON) -> JSON:
        return {k: repo[k] for k in ("name", "full_name", "html_url", "default_branch", "private")}

    def user(self, rec: Recorded) -> Reply:
        return reply(200, {"login": self.login, "id": 1})

    def create_repo(self, rec: Recorded) -> Reply:
        body = rec.json()
        name = body["name"]
        if self._repo(self.login, name):
            err = {
                "resource": "Repository",
                "code": "custom",
                "field": "name",
                "message": "name already exists on this account",
            }
            return reply(422, {"message": "Repository creation failed.", "errors": [err]})
        repo: JSON = {
            "name": name,
            "full_name": f"{self.login}/{name}",
            "private": body.get("private", False),
            "html_url": f"https://github.com/{self.login}/{name}",
            "default_branch": "main",
            "objects": {},
            "refs": {},
            "pages": None,
            "builds": [],
        }
        self.repos[repo["full_name"]] = repo
        if body.get("auto_init"):
            readme = self._store(repo, "blob", {"data": b"# " + name.encode() + b"\n"})
            tree = self._store(repo, "tree", {"entries": {"README.md": readme}})
            repo["refs"]["main"] = self._store(
                repo, "commit", {"tree": tree, "parents": [], "message": "Initial commit"}
            )
        return reply(201, self._public_repo(repo))

    def get_repo(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        return reply(200, self._public_repo(repo)) if repo else self.not_found()

    def _store(self, repo: JSON, kind: str, obj: JSON) -> str:
        if kind == "blob":
            sha = git_blob_sha(obj["data"])
        else:
            salt = next(self._clock) if kind == "commit" else 0  # commits carry a timestamp
            payload = json.dumps({k: v for k, v in obj.items()}, sort_keys=True, default=str)
            sha = sha1(f"{kind}{salt}{payload}".encode())
        repo["objects"][sha] = {"type": kind, **obj}
        return sha

    def _empty(self, repo: JSON) -> bool:
        return not repo["refs"]

    def create_blob(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None:
            return self.not_found()
        if self._empty(repo):
            return reply(409, {"message": "Git Repository is empty."})
        body = rec.json()
        data = (
            base64.b64decode(body["content"])
            if body.get("encoding") == "base64"
            else body["content"].encode()
        )
        sha = self._store(repo, "blob", {"data": data})
        return reply(201, {"sha": sha, "url": f"{self.url}/repos/{owner}/{name}/git/blobs/{sha}"})

    def create_tree(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None:
            return self.not_found()
        if self._empty(repo):
            return reply(409, {"message": "Git Repository is empty."})
        body = rec.json()
        entries: dict[str, str] = {}
        if body.get("base_tree"):
            entries.update(repo["objects"][body["base_tree"]]["entries"])
        for item in body["tree"]:
            if bad := self._bad_tree_item(item):
                return reply(
                    422,
                    {
                        "message": "GitHub validation failed",
                        "errors": [{"resource": "Tree", "field": bad, "code": "invalid"}],
                        "documentation_url": "https://docs.github.com/rest/git/trees",
                        "status": "422",
                    },
                )
            if "content" in item and "sha" in item:
                return reply(422, {"message": "Must supply either tree.sha or tree.content"})
            if "content" in item:
                entries[item["path"]] = self._store(
                    repo, "blob", {"data": item["content"].encode()}
                )
            elif item["sha"] is None:
                entries.pop(item["path"], None)
            else:
                if item["sha"] not in repo["objects"]:
                    return reply(422, {"message": "tree.sha is not a valid blob"})
                entries[item["path"]] = item["sha"]
        sha = self._store(repo, "tree", {"entries": dict(sorted(entries.items()))})
        listing = [
            {"path": p, "mode": "100644", "type": "blob", "sha": s} for p, s in entries.items()
        ]
        return reply(201, {"sha": sha, "tree": listing, "truncated": False})

    @staticmethod
    def _bad_tree_item(item: JSON) -> str | None:
        """The field GitHub rejects in a tree item, if any (mode, type or path)."""
        if item.get("mode") not in ("100644", "100755", "040000", "160000", "120000"):
            return "mode"
        if item.get("type") not in ("blob", "tree", "commit"):
            return "type"
        path = item.get("path")
        if not isinstance(path, str) or not path or path.startswith("/") or path.endswith("/"):
            return "path"
        if any(part in ("", ".", "..", ".git") for part in path.split("/")):
            return "path"
        return None

    def create_commit(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None:
            return self.not_found()
        body = rec.json()
        if body["tree"] not in repo["objects"] or any(
            p not in repo["objects"] for p in body.get("parents", [])
        ):
            return reply(422, {"message": "Invalid tree or parent"})
        sha = self._store(
            repo,
            "commit",
            {"tree": body["tree"], "parents": body.get("parents", []), "message": body["message"]},
        )
        return reply(201, self._commit_json(repo, sha))

    def _commit_json(self, repo: JSON, sha: str) -> JSON:
        obj = repo["objects"][sha]
        return {
            "sha": sha,
            "message": obj["message"],
            "tree": {"sha": obj["tree"]},
            "parents": [{"sha": p} for p in obj["parents"]],
        }

    def get_commit(self, rec: Recorded, owner: str, name: str, sha: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None or repo["objects"].get(sha, {}).get("type") != "commit":
            return self.not_found()
        return reply(200, self._commit_json(repo, sha))

    def get_ref(self, rec: Recorded, owner: str, name: str, branch: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None:
            return self.not_found()
        if self._empty(repo):
            return reply(409, {"message": "Git Repository is empty."})
        sha = repo["refs"].get(branch)
        if sha is None:
            return self.not_found()
        return reply(200, {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}})

    def create_ref(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None:
            return self.not_found()
        body = rec.json()
        branch = body["ref"].removeprefix("refs/heads/")
        if branch in repo["refs"]:
            return reply(422, {"message": "Reference already exists"})
        self._move(repo, branch, body["sha"])
        return reply(201, {"ref": body["ref"], "object": {"sha": body["sha"], "type": "commit"}})

    def update_ref(self, rec: Recorded, owner: str, name: str, branch: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None or branch not in repo["refs"]:
            return self.not_found()
        body = rec.json()
        if not body.get("force") and not self._descends(repo, body["sha"], repo["refs"][branch]):
            return reply(422, {"message": "Update is not a fast forward"})
        self._move(repo, branch, body["sha"])
        return reply(
            200, {"ref": f"refs/heads/{branch}", "object": {"sha": body["sha"], "type": "commit"}}
        )

    def _descends(self, repo: JSON, sha: str, ancestor: str) -> bool:
        todo = [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            todo.extend(repo["objects"][current]["parents"])
        return False

    def _move(self, repo: JSON, branch: str, sha: str) -> None:
        repo["refs"][branch] = sha
        pages = repo["pages"]
        if pages and pages["source"]["branch"] == branch:
            repo["builds"].append({"commit": sha, "status": "queued", "polls": 0})

    def create_pages(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None:
            return self.not_found()
        if repo["pages"] is not None:
            return reply(409, {"message": "GitHub Pages is already enabled."})
        body = rec.json()
        repo["pages"] = {
            "status": None,
            "build_type": body.get("build_type", "legacy"),
            "source": body["source"],
            "html_url": f"https://{owner}.github.io/{name}/",
        }
        head = repo["refs"].get(body["source"]["branch"])
        if head:
            repo["builds"].append({"commit": head, "status": "queued", "polls": 0})
        return reply(201, repo["pages"])

    def get_pages(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None or repo["pages"] is None:
            return self.not_found()
        return reply(200, repo["pages"])

    def update_pages(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None or repo["pages"] is None:
            return self.not_found()
        repo["pages"].update(rec.json())
        return reply(204)

    def latest_build(self, rec: Recorded, owner: str, name: str) -> Reply:
        repo = self._repo(owner, name)
        if repo is None or not repo["builds"]:
            return self.not_found()
        build = repo["builds"][-1]
        build["polls"] += 1
        if build["status"] == "queued":
            build["status"] = "building"
        elif build["status"] == "building":
            build["status"] = self.build_result
        repo["pages"]["status"] = build["status"]
        body: JSON = {
            "status": build["status"],
            "commit": build["commit"],
            "error": {"message": None},
        }
        if build["status"] == "errored":
            body["error"] = {"message": "Page build failed."}
        return reply(200, body)

    def branch_files(self, owner: str, name: str, branch: str) -> dict[str, bytes]:
        repo = self.repos[f"{owner}/{name}"]
        tree = repo["objects"][repo["objects"][repo["refs"][branch]]["tree"]]
        return {path: repo["objects"][sha]["data"] for path, sha in tree["entries"].items()}


# === fixtures =============================================================================


def _serve(fake: FakeProvider) -> Iterator[Any]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(name="vercel_fake")
def vercel_fake_fixture() -> Iterator[FakeVercel]:
    yield from _serve(FakeVercel())


@pytest.fixture(name="netlify_fake")
def netlify_fake_fixture() -> Iterator[FakeNetlify]:
    yield from _serve(FakeNetlify())


@pytest.fixture(name="github_fake")
def github_fake_fixture() -> Iterator[FakeGitHub]:
    yield from _serve(FakeGitHub())


# === journal helpers for resume tests =====================================================


class Crash(Exception):
    """Raised from `save` to stand for a worker dying right after a step."""


class Saves:
    """A `save` callback that keeps what was persisted and can crash at the n-th save."""

    def __init__(self, crash_at: int | None = None) -> None:
        self.crash_at = crash_at
        self.count = 0
        self.saved: list[Journal] = []

    def __call__(self, journal: Journal) -> None:
        self.count += 1
        if self.count == self.crash_at:
            raise Crash(f"crash at save {self.count} (step {journal.step})")
        self.saved.append(journal.model_copy(deep=True))

    def last(self, target: str) -> Journal:
        """What the next attempt loads: the last journal that reached the store."""
        return self.saved[-1].model_copy(deep=True) if self.saved else Journal(target=target)
