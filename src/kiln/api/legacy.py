"""Callers of the original interface (`/ws/{session_id}`, `POST /api/generate`,
`POST /api/deploy`): who they are, which conversation they continue, and the generation
they start.

A caller is the owner of its bearer token; else, with a `session_id` already in use, that
conversation's owner (the id is the credential); else a new owner, whose token is handed
back once so the caller can read its jobs and projects on every route. Every call is
counted per client address, and per owner when it has one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kiln.api.limits import count_address, count_request
from kiln.errors import Unauthorized, Unprocessable
from kiln.frameworks import legacy_paths
from kiln.generate import context_text, start_generation
from kiln.models import Framework, GenerationAccepted, GenerationRequest
from kiln.store import conversations
from kiln.store.db import Store
from kiln.store.sessions import create_session, owner_for_token

SESSION_ID = re.compile(r"[A-Za-z0-9_.:-]{16,128}")


@dataclass
class Caller:
    owner: str
    token: str | None = None  # a new owner's token, handed back once
    session_id: str | None = None
    conversation: dict[str, Any] | None = None


def check_session_id(session_id: str) -> str:
    if not SESSION_ID.fullmatch(session_id):
        raise Unprocessable(
            "session_id must be 16 to 128 letters, digits or '_.:-' (a UUID is fine): it "
            "is the key to the conversation, so it must not be guessable",
            code="invalid_session_id",
        )
    return session_id


def resolve_caller(
    store: Store,
    address: str,
    token: str | None,
    session_id: str | None,
    verified_owner: str | None = None,
) -> Caller:
    """The caller, counted; its conversation opened (made on first use) when it names one.
    `verified_owner`: an owner already proved otherwise (a Cognito JWT), instead of a token."""
    if session_id is not None:
        check_session_id(session_id)
    count_address(store, address)
    owner = verified_owner or (owner_for_token(store, token) if token else None)
    if token and owner is None:
        raise Unauthorized("the session token is not valid")
    existing = conversations.get_conversation(store, session_id) if session_id else None
    if owner is None and existing is not None:
        owner = str(existing["owner"])
    new_token = None
    if owner is None:
        new_token, owner = create_session(store)
    else:
        count_request(store, owner, store.settings.rate_limit_per_minute)
    conversation = conversations.open_conversation(store, session_id, owner) if session_id else None
    return Caller(owner, new_token, session_id, conversation)


def legacy_code(framework: Framework, files: dict[str, str]) -> dict[str, str]:
    return {key: files.get(path, "") for key, path in legacy_paths(framework).items()}


def start_legacy_generation(
    store: Store,
    caller: Caller,
    prompt: str,
    framework: Framework,
    context: Any,
    provider: str | None = None,
    model: str | None = None,
) -> GenerationAccepted:
    """A generation in the original layout: an edit of the conversation's project when it
    has one of this framework, else a new project that the conversation continues from now.
    Context sent with the message replaces the conversation's."""
    conv = caller.conversation or {}
    if context is None:
        context = conversation_context(caller)
    project_id = conv.get("project_id") if conv.get("framework") == framework.value else None
    accepted = start_generation(
        store,
        caller.owner,
        GenerationRequest(
            prompt=prompt,
            framework=framework,
            project_id=project_id,
            context=context,
            provider=provider,
            model=model,
        ),
        layout="files" if framework is Framework.python else "single_file",
    )
    if caller.session_id is not None:
        fields = {
            "project_id": accepted.project_id,
            "framework": framework.value,
            "context": json.dumps(context),
        }
        conversations.update_conversation(store, caller.session_id, **fields)
        caller.conversation = {**conv, **fields}
    return accepted


def conversation_context(caller: Caller) -> Any:
    stored = (caller.conversation or {}).get("context")
    return None if stored is None else json.loads(stored)


def set_context(store: Store, caller: Caller, context: Any) -> None:
    """Keep the context for the conversation's next prompts (checked against the bound now)."""
    context_text(context, store.settings.max_context_chars)
    if caller.session_id is not None:
        stored = json.dumps(context)
        conversations.update_conversation(store, caller.session_id, context=stored)
        caller.conversation = {**(caller.conversation or {}), "context": stored}
