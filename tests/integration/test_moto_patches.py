"""Each of the emulator's patches of moto internals (kiln.local.emulator.moto_patches) is
held here to moto's own answers, and the patches refuse a moto they were not checked on."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from kiln.local.emulator import moto_patches
from tests.integration.tables import create_table, unique

pytestmark = pytest.mark.integration


def test_dynamodb_answers_are_the_same_as_motos_own_serializer(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator dumps moto's DynamoDB results directly instead of walking the service
    model; every answer of this tour of the API must decode to what moto would send."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    fast = DynamoResult.execute_result
    assert fast is moto_patches._dump_dynamodb_result, "the emulator did not install its dump"
    compared: list[str] = []
    differ: list[tuple[Any, Any]] = []

    def both(self: ActionResult, context: Any) -> Any:
        ours = fast(self, context)
        theirs = ActionResult.execute_result(self, context)
        compared.append(context.operation_model.name)
        if (ours[0], json.loads(ours[2])) != (theirs[0], json.loads(theirs[2])):
            differ.append((context.operation_model.name, ours[2], theirs[2]))
        return ours

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = unique("t")
    create_table(ddb, table, index_key="G")
    every_type = {
        "s": {"S": "text é"},
        "n": {"N": "12.5"},
        "b": {"B": b"\x00\xffbytes"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"NULL": True}, {"BOOL": False}]}}},
        "G": {"S": "g"},
    }
    for i in range(5):
        ddb.put_item(TableName=table, Item={"PK": {"S": "p"}, "SK": {"S": f"s{i}"}, **every_type})
    key = {"PK": {"S": "p"}, "SK": {"S": "s0"}}
    ddb.get_item(TableName=table, Key=key, ConsistentRead=True)
    ddb.get_item(TableName=table, Key={"PK": {"S": "none"}, "SK": {"S": "none"}})
    ddb.get_item(TableName=table, Key=key, ProjectionExpression="m.inner, b")
    ddb.query(
        TableName=table,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Limit=2,
        ReturnConsumedCapacity="TOTAL",
    )
    ddb.query(
        TableName=table,
        IndexName="GIX",
        KeyConditionExpression="G = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
        Select="COUNT",
    )
    ddb.scan(TableName=table, Limit=3)
    ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET s = :s",
        ExpressionAttributeValues={":s": {"S": "y"}},
    )
    ddb.put_item(
        TableName=table, Item={"PK": {"S": "p"}, "SK": {"S": "s1"}}, ReturnValues="ALL_OLD"
    )
    ddb.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
    ddb.batch_get_item(RequestItems={table: {"Keys": [{"PK": {"S": "p"}, "SK": {"S": "s2"}}]}})
    ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": table, "Key": {"PK": {"S": "p"}, "SK": {"S": "s3"}}}}]
    )
    ddb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"PK": {"S": "q"}, "SK": {"S": "1"}}}}]}
    )
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"PK": {"S": "q"}, "SK": {"S": "2"}}}}]
    )
    ddb.describe_table(TableName=table)
    ddb.delete_table(TableName=table)

    assert not differ, differ[:2]
    assert {
        "GetItem",
        "Query",
        "Scan",
        "UpdateItem",
        "PutItem",
        "DeleteItem",
        "BatchGetItem",
        "TransactGetItems",
    } <= set(compared)


def test_a_table_query_answers_as_moto_does_from_its_partition_alone(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator starts a table query from its partition instead of sorting the whole
    table; the same queries must give the same pages as moto's own implementation."""
    from moto.dynamodb.models.table import Table

    assert Table.query is moto_patches._query_partition, "the emulator did not install its query"
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = unique("t")
    create_table(ddb, table)
    for p in range(4):
        for i in range(12):
            item = {"PK": {"S": f"p{p}"}, "SK": {"S": f"EVENT#{i:08d}"}, "n": {"N": str(i)}}
            ddb.put_item(TableName=table, Item=item)
        ddb.put_item(TableName=table, Item={"PK": {"S": f"p{p}"}, "SK": {"S": "META"}})

    def pages(**query: Any) -> list[list[dict[str, Any]]]:
        out, start = [], None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            resp = ddb.query(TableName=table, Limit=5, **query, **extra)
            out.append(resp["Items"])
            start = resp.get("LastEvaluatedKey")
            if not start:
                return out

    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p2"}}},
        {
            "KeyConditionExpression": "PK = :p AND SK > :s",
            "ExpressionAttributeValues": {":p": {"S": "p1"}, ":s": {"S": "EVENT#00000004"}},
            "ScanIndexForward": False,
        },
        {
            "KeyConditionExpression": "PK = :p AND SK BETWEEN :a AND :b",
            "FilterExpression": "n > :three",
            "ExpressionAttributeValues": {
                ":p": {"S": "p3"},
                ":a": {"S": "EVENT#00000002"},
                ":b": {"S": "EVENT#~"},
                ":three": {"N": "3"},
            },
            "ConsistentRead": True,
        },
        {
            "KeyConditionExpression": "PK = :p AND SK >= :s",
            "ExpressionAttributeValues": {":p": {"S": "p0"}, ":s": {"S": "EVENT#00000011"}},
        },
        {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
    ]
    handed: list[int] = []

    def partition(self: Table) -> Any:
        items = moto_patches._partition_items(self)
        handed.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", partition)
    ours = [pages(**q) for q in queries]
    # moto sorted and compared every item of the table (52) for each page; now only the
    # partition (13), from the sort key's lower bound where there is one: 9 of p1 from
    # EVENT#00000004, 11 of p3 from EVENT#00000002, 2 of p0 from EVENT#00000011.
    assert handed == [13, 13, 13, 9, 9, 11, 11, 11, 2, 0]
    monkeypatch.setattr(Table, "query", moto_patches._moto_query)
    assert ours == [pages(**q) for q in queries]
    assert [sum(map(len, p)) for p in ours] == [13, 8, 8, 2, 0]


def test_moto_lookups_cached_by_the_emulator_answer_as_moto_does(moto_endpoint: str) -> None:
    from moto import backends
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.responses import S3Response

    assert backends.list_of_moto_modules is moto_patches._moto_modules
    assert responses.method_names_from_class is moto_patches._method_names  # type: ignore[attr-defined]
    assert moto_patches._moto_modules() == frozenset(moto_patches._list_moto_modules())
    assert {"dynamodb", "s3", "sqs", "secretsmanager"} <= moto_patches._moto_modules()
    for handler in (DynamoHandler, S3Response):
        assert moto_patches._method_names(handler) == moto_patches._method_names_from_class(handler)


def test_the_patches_refuse_a_moto_minor_version_they_were_not_checked_against() -> None:
    with pytest.raises(RuntimeError) as caught:
        moto_patches.check_moto_version("5.3.0")
    assert "5.2" in str(caught.value) and "5.3.0" in str(caught.value)
    moto_patches.check_moto_version(moto_patches.CHECKED_MOTO + ".99")


def test_the_installed_moto_is_the_one_the_patches_were_checked_against() -> None:
    import moto

    moto_patches.check_moto_version(moto.__version__)
