"""The embedded AWS emulator behind `kiln dev`: moto's server plus a request journal.

moto keeps its state in process memory. To let projects, versions, jobs and
artifacts survive a restart -- also a `kill -9` -- every successful mutating
request to DynamoDB, S3 and Secrets Manager is appended to
`data_dir/journal.jsonl` and fsync'd before its answer leaves the process.
On start the journal is replayed through the same WSGI app (no sockets), then
compacted: structural requests (tables, buckets, their settings, secrets) are
kept verbatim and item/object writes are replaced by one write per live item.

SQS is not journaled on purpose: redelivering old messages after a restart
would repeat work; the job sweeper requeues jobs that were in flight instead.
Reads are neither journaled nor serialised.

`kiln dev` sends its own requests to the same WSGI app in process (`serve_in_process`),
as moto's in-process mode does; the HTTP endpoint serves everyone else, which on a
developer's machine includes every web page the browser has open. So the emulator serves
kiln only (`_KilnOnly`): no CORS headers, any request from a web page (an `Origin`
header, or `Sec-Fetch-Site: cross-site/same-site`) refused, and every request must be
signed with this run's random access key. moto checks no signatures and neither do we
fully: only the key named in the SigV4 `Credential=` is compared, which is enough to shut
out a page that does not know it (and a page never learns it: it is not served anywhere).

The parts, by concern:

    requests.py      one request as the journal keeps it; applying it to moto in process
    journal.py       the append-only, group-committed journal and what gets journaled
    compaction.py    replay on start, and compaction to one write per live item
    transport.py     botocore requests answered in this thread, without a socket
    moto_patches.py  moto's hot paths replaced, pinned to the moto minor version they
                     were checked against (tests/integration/test_moto_patches.py)
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from kiln.local.emulator.compaction import DEFAULT_COMPACT_AFTER_BYTES, ReplayStats, _restore
from kiln.local.emulator.journal import (
    JOURNAL_NAME,
    JournalContents,
    JournalError,
    _is_mutation,
    _Journal,
    _JournalingApp,
    _service,
    read_journal,
)
from kiln.local.emulator.moto_patches import _speed_up_moto
from kiln.local.emulator.requests import JournalRecord, _signing_scope
from kiln.local.emulator.transport import _answer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


__all__ = [
    "DYNAMODB_WRITES",
    "JOURNAL_NAME",
    "Emulator",
    "JournalContents",
    "JournalError",
    "JournalRecord",
    "ReplayStats",
    "read_journal",
    "start_emulator",
]


@dataclass
class Emulator:
    """A running emulator; `endpoint_url` is what boto3 clients are pointed at."""

    endpoint_url: str
    data_dir: Path | None
    stats: ReplayStats | None
    access_key: str = field(repr=False)
    _server: BaseWSGIServer
    _thread: threading.Thread
    _journal: _Journal | None = field(default=None, repr=False)
    _in_process: tuple[str, Any] | None = field(default=None, repr=False)

    def serve_in_process(self) -> None:
        """Answer this process's boto3 requests to `endpoint_url` without the socket.

        moto's own in-process mode does the same: botocore builds, signs and parses every
        request as usual, and a `before-send` handler hands it to the emulator's WSGI app
        (journal included) in the calling thread instead of the HTTP server. That halves
        the cost of a request here (the HTTP client and server were half of it), which is
        what one `kiln dev` process on a small machine spends most of its time on. Other
        processes, presigned URLs and clients of boto3 sessions made before this call still
        use the HTTP endpoint (botocore copies its built-in handlers into each new session)."""
        if self._in_process is not None:
            return
        prefix = self.endpoint_url + "/"
        app = self._server.app

        def send(request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
            if not request.url.startswith(prefix):
                return None
            return _answer(app, event_name.split(".")[1], request)

        self._in_process = ("before-send", send)
        BUILTIN_HANDLERS.append(self._in_process)

    def stop(self) -> None:
        if self._in_process is not None:
            BUILTIN_HANDLERS.remove(self._in_process)
            self._in_process = None
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        if self._journal is not None:
            self._journal.close()


_FROM_A_PAGE = frozenset({"cross-site", "same-site"})


class _KilnOnly:
    """WSGI middleware: the emulator answers kiln's signed requests, never a web page."""

    def __init__(self, app: WSGIApplication, access_key: str) -> None:
        self.app = app
        self.access_key = access_key.encode()

    def refusal(self, environ: WSGIEnvironment) -> str | None:
        from_a_page = environ.get("HTTP_SEC_FETCH_SITE", "").lower() in _FROM_A_PAGE
        if "HTTP_ORIGIN" in environ or from_a_page:
            return "requests from web pages are refused"
        scope = _signing_scope(environ)
        if scope is None or not secrets.compare_digest(scope[0].encode(), self.access_key):
            return "this emulator serves kiln only: sign with its access key"
        return None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = self.refusal(environ)
        if refusal is not None:
            body = json.dumps({"__type": "AccessDeniedException", "message": refusal}).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info)

        return self.app(environ, without_cors)


class _Writes:
    """How many DynamoDB writes the emulators of this process have answered, so the push
    stream pump can wait for one (each write may add a stream record) instead of asking
    the stream for records every few milliseconds."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def bump(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout_s: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen, timeout_s)


DYNAMODB_WRITES = _Writes()


class _DynamoDBInTurn:
    """moto's DynamoDB is not thread-safe: a query deep-copies items that an update in
    another thread is changing ("dictionary changed size during iteration", a 500). Its
    requests take turns; other services' (an SQS long poll among them) do not wait."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if _service(environ) != "dynamodb":
            return self.app(environ, start_response)
        with self.lock:
            answer = list(self.app(environ, start_response))
        if _is_mutation(environ, "dynamodb"):
            DYNAMODB_WRITES.bump()
        return answer


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def start_emulator(
    data_dir: Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
    compact_after_bytes: int = DEFAULT_COMPACT_AFTER_BYTES,
    access_key: str | None = None,
) -> Emulator:
    """Serve moto on host:port (0 picks a free port); with `data_dir`, state persists.

    Every request must be signed with `access_key` (default: a random one for this run,
    `Emulator.access_key`); the secret key is not checked.

    The journal is compacted on start once it has grown by `compact_after_bytes`
    since its last compaction (0: whenever it grew), so an unchanged restart does
    not pay for a compaction.
    """
    _speed_up_moto()
    moto_app: WSGIApplication = _DynamoDBInTurn(DomainDispatcherApplication(create_backend_app))
    app: WSGIApplication = moto_app
    journal: _Journal | None = None
    stats: ReplayStats | None = None
    if data_dir is not None:
        data_dir = data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        journal, stats = _restore(moto_app, data_dir, compact_after_bytes)
        app = _JournalingApp(moto_app, journal)
    access_key = access_key or "KILN" + secrets.token_hex(16).upper()
    app = _KilnOnly(app, access_key)
    handler = _QuietHandler if quiet else MotoRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name="kiln-emulator", daemon=True)
    thread.start()
    return Emulator(
        endpoint_url=f"http://{host}:{server.port}",
        data_dir=data_dir,
        stats=stats,
        access_key=access_key,
        _server=server,
        _thread=thread,
        _journal=journal,
    )
