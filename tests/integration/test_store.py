"""Store transitions on the moto server: conditional writes decide every race."""

from __future__ import annotations

from typing import Any

import pytest

from kiln.errors import Conflict, LeaseLost, NotFound
from kiln.job_control import sweep
from kiln.models import FileEntry, Framework, JobStatus
from kiln.sink import EventSink
from kiln.store import blobs, job_polls, projects, quotas
from kiln.store import jobs as store_jobs
from kiln.store.db import Store
from kiln.store.sessions import create_session, owner_for_token

pytestmark = pytest.mark.integration


def _job(store: Store, job_id: str = "j_1", owner: str = "o_a") -> str:
    store_jobs.create_job(store, job_id, {"kind": "generate", "owner": owner})
    return job_id


def test_session_token_is_stored_only_as_its_hash(store: Store) -> None:
    token, owner = create_session(store)
    items = store.ddb.scan(TableName=store.table)["Items"]
    assert token not in repr(items)
    assert owner_for_token(store, token) == owner
    assert owner_for_token(store, token + "x") is None


def test_a_job_is_claimed_once(store: Store) -> None:
    _job(store)
    assert store_jobs.claim_job(store, "j_1", "w1") is not None
    assert store_jobs.claim_job(store, "j_1", "w2") is None


def test_only_the_lease_owner_can_finish(store: Store) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    with pytest.raises(LeaseLost):
        store_jobs.finish_job(store, "j_1", "w2", JobStatus.succeeded, {})
    store_jobs.finish_job(store, "j_1", "w1", JobStatus.succeeded, {"version": 1})
    assert store_jobs.get_job(store, "j_1")["status"] == "succeeded"


def test_another_owners_job_is_not_found(store: Store) -> None:
    _job(store, owner="o_a")
    with pytest.raises(NotFound):
        store_jobs.get_job(store, "j_1", owner="o_b")


def test_heartbeat_reports_a_cancel_request(store: Store) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    assert store_jobs.heartbeat(store, "j_1", "w1") is False
    assert store_jobs.request_cancel(store, "j_1", "o_a") == "running"
    assert store_jobs.heartbeat(store, "j_1", "w1") is True


def test_cancelling_a_queued_job_cancels_it_at_once(store: Store) -> None:
    _job(store)
    assert store_jobs.request_cancel(store, "j_1", "o_a") == "cancelled"
    assert store_jobs.claim_job(store, "j_1", "w1") is None


def test_events_come_back_in_order_after_a_sequence_number(store: Store) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    sink = EventSink(store, "j_1", "w1", start_seq=0)
    for i in range(50):
        sink.add({"type": "text", "text": f"t{i}"})
        if i % 7 == 0:
            sink.flush()
    sink.close()
    events = store_jobs.read_events(store, "j_1", after=0)
    assert [e["seq"] for e in events] == list(range(1, 51))
    assert [e["seq"] for e in store_jobs.read_events(store, "j_1", after=23)] == list(range(24, 51))
    assert store_jobs.last_event_seq(store, "j_1") == 50


def _count_reads(store: Store) -> list[str]:
    """The DynamoDB operations `store` sends from now on, as botocore announces them."""
    calls: list[str] = []
    store.ddb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    return calls


def _events_job(store: Store, n: int, finish: bool) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    sink = EventSink(store, "j_1", "w1", start_seq=0)
    for i in range(n):
        sink.add({"type": "text", "text": f"t{i}"})
        sink.flush()
    sink.close()
    if finish:
        store_jobs.finish_job(store, "j_1", "w1", JobStatus.succeeded, {"version": 1})


def test_a_poll_of_a_running_job_is_one_query(store: Store) -> None:
    _events_job(store, 5, finish=False)
    calls = _count_reads(store)
    job, events = job_polls.poll_job(store, "j_1", "o_a", after=2)
    assert job["status"] == "running" and [e["seq"] for e in events] == [3, 4, 5]
    job, events = job_polls.poll_job(store, "j_1", "o_a", after=5)
    assert job["status"] == "running" and events == []
    assert calls == ["Query", "Query"]


def test_a_reload_of_a_running_job_reads_only_the_batches_this_process_has_not_seen(
    store: Store,
) -> None:
    _events_job(store, 5, finish=False)
    job_polls.poll_job(store, "j_1", "o_a", after=0)
    sink = EventSink(store, "j_1", "w1", start_seq=5)
    sink.add({"type": "text", "text": "six"})
    sink.close()
    starts: list[Any] = []
    store.ddb.meta.events.register(
        "before-parameter-build.dynamodb.Query",
        lambda params, **_: starts.append(params.get("ExpressionAttributeValues")),
    )
    _, events = job_polls.poll_job(store, "j_1", "o_a", after=0)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [values[":after"]["S"] for values in starts] == ["EVENT#00000005"]


def test_every_poll_returns_exactly_the_events_a_fresh_read_returns(store: Store) -> None:
    _events_job(store, 6, finish=False)
    for after in (4, 0, 2, 6, 1, 0):
        _, events = job_polls.poll_job(store, "j_1", "o_a", after=after)
        assert events == store_jobs.read_events(store, "j_1", after)


def test_a_finished_job_is_polled_from_memory_after_its_first_poll(store: Store) -> None:
    _events_job(store, 5, finish=True)
    first = job_polls.poll_job(store, "j_1", "o_a", after=3)
    calls = _count_reads(store)
    for after in (0, 3, 5):
        job, events = job_polls.poll_job(store, "j_1", "o_a", after=after)
        assert job == first[0] and [e["seq"] for e in events] == list(range(after + 1, 6))
    assert calls == []


def test_another_owner_polling_a_remembered_finished_job_gets_404(store: Store) -> None:
    _events_job(store, 2, finish=True)
    job_polls.poll_job(store, "j_1", "o_a", after=0)
    with pytest.raises(NotFound):
        job_polls.poll_job(store, "j_1", "o_b", after=0)


def test_event_writes_grow_with_flushes_not_with_events(store: Store) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    sink = EventSink(store, "j_1", "w1", start_seq=0)
    for _ in range(2000):
        sink.add({"type": "file_chunk", "path": "a", "text": "x" * 8})
    sink.close()
    assert sink.writes <= 6
    events = store_jobs.read_events(store, "j_1", after=0)
    assert "".join(e["text"] for e in events) == "x" * 16_000
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_sweeper_requeues_a_stale_job_then_fails_it_after_max_attempts(store: Store) -> None:
    _job(store)
    for attempt in range(1, store.settings.max_attempts + 1):
        assert store_jobs.claim_job(store, "j_1", f"w{attempt}") is not None
        counts = sweep(store, cutoff_s=0.0)
        expected = "requeued" if attempt < store.settings.max_attempts else "failed"
        assert counts[expected] == 1
    job = store_jobs.get_job(store, "j_1")
    assert job["status"] == "failed" and job["error_code"] == "worker_lost"
    messages = store.sqs.receive_message(
        QueueUrl=store.settings.generate_queue_url, MaxNumberOfMessages=10
    ).get("Messages", [])
    assert len(messages) == store.settings.max_attempts - 1


def test_a_swept_worker_loses_its_lease(store: Store) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    sweep(store, cutoff_s=0.0)
    with pytest.raises(LeaseLost):
        store_jobs.heartbeat(store, "j_1", "w1")


def test_a_swept_worker_cannot_write_events_between_its_successors(store: Store) -> None:
    _job(store)
    store_jobs.claim_job(store, "j_1", "w1")
    zombie = EventSink(store, "j_1", "w1", start_seq=0)
    zombie.add({"type": "text", "text": "before"})
    zombie.flush()
    sweep(store, cutoff_s=0.0)
    store_jobs.claim_job(store, "j_1", "w2")
    successor = EventSink(store, "j_1", "w2", store_jobs.last_event_seq(store, "j_1"))
    zombie.add({"type": "text", "text": "late"})
    with pytest.raises(LeaseLost):
        zombie.flush()
    successor.add({"type": "text", "text": "after"})
    successor.close()
    zombie.abandon()
    events = store_jobs.read_events(store, "j_1", after=0)
    assert [(e["seq"], e["text"]) for e in events] == [(1, "before"), (2, "after")]


def test_a_version_number_is_written_once(store: Store) -> None:
    p = projects.create_project(store, owner="o_a", name="x", framework=Framework.react)
    manifest = {"a.txt": FileEntry(sha256="0" * 64, size=1)}
    kwargs = {"manifest": manifest, "parent": None, "prompt": "p", "job_id": None}
    projects.put_version(store, p["project_id"], 1, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as err:
        projects.put_version(store, p["project_id"], 1, **kwargs)  # type: ignore[arg-type]
    assert err.value.code == "version_conflict"
    assert err.value.details == {"current_version": 1}


def test_the_latest_pointer_never_moves_back(store: Store) -> None:
    p = projects.create_project(store, owner="o_a", name="x", framework=Framework.vue)
    pid = p["project_id"]
    for n in (2, 1):
        projects.put_version(store, pid, n, manifest={}, parent=None, prompt=None, job_id=None)
    assert projects.get_project(store, pid, "o_a")["latest_version"] == 2


def test_blobs_are_content_addressed_and_unchanged_files_are_not_uploaded(store: Store) -> None:
    first = blobs.put_files(store, "p_1", {"a": "same", "b": "one"})
    second = blobs.put_files(store, "p_1", {"a": "same", "b": "two"}, known=first)
    assert first["a"] == second["a"] and first["b"] != second["b"]
    keys = [o["Key"] for o in store.s3.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert len(keys) == 3
    assert blobs.get_files(store, "p_1", second) == {"a": "same", "b": "two"}


def test_daily_quota_refuses_past_the_limit(store: Store) -> None:
    for _ in range(3):
        quotas.take(store, "o_a", limit=3)
    with pytest.raises(Exception) as err:
        quotas.take(store, "o_a", limit=3)
    assert getattr(err.value, "code", "") == "quota_exceeded"


def test_a_jobs_event_batches_expire_with_the_job_after_the_configured_days(
    store: Store,
) -> None:
    short = Store(store.settings.model_copy(update={"job_ttl_days": 2}))
    _job(short)
    store_jobs.append_events(short, "j_1", [{"seq": 1, "type": "status"}])
    items = short.ddb.scan(TableName=short.table)["Items"]
    ttl = {item["SK"]["S"]: int(item["expires_at"]["N"]) for item in items if "expires_at" in item}
    assert ttl["EVENT#00000001"] == pytest.approx(ttl["META"], abs=5)
    assert ttl["META"] - int(store_jobs.now()) == pytest.approx(2 * 86400, abs=5)


def test_a_write_that_fails_for_another_reason_is_not_taken_for_a_lost_race(
    store: Store,
) -> None:
    from botocore.exceptions import ClientError

    gone = Store(store.settings.model_copy(update={"table_name": "kiln-no-such-table"}))
    with pytest.raises(ClientError) as caught:
        store_jobs.claim_job(gone, "j_1", "w1")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
