"""Conversations of the original interface: a client's `session_id` names one owner, one
project and the context the client set (`CONVERSATION#<sha256(id)>/META`, TTL 30 days).

The id is the client's and is a credential like a token (a token-less reconnect with it
continues the conversation as its owner), so only its hash is stored and it must be long
enough not to be guessed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kiln.errors import Conflict
from kiln.store.db import Store, from_item, now, now_iso, to_item, to_values

TTL_S = 30 * 86400


def _key(session_id: str) -> dict[str, Any]:
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    return to_item({"PK": f"CONVERSATION#{digest}", "SK": "META"})


def get_conversation(store: Store, session_id: str) -> dict[str, Any] | None:
    resp = store.ddb.get_item(TableName=store.table, Key=_key(session_id), ConsistentRead=True)
    return from_item(resp["Item"]) if "Item" in resp else None


def open_conversation(store: Store, session_id: str, owner: str) -> dict[str, Any]:
    """The conversation, made for `owner` if new; another owner's is refused."""
    item = {"owner": owner, "created_at": now_iso(), "expires_at": int(now()) + TTL_S}
    try:
        store.ddb.put_item(
            TableName=store.table,
            Item={**_key(session_id), **to_item(item)},
            ConditionExpression="attribute_not_exists(PK)",
        )
        return item
    except store.ddb.exceptions.ConditionalCheckFailedException:
        existing = get_conversation(store, session_id)
    if existing is None or existing["owner"] != owner:
        raise Conflict(
            "this session_id belongs to another session; reconnect without a token or "
            "choose a new session_id",
            code="session_taken",
        )
    return existing


def update_conversation(store: Store, session_id: str, **fields: Any) -> None:
    """Set the project, framework or context (None removes a field); refreshes the TTL."""
    fields["expires_at"] = int(now()) + TTL_S
    sets = [f"#{k} = :{k}" for k, v in fields.items() if v is not None]
    removes = [f"#{k}" for k, v in fields.items() if v is None]
    expression = ("SET " + ", ".join(sets)) + (" REMOVE " + ", ".join(removes) if removes else "")
    store.ddb.update_item(
        TableName=store.table,
        Key=_key(session_id),
        UpdateExpression=expression,
        ExpressionAttributeNames={f"#{k}": k for k in fields},
        ExpressionAttributeValues=to_values(
            {f":{k}": v for k, v in fields.items() if v is not None}
        ),
        ConditionExpression="attribute_exists(PK)",
    )
