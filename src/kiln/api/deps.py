"""FastAPI dependencies: the store and the calling owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kiln import cognito
from kiln.errors import Unauthorized
from kiln.store.db import Store as StoreT
from kiln.store.sessions import cached_owner, mark_seen, owner_for_token, seen_recently

# The dependencies are `async` so FastAPI runs them on the event loop: a plain `def` costs
# a thread-pool hop each, on every request. Only a session read leaves the loop.


async def get_store(request: Request) -> StoreT:
    return request.app.state.store  # type: ignore[no-any-return]


Store = Annotated[StoreT, Depends(get_store)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def get_owner(request: Request, store: Store) -> str:
    """The owner of the bearer token; Cognito's JWT `sub` where API Gateway verified one."""
    claims = (
        request.scope.get("aws.event", {})
        .get("requestContext", {})
        .get("authorizer", {})
        .get("jwt", {})
        .get("claims", {})
    )
    if claims.get("sub"):
        member = cognito.owner(str(claims["sub"]))
        if not seen_recently(member):
            await run_in_threadpool(mark_seen, store, member)
        return member
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/sessions gives one)")
    owner = cached_owner(token) or await run_in_threadpool(owner_for_token, store, token)
    if owner is None:
        raise Unauthorized("the session token is not valid")
    return owner


Owner = Annotated[str, Depends(get_owner)]
