"""The embedded emulator keeps DynamoDB, S3 and Secrets Manager state across restarts.

A restart is a new process (moto's state is process-global), so every test that
restarts runs the emulator in a child started from `CHILD`; tests that only look
at what gets journaled run it in process. Children compact the journal on every
start that finds it grown (`compact_after=0`) unless a test says otherwise.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kiln.local.emulator import JOURNAL_NAME, Emulator, JournalError, read_journal, start_emulator
from tests.integration.tables import create_table, unique

pytestmark = pytest.mark.integration
# A restart or a kill -9 needs the emulator in a process of its own: the slow tier.
restarts = pytest.mark.slow

KEY = os.environ["AWS_ACCESS_KEY_ID"]  # what the tests' boto3 clients sign with (conftest)

CHILD = r"""
import os, sys, threading
from pathlib import Path
import boto3
from kiln.local.emulator import start_emulator

emulator = start_emulator(
    Path(sys.argv[1]),
    compact_after_bytes=int(sys.argv[2]),
    access_key=os.environ["AWS_ACCESS_KEY_ID"],
)
print(emulator.endpoint_url, flush=True)
if len(sys.argv) > 3:
    table, bucket = sys.argv[3], sys.argv[4]
    ddb = boto3.client("dynamodb", endpoint_url=emulator.endpoint_url)
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint_url)
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3.create_bucket(Bucket=bucket)
    out = threading.Lock()

    def write(worker):
        n = 0
        while True:
            key = f"{worker}-{n}"
            ddb.put_item(TableName=table, Item={"PK": {"S": key}, "n": {"N": str(n)}})
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode() * 100)
            with out:
                print("ack", key, flush=True)
            n += 1

    for worker in ("a", "b"):
        threading.Thread(target=write, args=(worker,), daemon=True).start()
sys.stdin.read()
emulator.stop()
"""


class Child:
    """An emulator in its own process: `stop()` is a clean shutdown, `kill()` is kill -9."""

    def __init__(self, data_dir: Path, compact_after: int, *writer_args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir), str(compact_after), *writer_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.endpoint_url = self.proc.stdout.readline().strip()
        assert self.endpoint_url.startswith("http://"), "the emulator did not start"

    def lines(self) -> Iterator[str]:
        assert self.proc.stdout is not None
        yield from self.proc.stdout

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(data_dir: Path, *writer_args: str, compact_after: int = 0) -> Child:
        child = Child(data_dir, compact_after, *writer_args)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    running = start_emulator(tmp_path / "data", access_key=KEY)
    yield running
    running.stop()


def client(service: str, endpoint_url: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name="us-east-1")  # type: ignore[call-overload]


def key(pk: str, sk: str = "META") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def journal_lines(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / JOURNAL_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- surviving a restart -----------------------------------------------------------------


@restarts
def test_an_item_survives_a_clean_restart(tmp_path: Path, spawn: Callable[..., Child]) -> None:
    table = unique("t")
    first = spawn(tmp_path)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    item = {**key("PROJECT#p1"), "name": {"S": "todo app"}, "tags": {"SS": ["a", "b"]}}
    ddb.put_item(TableName=table, Item=item)
    first.stop()

    second = spawn(tmp_path)
    got = client("dynamodb", second.endpoint_url).get_item(
        TableName=table, Key=key("PROJECT#p1"), ConsistentRead=True
    )
    assert got["Item"] == item


@restarts
def test_an_s3_object_survives_a_clean_restart(tmp_path: Path, spawn: Callable[..., Child]) -> None:
    bucket, name = unique("b"), "projects/p1/blobs/héllo wörld+1.txt"
    first = spawn(tmp_path)
    s3 = client("s3", first.endpoint_url)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket, Key=name, Body=b"<h1>hi</h1>", ContentType="text/html", Metadata={"sha": "x"}
    )
    first.stop()

    second = spawn(tmp_path)
    got = client("s3", second.endpoint_url).get_object(Bucket=bucket, Key=name)
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
        b"<h1>hi</h1>",
        "text/html",
        {"sha": "x"},
    )


@restarts
def test_a_conditional_update_history_replays_to_the_same_item(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table = unique("t")
    first = spawn(tmp_path)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    ddb.put_item(TableName=table, Item={**key("JOB#j1"), "status": {"S": "queued"}})

    def transition(old: str, new: str) -> bool:
        try:
            ddb.update_item(
                TableName=table,
                Key=key("JOB#j1"),
                UpdateExpression=(
                    "SET #s = :new, history = list_append(if_not_exists(history, :e), :h)"
                ),
                ConditionExpression="#s = :old",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":old": {"S": old},
                    ":new": {"S": new},
                    ":e": {"L": []},
                    ":h": {"L": [{"S": new}]},
                },
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    assert [
        transition("queued", "running"),
        transition("queued", "running"),
        transition("running", "succeeded"),
        transition("running", "failed"),
    ] == [True, False, True, False]
    before = ddb.get_item(TableName=table, Key=key("JOB#j1"), ConsistentRead=True)["Item"]
    first.stop()

    second = spawn(tmp_path)
    after = client("dynamodb", second.endpoint_url).get_item(
        TableName=table, Key=key("JOB#j1"), ConsistentRead=True
    )["Item"]
    assert after == before
    assert after["history"] == {"L": [{"S": "running"}, {"S": "succeeded"}]}


@restarts
def test_a_secret_survives_a_clean_restart(tmp_path: Path, spawn: Callable[..., Child]) -> None:
    name = unique("kiln/schedule")
    first = spawn(tmp_path)
    client("secretsmanager", first.endpoint_url).create_secret(Name=name, SecretString="tok")
    first.stop()

    second = spawn(tmp_path)
    got = client("secretsmanager", second.endpoint_url).get_secret_value(SecretId=name)
    assert got["SecretString"] == "tok"


@restarts
def test_a_multipart_upload_survives_a_clean_restart(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    bucket = unique("b")
    first = spawn(tmp_path)
    s3 = client("s3", first.endpoint_url)
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(5 * 1024 * 1024) + b"tail"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="site.zip")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket=bucket, Key="site.zip", UploadId=upload, PartNumber=n, Body=chunk
            )["ETag"],
        }
        for n, chunk in ((1, body[: 5 * 1024 * 1024]), (2, body[5 * 1024 * 1024 :]))
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="site.zip", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    first.stop()

    second = spawn(tmp_path)
    got = client("s3", second.endpoint_url).get_object(Bucket=bucket, Key="site.zip")
    assert got["Body"].read() == body


@restarts
def test_every_acknowledged_write_survives_kill_9(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table, bucket = unique("t"), unique("b")
    writer = spawn(tmp_path, table, bucket)
    acked: list[str] = []
    for line in writer.lines():
        acked.append(line.split()[1])
        if len(acked) == 150:
            break
    writer.kill()

    second = spawn(tmp_path)
    ddb = client("dynamodb", second.endpoint_url)
    s3 = client("s3", second.endpoint_url)
    items = {
        item["PK"]["S"]
        for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        for item in page["Items"]
    }
    objects = {
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
    }
    assert set(acked) <= items
    assert set(acked) <= objects


# --- the journal file --------------------------------------------------------------------


@pytest.mark.parametrize("compact_after", [0, 1 << 30], ids=["compacted", "not-compacted"])
@restarts
def test_a_torn_last_line_is_skipped_and_later_writes_still_persist(
    tmp_path: Path, spawn: Callable[..., Child], compact_after: int
) -> None:
    table = unique("t")
    first = spawn(tmp_path, compact_after=compact_after)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    ddb.put_item(TableName=table, Item=key("before"))
    first.stop()
    with (tmp_path / JOURNAL_NAME).open("ab") as f:
        f.write(b'{"service":"dynamodb","method":"POST","path":"/","he')

    second = spawn(tmp_path, compact_after=compact_after)
    client("dynamodb", second.endpoint_url).put_item(TableName=table, Item=key("after"))
    second.stop()

    third = spawn(tmp_path, compact_after=compact_after)
    items = client("dynamodb", third.endpoint_url).scan(TableName=table)["Items"]
    assert sorted(i["PK"]["S"] for i in items) == ["after", "before"]


@restarts
def test_a_last_record_without_its_newline_is_kept_and_not_glued_to_the_next(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table = unique("t")
    first = spawn(tmp_path, compact_after=1 << 30)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    ddb.put_item(TableName=table, Item=key("cut"))
    first.stop()
    path = tmp_path / JOURNAL_NAME
    path.write_bytes(path.read_bytes().rstrip(b"\n"))

    second = spawn(tmp_path, compact_after=1 << 30)
    client("dynamodb", second.endpoint_url).put_item(TableName=table, Item=key("next"))
    second.stop()

    third = spawn(tmp_path, compact_after=1 << 30)
    items = client("dynamodb", third.endpoint_url).scan(TableName=table)["Items"]
    assert sorted(i["PK"]["S"] for i in items) == ["cut", "next"]


@restarts
def test_a_restart_below_the_compaction_threshold_leaves_the_journal_as_it_is(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table = unique("t")
    first = spawn(tmp_path, compact_after=1 << 30)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    for _ in range(3):
        ddb.put_item(TableName=table, Item=key("same"))
    first.stop()
    before = (tmp_path / JOURNAL_NAME).read_bytes()

    second = spawn(tmp_path, compact_after=1 << 30)
    assert (tmp_path / JOURNAL_NAME).read_bytes() == before
    got = client("dynamodb", second.endpoint_url).get_item(TableName=table, Key=key("same"))
    assert "Item" in got


def test_a_damaged_line_before_the_last_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    good = json.dumps(
        {"service": "s3", "method": "PUT", "path": "/b", "raw_uri": "/b", "headers": []}
    )
    path.write_text(f"{good}\nnot json\n{good}\n")
    with pytest.raises(JournalError):
        read_journal(path)


@restarts
def test_compaction_keeps_state_and_shrinks_the_journal(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table, bucket = unique("t"), unique("b")
    first = spawn(tmp_path)
    ddb = client("dynamodb", first.endpoint_url)
    s3 = client("s3", first.endpoint_url)
    create_table(ddb, table)
    s3.create_bucket(Bucket=bucket)
    for _ in range(40):
        ddb.update_item(
            TableName=table,
            Key=key("QUOTA#o#day"),
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    for n in range(10):
        s3.put_object(Bucket=bucket, Key=f"tmp/{n}", Body=b"x" * 1000)
        s3.delete_object(Bucket=bucket, Key=f"tmp/{n}")
    s3.put_object(Bucket=bucket, Key="keep", Body=b"kept")
    first.stop()
    lines_before = len(journal_lines(tmp_path))
    size_before = (tmp_path / JOURNAL_NAME).stat().st_size

    second = spawn(tmp_path)
    lines_after = len(journal_lines(tmp_path))
    size_after = (tmp_path / JOURNAL_NAME).stat().st_size
    ddb = client("dynamodb", second.endpoint_url)
    s3 = client("s3", second.endpoint_url)
    counter = ddb.get_item(TableName=table, Key=key("QUOTA#o#day"), ConsistentRead=True)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert counter["Item"]["n"] == {"N": "40"}
    assert keys == ["keep"]
    assert lines_after < lines_before
    assert size_after < size_before


@restarts
def test_compaction_rebuilds_batch_and_transactional_writes_from_the_live_items(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table = unique("t")
    first = spawn(tmp_path)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    ddb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": key(f"B#{n}")}} for n in range(3)]}
    )
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": key(f"T#{n}")}} for n in range(2)]
    )
    ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": key("B#0")}}]})
    first.stop()

    second = spawn(tmp_path)
    targets = [
        next((v for k, v in r["headers"] if k.lower() == "x-amz-target"), "")
        for r in journal_lines(tmp_path)
    ]
    items = client("dynamodb", second.endpoint_url).scan(TableName=table)["Items"]
    assert sorted(i["PK"]["S"] for i in items) == ["B#1", "B#2", "T#0", "T#1"]
    # the three writes were dropped; compaction wrote the live items back in one batch
    writes = [t.rpartition(".")[2] for t in targets if "Write" in t]
    assert writes == ["BatchWriteItem"]


@restarts
def test_a_compacted_journal_restores_the_same_state_again(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    table = unique("t")
    first = spawn(tmp_path)
    ddb = client("dynamodb", first.endpoint_url)
    create_table(ddb, table)
    for n in range(60):  # more than one BatchWriteItem of 25 after compaction
        ddb.put_item(TableName=table, Item={**key(f"JOB#{n}"), "n": {"N": str(n)}})
    first.stop()
    spawn(tmp_path).stop()  # replays the raw journal and compacts it

    third = spawn(tmp_path)  # replays only the compacted journal
    items = client("dynamodb", third.endpoint_url).scan(TableName=table)["Items"]
    assert sorted(int(i["n"]["N"]) for i in items) == list(range(60))


# --- what is journaled -------------------------------------------------------------------


def test_sqs_is_not_journaled(emulator: Emulator) -> None:
    sqs = client("sqs", emulator.endpoint_url)
    queue = sqs.create_queue(QueueName=unique("generate"))["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"job_id": "j1"}))
    sqs.receive_message(QueueUrl=queue)
    assert emulator.data_dir is not None
    assert journal_lines(emulator.data_dir) == []


def test_a_successful_write_is_journaled_before_it_is_answered(emulator: Emulator) -> None:
    ddb = client("dynamodb", emulator.endpoint_url)
    create_table(ddb, unique("t"))
    assert emulator.data_dir is not None
    [record] = journal_lines(emulator.data_dir)
    assert record["service"] == "dynamodb"
    assert ["X-Amz-Target", "DynamoDB_20120810.CreateTable"] in record["headers"]


def test_a_failed_conditional_write_is_not_journaled(emulator: Emulator) -> None:
    table = unique("t")
    ddb = client("dynamodb", emulator.endpoint_url)
    create_table(ddb, table)
    ddb.put_item(TableName=table, Item=key("JOB#j1"))
    assert emulator.data_dir is not None
    before = journal_lines(emulator.data_dir)
    with pytest.raises(ClientError) as failed:
        ddb.put_item(
            TableName=table, Item=key("JOB#j1"), ConditionExpression="attribute_not_exists(PK)"
        )
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert journal_lines(emulator.data_dir) == before


def test_reads_are_not_journaled(emulator: Emulator) -> None:
    table, bucket = unique("t"), unique("b")
    ddb = client("dynamodb", emulator.endpoint_url)
    s3 = client("s3", emulator.endpoint_url)
    create_table(ddb, table)
    s3.create_bucket(Bucket=bucket)
    s3.upload_fileobj(io.BytesIO(b"data"), bucket, "k")
    assert emulator.data_dir is not None
    before = journal_lines(emulator.data_dir)
    ddb.get_item(TableName=table, Key=key("x"))
    ddb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "x"}},
    )
    ddb.scan(TableName=table)
    ddb.describe_table(TableName=table)
    s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    s3.head_object(Bucket=bucket, Key="k")
    s3.list_objects_v2(Bucket=bucket)
    assert journal_lines(emulator.data_dir) == before


def test_without_a_data_dir_the_emulator_still_serves() -> None:
    running = start_emulator(None, access_key=KEY)
    try:
        sqs = client("sqs", running.endpoint_url)
        assert sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    finally:
        running.stop()
    assert running.stats is None


@restarts
def test_settings_reapplied_on_every_start_do_not_grow_the_journal(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    bucket = unique("b")
    for _ in range(3):  # what `kiln dev` does with the template's bucket on each start
        child = spawn(tmp_path)
        s3 = client("s3", child.endpoint_url)
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        child.stop()

    last = spawn(tmp_path)
    records = [(r["method"], r["path"], r["query"]) for r in journal_lines(tmp_path)]
    assert records == [("PUT", f"/{bucket}", ""), ("PUT", f"/{bucket}", "versioning")]
    versioning = client("s3", last.endpoint_url).get_bucket_versioning(Bucket=bucket)
    assert versioning["Status"] == "Enabled"


@restarts
def test_in_process_requests_skip_the_socket_and_are_journaled(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    from botocore.config import Config

    emulator = start_emulator(tmp_path / "data", access_key=KEY)
    emulator.serve_in_process()
    try:
        emulator._server.shutdown()  # from here on nothing answers on the socket
        s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=emulator.endpoint_url,
            region_name="us-east-1",
            config=Config(read_timeout=2, connect_timeout=2, retries={"max_attempts": 1}),
        )
        s3.create_bucket(Bucket="kiln-b")
        s3.put_object(Bucket="kiln-b", Key="k", Body=b"kept")
        assert s3.get_object(Bucket="kiln-b", Key="k")["Body"].read() == b"kept"
    finally:
        emulator.stop()
    assert [r["method"] for r in journal_lines(tmp_path / "data")] == ["PUT", "PUT"]
    # moto's state lives on in this process: only a fresh one shows what the replay restores.
    again = spawn(tmp_path / "data")
    body = client("s3", again.endpoint_url).get_object(Bucket="kiln-b", Key="k")["Body"].read()
    assert body == b"kept"


# --- the emulator serves kiln only --------------------------------------------------------


@pytest.fixture
def guarded() -> Iterator[Emulator]:
    """An emulator with a random access key, as `kiln dev` starts it."""
    running = start_emulator(None)
    yield running
    running.stop()


def keyed(service: str, emulator: Emulator, access_key: str | None = None) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=access_key or emulator.access_key,
        aws_secret_access_key="anything",
        region_name="us-east-1",
    )
    return session.client(service, endpoint_url=emulator.endpoint_url)  # type: ignore[call-overload]


def stored_token(emulator: Emulator) -> tuple[str, str]:
    name, token = unique("kiln/operator/vercel"), "vercel_operator_" + uuid.uuid4().hex
    keyed("secretsmanager", emulator).create_secret(Name=name, SecretString=token)
    return name, token


def test_a_preflight_from_the_previews_opaque_origin_is_refused_without_cors(
    guarded: Emulator,
) -> None:
    import httpx

    resp = httpx.options(
        guarded.endpoint_url + "/",
        headers={
            "Origin": "null",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
    )
    assert resp.status_code == 403
    assert not [h for h in resp.headers if h.lower().startswith("access-control-")]


def test_get_secret_value_from_a_web_origin_is_refused_and_returns_no_secret(
    guarded: Emulator,
) -> None:
    """Even signed with the right key (which a page cannot know), a request that carries
    an Origin is refused: a real HTTP request to the emulator's port, Origin: null."""
    import httpx

    name, token = stored_token(guarded)
    sm = keyed("secretsmanager", guarded)
    sm.meta.events.register(
        "before-send.secrets-manager.GetSecretValue",
        lambda request, **_: request.headers.__setitem__("Origin", "null"),
    )
    with pytest.raises(ClientError) as refused:
        sm.get_secret_value(SecretId=name)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert token not in json.dumps(refused.value.response, default=str)
    unsigned = httpx.post(
        guarded.endpoint_url + "/",
        headers={
            "Origin": "null",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        },
        content=json.dumps({"SecretId": name}),
    )
    assert unsigned.status_code == 403 and token not in unsigned.text
    assert not [h for h in unsigned.headers if h.lower().startswith("access-control-")]


def test_a_request_from_a_page_without_an_origin_header_is_refused(guarded: Emulator) -> None:
    """A no-cors GET (an <img>, a <script>) sends no Origin but says where it comes from."""
    import httpx

    for site in ("cross-site", "same-site"):
        resp = httpx.get(guarded.endpoint_url + "/", headers={"Sec-Fetch-Site": site})
        assert resp.status_code == 403, site


def test_a_request_signed_with_another_access_key_is_refused(guarded: Emulator) -> None:
    import httpx

    name, token = stored_token(guarded)
    with pytest.raises(ClientError) as refused:
        keyed("secretsmanager", guarded, access_key="testing").get_secret_value(SecretId=name)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert token not in json.dumps(refused.value.response, default=str)
    unsigned = httpx.post(
        guarded.endpoint_url + "/",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        },
        content=json.dumps({"SecretId": name}),
    )
    assert unsigned.status_code == 403 and token not in unsigned.text


def test_an_unsigned_reset_of_all_state_is_refused(guarded: Emulator) -> None:
    import httpx

    name, token = stored_token(guarded)
    assert httpx.post(guarded.endpoint_url + "/moto-api/reset").status_code == 403
    secret = keyed("secretsmanager", guarded).get_secret_value(SecretId=name)
    assert secret["SecretString"] == token


def test_the_access_key_is_random_per_run() -> None:
    first, second = start_emulator(None), start_emulator(None)
    try:
        assert first.access_key != second.access_key and len(first.access_key) >= 32
        with pytest.raises(ClientError):
            keyed("sqs", second, access_key=first.access_key).list_queues()
        answer = keyed("sqs", second).list_queues()
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        first.stop()
        second.stop()


def test_kilns_own_requests_are_served_over_http_and_in_process(tmp_path: Path) -> None:
    running = start_emulator(tmp_path / "data")
    try:
        sm = keyed("secretsmanager", running)
        sm.create_secret(Name="kiln/x", SecretString="over-http")
        running.serve_in_process()
        in_process = keyed("secretsmanager", running)
        assert in_process.get_secret_value(SecretId="kiln/x")["SecretString"] == "over-http"
        with pytest.raises(ClientError):
            keyed("secretsmanager", running, access_key="testing").get_secret_value(
                SecretId="kiln/x"
            )
    finally:
        running.stop()


def test_no_object_is_readable_without_the_key_however_the_path_is_spelled(
    guarded: Emulator,
) -> None:
    import http.client
    from urllib.parse import urlsplit

    s3 = keyed("s3", guarded)
    bucket = unique("kiln-b")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="sites/d-1/index.html", Body=b"<h1>site</h1>")
    s3.put_object(Bucket=bucket, Key="projects/p/blobs/secret", Body=b"private")
    host = urlsplit(guarded.endpoint_url).netloc
    for path in (
        f"/{bucket}/projects/p/blobs/secret",
        f"/{bucket}/sites/../projects/p/blobs/secret",
        f"/{bucket}/sites/%2e%2e/projects/p/blobs/secret",
        f"/{bucket}/sites/d-1/index.html",
        f"/{bucket}?list-type=2",
    ):
        conn = http.client.HTTPConnection(host, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            status, body = resp.status, resp.read()
        finally:
            conn.close()
        assert status == 403 and b"private" not in body and b"secret" not in body, path
        assert b"AccessDeniedException" in body, path  # refused by kiln, before moto


def test_queries_and_updates_of_one_partition_in_many_threads_never_fail(
    tmp_path: Path,
) -> None:
    """kiln dev answers its own threads in process: a query that deep-copies an item while
    another thread's update changes it got a 500 from moto before DynamoDB took turns."""
    import threading

    running = start_emulator(None, access_key=KEY)
    running.serve_in_process()
    try:
        ddb = client("dynamodb", running.endpoint_url)
        table = unique("race")
        create_table(ddb, table)
        errors: list[str] = []
        writing = threading.Event()

        def update(n: int) -> None:
            each = client("dynamodb", running.endpoint_url)
            for i in range(300):
                try:
                    each.update_item(
                        TableName=table,
                        Key=key("p", f"{n}-{i % 3}"),
                        UpdateExpression=f"SET a{i % 2000} = :v REMOVE a{(i + 1000) % 2000}",
                        ExpressionAttributeValues={":v": {"S": "x" * 50}},
                    )
                except Exception as exc:  # in process, moto's own error arrives as it is
                    errors.append(repr(exc))

        def query() -> None:
            each = client("dynamodb", running.endpoint_url)
            while writing.is_set():
                try:
                    each.query(
                        TableName=table,
                        KeyConditionExpression="PK = :p",
                        ExpressionAttributeValues={":p": {"S": "p"}},
                    )
                except Exception as exc:  # in process, moto's own error arrives as it is
                    errors.append(repr(exc))

        writing.set()
        writers = [threading.Thread(target=update, args=(n,)) for n in range(3)]
        readers = [threading.Thread(target=query) for _ in range(3)]
        for t in writers + readers:
            t.start()
        for t in writers:
            t.join()
        writing.clear()
        for t in readers:
            t.join()
        assert errors == []
    finally:
        running.stop()


def test_a_dynamodb_write_wakes_whoever_waits_for_one(tmp_path: Path) -> None:
    """kiln dev's push stream pump sleeps until a write may have added a stream record,
    instead of asking the stream forty times a second."""
    import threading

    from kiln.local.emulator import DYNAMODB_WRITES

    running = start_emulator(None, access_key=KEY)
    running.serve_in_process()
    try:
        ddb = client("dynamodb", running.endpoint_url)
        table = unique("wake")
        create_table(ddb, table)
        seen = DYNAMODB_WRITES.count
        waiter = threading.Thread(target=DYNAMODB_WRITES.wait_past, args=(seen, 60.0))
        waiter.start()
        ddb.put_item(TableName=table, Item=key("p", "s"))
        waiter.join(timeout=30)
        assert not waiter.is_alive(), "the write did not wake the waiter"
        assert DYNAMODB_WRITES.count > seen
    finally:
        running.stop()
