"""The Lambda entry points themselves (`functions/*/app.py`), called as Lambda calls them:
with the payloads API Gateway's HTTP API (v2), SQS (a batch, partial failures reported)
and EventBridge Scheduler (the template's `Input`) send, configured only by environment
variables, against the moto server."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kiln.config import Settings, get_settings
from kiln.store import jobs as store_jobs
from kiln.store.db import Store
from kiln.workers import default_store

pytestmark = pytest.mark.integration

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
ACCOUNT = "123456789012"


class LambdaContext:
    """What the Lambda runtime passes as `context` (the fields powertools reads)."""

    function_name = "kiln-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:kiln-test"
    aws_request_id = "4e1c9a5e-7f0b-4f7e-9d1c-2b1f2f9c0d11"
    log_group_name = "/aws/lambda/kiln-test"
    log_stream_name = "2026/12/05/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture(autouse=True)
def fresh_event_loop() -> Iterator[None]:
    """A Lambda process starts with no event loop; Mangum takes the thread's. A loop an
    earlier test in this worker left marked as running on this thread (Playwright's sync
    API does) must not stand in for it: asyncio.get_event_loop() would answer that one."""
    leaked = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()
    asyncio._set_running_loop(leaked)


@pytest.fixture
def function(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """Load `functions/<name>/app.py` fresh, configured as the template configures it: by
    KILN_* variables naming the test's table, bucket and queues."""
    for name in ("table_name", "bucket", "generate_queue_url", "deploy_queue_url"):
        monkeypatch.setenv(f"KILN_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("KILN_AWS_ENDPOINT_URL", str(settings.aws_endpoint_url))
    monkeypatch.setenv("KILN_LLM_PROVIDER", "starter")
    monkeypatch.setenv("KILN_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    default_store.cache_clear()

    def load(name: str) -> ModuleType:
        path = FUNCTIONS / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"kiln_fn_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    get_settings.cache_clear()
    default_store.cache_clear()


def http_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API payload, format version 2.0."""
    domain = "abc123.execute-api.us-east-1.amazonaws.com"
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": domain,
            "user-agent": "Mozilla/5.0",
            "x-forwarded-for": "203.0.113.9",
            "x-forwarded-proto": "https",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "domainName": domain,
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "Mozilla/5.0",
            },
            "requestId": "Jb2x7gYZoAMEVmA=",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "05/Dec/2026:07:00:00 +0000",
            "timeEpoch": 1796540400000,
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def sqs_batch(queue: str, bodies: list[str]) -> dict[str, Any]:
    """An SQS event source mapping's event: one record per message body."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1796540400000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1796540400001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}",
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


def answer(function: ModuleType, event: dict[str, Any]) -> tuple[int, Any]:
    result = function.handler(event, LambdaContext())
    return result["statusCode"], json.loads(result["body"])


def start_generation(generate: ModuleType) -> tuple[str, str]:
    """A session and a queued generation through the generate function; (token, job id)."""
    status, session = answer(generate, http_event("POST", "/api/sessions"))
    assert status == 201, session
    auth = {"authorization": f"Bearer {session['token']}"}
    body = {"prompt": "a counter app", "framework": "vanilla"}
    status, accepted = answer(generate, http_event("POST", "/api/generations", body, auth))
    assert status == 202, accepted
    return session["token"], accepted["job_id"]


def test_the_http_functions_answer_api_gateway_v2_events(
    function: Callable[[str], ModuleType],
) -> None:
    generate, status_fn = function("generate"), function("status")
    token, job_id = start_generation(generate)
    auth = {"authorization": f"Bearer {token}"}

    code, job = answer(status_fn, http_event("GET", f"/api/jobs/{job_id}", headers=auth))
    assert (code, job["job_id"], job["status"]) == (200, job_id, "queued")

    code, missing = answer(status_fn, http_event("GET", "/api/jobs/nope", headers=auth))
    assert (code, missing["error"]["code"]) == (404, "not_found")
    code, refused = answer(generate, http_event("POST", "/api/generations", {"prompt": ""}, auth))
    assert (code, refused["error"]["code"]) == (422, "prompt_empty")


def test_the_generate_worker_reports_only_the_failed_record_of_an_sqs_batch(
    function: Callable[[str], ModuleType], settings: Settings
) -> None:
    generate = function("generate")
    _, job_id = start_generation(generate)
    event = sqs_batch("generate", [json.dumps({"job_id": job_id}), '{"no": "job id"}'])

    result = generate.worker(event, LambdaContext())

    bad = event["Records"][1]["messageId"]
    assert result == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert store_jobs.get_job(Store(settings), job_id)["status"] == "succeeded"


def test_the_deploy_worker_reports_only_the_failed_record_of_an_sqs_batch(
    function: Callable[[str], ModuleType],
) -> None:
    deploy = function("deploy")
    gone = json.dumps({"job_id": "j_gone", "kind": "deploy"})  # claims nothing: done
    event = sqs_batch("deploy", ["not json", gone])

    result = deploy.worker(event, LambdaContext())

    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_the_scheduled_function_runs_the_task_its_eventbridge_input_names(
    function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KILN_HEARTBEAT_TIMEOUT_S", "0")  # every active job counts as stale
    get_settings.cache_clear()
    deploy = function("deploy")
    start_generation(function("generate"))

    swept = deploy.scheduled({"task": "sweeper"}, LambdaContext())
    scheduled = deploy.scheduled({"task": "scheduler"}, LambdaContext())

    assert swept.keys() == {"sweep", "previews", "secrets"}
    assert swept["sweep"]["resent"] == 1  # the queued job nobody picked up is sent again
    assert scheduled.keys() == {"schedules"}


def test_a_generation_worker_run_emits_its_metrics_to_the_templates_namespace(
    function: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "kiln-test-ns")
    get_settings.cache_clear()
    from kiln import telemetry

    telemetry.metrics.cache_clear()
    generate = function("generate")
    _, job_id = start_generation(generate)
    capsys.readouterr()

    generate.worker(sqs_batch("generate", [json.dumps({"job_id": job_id})]), LambdaContext())

    emf = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    assert len(emf) == 1
    [directive] = emf[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "kiln-test-ns"
    names = {m["Name"] for m in directive["Metrics"]}
    assert {"GenerationSucceeded", "InputTokens", "OutputTokens", "CostUSD"} <= names
    values = {n: v if isinstance(v, list) else [v] for n, v in emf[0].items() if n in names}
    assert values["GenerationSucceeded"] == [1]
    usage = store_jobs.get_job(Store(get_settings()), job_id)["usage"]
    assert values["OutputTokens"] == [usage["output_tokens"]]
    assert values["InputTokens"] == [usage["input_tokens"]]
