"""Rate limits for routes that start work: per owner, and per client address where a call
can mint its own owner. One atomic counter per subject per minute.

Each counted request is a single DynamoDB `ADD` on `RATE#subject#minute/META` (TTL two
minutes later), so concurrent Lambda instances share the count without a lock. The
limit is a fixed window: cheap and good enough to stop a script from queueing jobs
faster than a person could; the daily quota (kiln.store.quotas) and the operator's daily
spend ceiling (kiln.spend) cap the totals.

An owner is free (`POST /api/sessions`, or any token-less legacy call), so owners alone
count nothing against a script: session minting and every request that starts work are
counted per client address too, all of the address's owners together. The address is
the socket peer (API Gateway's `sourceIp` on Lambda); `X-Forwarded-For` is believed only
for `KILN_TRUSTED_PROXY_HOPS` proxies in front (CloudFront on AWS), never as the client
says it.
"""

from __future__ import annotations

import ipaddress

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kiln.api.deps import Owner, Store
from kiln.errors import RateLimited
from kiln.store.db import Store as StoreT
from kiln.store.db import from_item, now, to_item, to_values

WINDOW_S = 60


def count_request(store: StoreT, owner: str, limit: int, at: float | None = None) -> int:
    """Count one request of `owner` in the current minute; raise RateLimited past `limit`."""
    t = now() if at is None else at
    minute = int(t // WINDOW_S)
    resp = store.ddb.update_item(
        TableName=store.table,
        Key=to_item({"PK": f"RATE#{owner}#{minute}", "SK": "META"}),
        UpdateExpression="ADD #n :one SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeNames={"#n": "requests"},
        ExpressionAttributeValues=to_values({":one": 1, ":ttl": (minute + 2) * WINDOW_S}),
        ReturnValues="UPDATED_NEW",
    )
    used = int(from_item(resp["Attributes"])["requests"])
    if used > limit:
        retry_after = max(1, (minute + 1) * WINDOW_S - int(t))
        raise RateLimited(
            f"more than {limit} requests in a minute; try again in {retry_after} s",
            code="rate_limited",
            retry_after=retry_after,
        )
    return used


def address_subject(address: str) -> str:
    """The counter's subject for an address; IPv6 counts per /64, what one host is given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address}"
    if ip.version == 6:
        return f"ip:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"ip:{ip}"


def peer_address(
    peer: str, forwarded_for: str, trusted_hops: int, aws_event: dict[str, object] | None
) -> str:
    """The client's address: the connection's peer, or the entry `trusted_hops` proxies
    back in X-Forwarded-For (each trusted proxy appends the address it saw)."""
    context = (aws_event or {}).get("requestContext")
    if isinstance(context, dict):
        http = context.get("http") or context.get("identity") or {}
        peer = str(http.get("sourceIp") or peer)
    if trusted_hops <= 0:
        return peer
    chain = [p.strip() for p in forwarded_for.split(",") if p.strip()]
    if not chain or chain[-1] != peer:
        chain.append(peer)
    return chain[-(trusted_hops + 1)] if len(chain) > trusted_hops else peer


def client_address(request: Request, trusted_hops: int) -> str:
    return peer_address(
        request.client.host if request.client else "unknown",
        request.headers.get("x-forwarded-for", ""),
        trusted_hops,
        request.scope.get("aws.event"),
    )


def count_address(store: StoreT, address: str) -> int:
    return count_request(
        store, address_subject(address), store.settings.address_rate_limit_per_minute
    )


def rate_limit(request: Request, store: Store, owner: Owner) -> None:
    """FastAPI dependency: count the caller's request per owner and per client address."""
    count_request(store, owner, store.settings.rate_limit_per_minute)
    count_address(store, client_address(request, store.settings.trusted_proxy_hops))


async def address_rate_limit(request: Request, store: Store) -> None:
    """FastAPI dependency: count the request against its client address's limit."""
    address = client_address(request, store.settings.trusted_proxy_hops)
    await run_in_threadpool(count_address, store, address)


# `dependencies=[RATE_LIMITED]` on a route decorator; the owner is resolved once per request.
RATE_LIMITED = Depends(rate_limit)
ADDRESS_LIMITED = Depends(address_rate_limit)
