"""On AWS a provider key is not in any function's environment: the template passes the
secret's ARN, and the generation worker reads the key from Secrets Manager (moto here)
when it calls the model."""

from __future__ import annotations

import os
import uuid

import pytest

from kiln.config import Settings, has_provider_key, provider_key
from kiln.llm.base import ChatRequest, Finish, Message
from kiln.llm.openai import OpenAIProvider
from kiln.llm.providers import resolve_provider_name
from kiln.store.db import Store
from tests.fakes.llm_servers import TEST_KEY, FakeLLMServer

pytestmark = pytest.mark.integration

KEY = TEST_KEY  # the key the fake provider accepts; it is nowhere in the environment


@pytest.fixture
def keyed(settings: Settings, store: Store, fake_openai: FakeLLMServer) -> Settings:
    name = f"kiln/operator/openai-{uuid.uuid4().hex[:8]}"
    arn = store.client("secretsmanager").create_secret(Name=name, SecretString=KEY)["ARN"]
    return settings.model_copy(
        update={
            "llm_provider": None,
            "openai_api_key": None,
            "openai_key_secret": arn,
            "openai_base_url": f"{fake_openai.url}/v1",
        }
    )


def test_a_key_named_by_its_secret_is_read_from_secrets_manager(keyed: Settings) -> None:
    key = provider_key(keyed, "openai")
    assert key is not None and key.get_secret_value() == KEY
    assert KEY not in "".join(os.environ.values())


def test_a_provider_counts_as_configured_by_its_secret_name_alone(keyed: Settings) -> None:
    assert has_provider_key(keyed, "openai")
    assert resolve_provider_name(keyed) == "openai"


def test_the_model_is_called_with_the_key_from_secrets_manager(
    keyed: Settings, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text("hello")
    provider = OpenAIProvider(keyed)
    request = ChatRequest(
        model="gpt-4o-mini", system="s", messages=[Message(role="user", content="hi")]
    )
    out = list(provider.stream(request))
    assert isinstance(out[-1], Finish)
    assert fake_openai.posts[-1].headers["authorization"] == f"Bearer {KEY}"
