"""DynamoDB tables the emulator tests make on the fly."""

from __future__ import annotations

import uuid
from typing import Any


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_table(ddb: Any, name: str, index_key: str | None = None) -> None:
    """PK/SK; with `index_key`, also a global index `GIX` on that attribute."""
    extra: dict[str, Any] = {}
    attributes = [
        {"AttributeName": "PK", "AttributeType": "S"},
        {"AttributeName": "SK", "AttributeType": "S"},
    ]
    if index_key:
        attributes.append({"AttributeName": index_key, "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "GIX",
                "KeySchema": [{"AttributeName": index_key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
