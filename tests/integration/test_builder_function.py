"""On AWS the worker that holds kiln's credentials never builds: it hands the files to
the builder function (no data permission) through presigned URLs and reads the result
back. Lambda is the fake in tests/fakes/lambda_server.py, which runs the real handler
in a process with no AWS credentials."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from kiln.config import Settings
from kiln.gate.builder import INSTALLS, STAGING, BuilderFailed, build_version
from kiln.gate.queue import request_build, run_build_job
from kiln.generate import save_version
from kiln.models import Framework
from kiln.store import projects
from kiln.store.db import Store
from tests.fakes.lambda_server import FakeLambda
from tests.integration.test_build import vanilla
from tests.tools import needs

pytestmark = [pytest.mark.integration, needs("npm")]


@pytest.fixture
def remote(settings: Settings, fake_lambda: FakeLambda) -> Store:
    return Store(
        settings.model_copy(
            update={
                "builder_function": "kiln-builder",
                "lambda_endpoint_url": fake_lambda.url,
                "render_check": False,
            }
        )
    )


def _staged(store: Store) -> list[str]:
    listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=STAGING)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_the_gate_builds_a_version_in_the_builder_function(
    remote: Store, fake_lambda: FakeLambda
) -> None:
    project = projects.create_project(remote, owner="o", name="t", framework=Framework.vanilla)
    files = vanilla("document.querySelector('#app').textContent = 'built-remotely';\n")
    n = save_version(remote, project["project_id"], files, parent=None, prompt="t", job_id=None)
    job_id = request_build(remote, project["project_id"], n, "o")
    assert job_id is not None
    assert run_build_job(remote, job_id) == "succeeded"
    item = projects.get_version_item(remote, project["project_id"], n)
    assert item["build"] == "green", item.get("build_errors")
    assert len(fake_lambda.invocations) == 1


def test_the_builder_gets_urls_not_credentials_and_its_staging_is_removed(
    remote: Store, fake_lambda: FakeLambda
) -> None:
    built = build_version(remote, vanilla("console.log('x');\n"), framework="vanilla", base="./")
    assert built.result.ok, built.result.log
    assert "index.html" in built.result.dist
    (call,) = fake_lambda.invocations
    assert call["path"] == "/2015-03-31/functions/kiln-builder/invocations"
    assert set(call["event"]) == {
        "input_url",
        "output_url",
        "framework",
        "base",
        "render",
        "install",
    }
    assert set(call["event"]["install"]) == {"put_url"}
    assert "X-Amz-Signature=" in call["event"]["input_url"]
    assert not [k for k in fake_lambda.environments[0] if k.startswith("AWS_")]
    assert _staged(remote) == []


def test_a_builder_function_that_fails_is_a_builder_failed_error(
    remote: Store, fake_lambda: FakeLambda
) -> None:
    fake_lambda.env["KILN_BUILD_SANDBOX"] = "not-a-mode"  # the handler raises at start
    with pytest.raises(BuilderFailed) as caught:
        build_version(remote, vanilla("console.log('x');\n"), framework="vanilla", base="./")
    assert caught.value.code == "builder_failed"
    assert _staged(remote) == []


def test_an_answer_that_is_not_a_build_is_refused(remote: Store) -> None:
    from kiln.gate.builder import _unpack

    with pytest.raises(BuilderFailed):
        _unpack(json.loads('{"ok": true, "dist": "not a mapping"}'))


# --- shared installs (kiln.gate.installs) ---------------------------------------------


def _installs(store: Store) -> list[str]:
    listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=INSTALLS)
    return [o["Key"] for o in listed.get("Contents", [])]


def _builder_entries(fake_lambda: FakeLambda) -> list[Path]:
    return list(Path(fake_lambda.env["KILN_INSTALL_CACHE_DIR"]).glob("*.tar"))


def test_an_install_is_shared_through_s3_and_the_next_build_restores_it(
    remote: Store, fake_lambda: FakeLambda
) -> None:
    first = build_version(remote, vanilla("console.log(1);\n"), framework="vanilla", base="./")
    assert first.result.ok, first.result.log
    assert "install cached" in first.result.log and "; shared" in first.result.log
    assert len(_installs(remote)) == 1

    second = build_version(remote, vanilla("console.log(2);\n"), framework="vanilla", base="./")

    assert second.result.ok, second.result.log
    assert set(fake_lambda.invocations[1]["event"]["install"]) == {"get_url", "md5"}
    assert "node_modules from the install cache" in second.result.log
    assert "$ install" not in second.result.log


def test_a_builder_tmp_entry_unlike_the_shared_one_is_not_used(
    remote: Store, fake_lambda: FakeLambda
) -> None:
    """An earlier invocation's build could have written /tmp: only S3's entry counts."""
    assert build_version(remote, vanilla("1;\n"), framework="vanilla", base="./").result.ok
    (entry,) = _builder_entries(fake_lambda)
    entry.write_bytes(b"planted by an earlier build")

    second = build_version(remote, vanilla("2;\n"), framework="vanilla", base="./")

    assert second.result.ok, second.result.log
    assert "differs from the stored one" in second.result.log
    assert "node_modules from the shared install cache" in second.result.log
    assert "$ install" not in second.result.log


def test_a_shared_install_cannot_be_overwritten_through_its_put_url(
    remote: Store, fake_lambda: FakeLambda
) -> None:
    assert build_version(remote, vanilla("1;\n"), framework="vanilla", base="./").result.ok
    put_url = fake_lambda.invocations[0]["event"]["install"]["put_url"]
    (key,) = _installs(remote)
    before = remote.s3.get_object(Bucket=remote.bucket, Key=key)["Body"].read()

    again = httpx.put(put_url, content=b"a poisoned tree", headers={"If-None-Match": "*"})

    assert again.status_code == 412
    assert remote.s3.get_object(Bucket=remote.bucket, Key=key)["Body"].read() == before
