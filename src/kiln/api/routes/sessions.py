from __future__ import annotations

from fastapi import APIRouter

from kiln.api.deps import Store
from kiln.api.limits import ADDRESS_LIMITED
from kiln.models import SessionPublic
from kiln.store.sessions import create_session

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


@router.post("", status_code=201, response_model=SessionPublic, dependencies=[ADDRESS_LIMITED])
def new_session(store: Store) -> SessionPublic:
    """Create an anonymous owner; keep the token, it is shown once."""
    token, _ = create_session(store)
    return SessionPublic(token=token)
