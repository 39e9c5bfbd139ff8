"""kiln.local.resources: the template's table, bucket and queues, created on an emulator.

Unit tests: moto in-process (no sockets); the template is the real infra/template.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from kiln.local.resources import create_resources, load_template, queue_name

REGION = "us-east-1"


@pytest.fixture
def clients() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield {
            service: boto3.client(service, region_name=REGION)
            for service in ("dynamodb", "s3", "sqs")
        }


@pytest.fixture
def created(clients: dict[str, Any]) -> dict[str, str]:
    return create_resources(clients, table_name="t", bucket="bkt", prefix="p")


def template_resource(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = load_template()["Resources"][logical_id]["Properties"]
    return props


def test_short_form_tags_become_long_form_intrinsics(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "A: !Ref Thing\nB: !GetAtt Queue.Arn\nC: !Sub 'x-${AWS::Region}'\n"
        "D: !If [Cond, !Ref X, !Ref AWS::NoValue]\n"
    )
    assert load_template(path) == {
        "A": {"Ref": "Thing"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::Sub": "x-${AWS::Region}"},
        "D": {"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]},
    }


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("- just a list\n")
    with pytest.raises(ValueError, match="not a CloudFormation template"):
        load_template(path)


def test_queue_names_follow_logical_ids() -> None:
    assert queue_name("kiln", "GenerateQueue") == "kiln-generate"
    assert queue_name("kiln", "GenerateDLQ") == "kiln-generate-dlq"
    assert queue_name("x", "DeployQueue") == "x-deploy"


def test_returns_the_names_and_queue_urls_the_settings_need(created: dict[str, str]) -> None:
    assert created["table"] == "t"
    assert created["bucket"] == "bkt"
    assert created["generate_queue_url"].endswith("/p-generate")
    assert created["deploy_queue_url"].endswith("/p-deploy")


def test_table_has_the_template_key_schema_and_indexes(
    clients: dict[str, Any], created: dict[str, str]
) -> None:
    props = template_resource("Table")
    table = clients["dynamodb"].describe_table(TableName="t")["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    indexes = {g["IndexName"]: g["KeySchema"] for g in table["GlobalSecondaryIndexes"]}
    assert indexes == {g["IndexName"]: g["KeySchema"] for g in props["GlobalSecondaryIndexes"]}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_table_expires_items_by_expires_at(
    clients: dict[str, Any], created: dict[str, str]
) -> None:
    ttl = clients["dynamodb"].describe_time_to_live(TableName="t")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_queues_redrive_to_their_dead_letter_queue(
    clients: dict[str, Any], created: dict[str, str]
) -> None:
    sqs = clients["sqs"]
    for key, dlq in (
        ("generate_queue_url", "p-generate-dlq"),
        ("deploy_queue_url", "p-deploy-dlq"),
    ):
        attrs = sqs.get_queue_attributes(QueueUrl=created[key], AttributeNames=["All"])
        redrive = json.loads(attrs["Attributes"]["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(f":{dlq}")
        assert redrive["maxReceiveCount"] == 3


def test_queue_visibility_timeout_comes_from_the_template(
    clients: dict[str, Any], created: dict[str, str]
) -> None:
    attrs = clients["sqs"].get_queue_attributes(
        QueueUrl=created["generate_queue_url"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attrs["VisibilityTimeout"] == str(
        template_resource("GenerateQueue")["VisibilityTimeout"]
    )


def test_bucket_is_versioned_and_private(clients: dict[str, Any], created: dict[str, str]) -> None:
    s3 = clients["s3"]
    assert s3.get_bucket_versioning(Bucket="bkt")["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket="bkt")["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_bucket_expires_previews_builder_staging_and_shared_installs(
    clients: dict[str, Any], created: dict[str, str]
) -> None:
    rules = clients["s3"].get_bucket_lifecycle_configuration(Bucket="bkt")["Rules"]
    expiring = {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules if "Expiration" in r}
    assert expiring == {"previews/": 7, "builds-tmp/": 1, "installs/": 14}


def test_creating_again_keeps_existing_resources_and_data(
    clients: dict[str, Any], created: dict[str, str]
) -> None:
    clients["dynamodb"].put_item(TableName="t", Item={"PK": {"S": "A"}, "SK": {"S": "META"}})
    clients["s3"].put_object(Bucket="bkt", Key="k", Body=b"v")

    again = create_resources(clients, table_name="t", bucket="bkt", prefix="p")

    assert again == created
    assert "Item" in clients["dynamodb"].get_item(
        TableName="t", Key={"PK": {"S": "A"}, "SK": {"S": "META"}}
    )
    assert clients["s3"].get_object(Bucket="bkt", Key="k")["Body"].read() == b"v"


def test_a_table_from_an_older_template_gains_the_missing_indexes(
    clients: dict[str, Any],
) -> None:
    props = template_resource("Table")
    clients["dynamodb"].create_table(
        TableName="old",
        AttributeDefinitions=props["AttributeDefinitions"][:2],
        KeySchema=props["KeySchema"],
        BillingMode="PAY_PER_REQUEST",
    )

    create_resources(clients, table_name="old", bucket="bkt", prefix="p")

    table = clients["dynamodb"].describe_table(TableName="old")["Table"]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2"}


def test_a_session_with_an_endpoint_makes_its_own_clients() -> None:
    with mock_aws():
        names = create_resources(
            boto3.session.Session(), table_name="s", bucket="sbkt", region=REGION
        )
        ddb = boto3.client("dynamodb", region_name=REGION)
        assert ddb.describe_table(TableName=names["table"])["Table"]["TableStatus"] == "ACTIVE"
