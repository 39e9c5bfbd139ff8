"""Model providers against fake servers on 127.0.0.1 speaking each provider's wire format."""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import time
from typing import Any

import httpx
import pytest

from kiln.errors import ProviderError
from kiln.llm.base import ChatRequest, Finish, Message, Provider
from kiln.llm.openai import OpenAIProvider
from kiln.llm.providers import clear_probe_cache, get_provider, resolve_provider_name
from kiln.retry import RetryPolicy
from tests.fakes.llm_servers import (
    DEFAULT_TEXT,
    TEST_KEY,
    FakeLLMServer,
    Reply,
)

# Fixtures fake_openai, fake_anthropic, fake_ollama, fake_bedrock and fake_llm come from
# tests.fakes.llm_servers, registered in tests/conftest.py (pytest_plugins).

pytestmark = pytest.mark.integration

HTTP_PROVIDERS = ("openai", "anthropic", "ollama")
# The status each provider uses for rejected credentials.
AUTH_STATUS = {"openai": 401, "anthropic": 401, "ollama": 401, "bedrock": 403}
# An in-band (mid-stream) error each fake can send, and the code it must become.
IN_BAND = {
    "openai": ("server_error", "provider_unavailable"),
    "anthropic": ("overloaded_error", "provider_overloaded"),
    "ollama": ("model runner crashed", "provider_unavailable"),
    "bedrock": ("throttlingException", "provider_rate_limited"),
}


class Run:
    """A provider wired to a fake, with retries that record their delays instead of sleeping."""

    def __init__(self, fake: FakeLLMServer, **settings: Any) -> None:
        self.delays: list[float] = []
        self.settings = fake.settings(**settings)
        policy = RetryPolicy(sleep=self.delays.append)
        self.provider: Provider = get_provider(fake.provider, self.settings, retry=policy)

    def request(self, **kwargs: Any) -> ChatRequest:
        values: dict[str, Any] = {
            "system": "You write web apps as <kiln-file> blocks.",
            "messages": [Message("user", "a counter app")],
            "model": self.provider.default_model(),
            "max_tokens": 4000,
        }
        values.update(kwargs)
        return ChatRequest(**values)

    def collect(self, **kwargs: Any) -> tuple[str, list[Finish]]:
        out = list(self.provider.stream(self.request(**kwargs)))
        return "".join(x for x in out if isinstance(x, str)), [
            x for x in out if isinstance(x, Finish)
        ]

    def error(self) -> ProviderError:
        with pytest.raises(ProviderError) as info:
            list(self.provider.stream(self.request()))
        return info.value


# --- every provider ----------------------------------------------------------------------


def test_streams_a_multi_file_reply_split_at_awkward_boundaries(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_text(DEFAULT_TEXT, input_tokens=1200, output_tokens=95)

    text, finishes = Run(fake_llm).collect()

    assert text == DEFAULT_TEXT
    assert finishes == [Finish("end", 1200, 95)]


def test_the_fake_really_splits_inside_a_utf8_character(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_text(DEFAULT_TEXT)

    chunks = fake_llm.replies[0].chunks

    # A chunk starting with a UTF-8 continuation byte (0b10xxxxxx) splits a character.
    assert any(0x80 <= chunk[0] < 0xC0 for chunk in chunks[1:])


def test_finish_comes_last_and_only_once(fake_llm: FakeLLMServer) -> None:
    run = Run(fake_llm)

    out = list(run.provider.stream(run.request()))

    assert isinstance(out[-1], Finish)
    assert all(isinstance(x, str) for x in out[:-1])


def test_reports_a_reply_cut_by_max_tokens(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_text('<kiln-file path="a.js">\nlet x', stop="max_tokens", output_tokens=7)

    _, finishes = Run(fake_llm).collect()

    assert finishes[0].stop_reason == "max_tokens"
    assert finishes[0].output_tokens == 7


def test_rejected_credentials_are_provider_auth_and_not_retried(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_error(AUTH_STATUS[fake_llm.provider])
    run = Run(fake_llm)

    error = run.error()

    assert error.code == "provider_auth"
    assert len(fake_llm.posts) == 1


def test_bad_request_is_provider_bad_request(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_error(400, message="messages: field required")

    error = Run(fake_llm).error()

    assert error.code == "provider_bad_request"
    assert len(fake_llm.posts) == 1


def test_server_error_is_retried_with_backoff_then_succeeds(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_error(500)
    fake_llm.queue_text("ok")
    run = Run(fake_llm)

    text, _ = run.collect()

    assert text == "ok"
    assert len(fake_llm.posts) == 2
    assert len(run.delays) == 1
    assert 0.375 <= run.delays[0] <= 0.5


def test_backoff_doubles_and_gives_up_after_two_retries(fake_llm: FakeLLMServer) -> None:
    for _ in range(3):
        fake_llm.queue_error(503)
    run = Run(fake_llm)

    error = run.error()

    assert error.code == "provider_unavailable"
    assert len(fake_llm.posts) == 3
    assert 0.375 <= run.delays[0] <= 0.5
    assert 0.75 <= run.delays[1] <= 1.0


def test_rate_limit_honours_retry_after_seconds(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_error(429, headers={"retry-after": "3"})
    fake_llm.queue_text("ok")
    run = Run(fake_llm)

    text, _ = run.collect()

    assert text == "ok"
    assert run.delays == [3.0]
    assert len(fake_llm.posts) == 2


def test_rate_limit_retried_out_is_provider_rate_limited(fake_llm: FakeLLMServer) -> None:
    for _ in range(3):
        fake_llm.queue_error(429, headers={"retry-after": "2"})

    error = Run(fake_llm).error()

    assert error.code == "provider_rate_limited"
    assert error.retry_after == 2.0
    assert len(fake_llm.posts) == 3


def test_an_exhausted_openai_quota_is_provider_quota_exceeded_and_not_retried(
    fake_openai: FakeLLMServer,
) -> None:
    message = "You exceeded your current quota, please check your plan and billing details."
    fake_openai.queue_error(429, kind="insufficient_quota", message=message)

    error = Run(fake_openai).error()

    assert error.code == "provider_quota_exceeded"
    assert "quota" in error.message and "billing" in error.message
    assert len(fake_openai.posts) == 1


@pytest.mark.parametrize(
    ("provider", "setting"), [("openai", "openai_api_key"), ("anthropic", "anthropic_api_key")]
)
def test_a_key_the_provider_refuses_is_provider_auth_and_not_retried(
    provider: str, setting: str, request: pytest.FixtureRequest
) -> None:
    fake: FakeLLMServer = request.getfixturevalue(f"fake_{provider}")

    error = Run(fake, **{setting: "sk-not-the-right-key"}).error()

    assert error.code == "provider_auth"
    assert len(fake.posts) == 1


def test_retry_after_over_a_minute_is_not_retried(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_error(429, headers={"retry-after": "120"})
    run = Run(fake_llm)

    error = run.error()

    assert error.code == "provider_rate_limited"
    assert error.retry_after == 120.0
    assert len(fake_llm.posts) == 1
    assert run.delays == []


def test_dropped_connection_mid_stream_is_unavailable_and_not_retried(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.queue_text(DEFAULT_TEXT, end="drop")
    fake_llm.queue_text("second attempt")
    run = Run(fake_llm)
    received: list[str] = []

    with pytest.raises(ProviderError) as info:
        for item in run.provider.stream(run.request()):
            if isinstance(item, str):
                received.append(item)

    assert info.value.code == "provider_unavailable"
    assert DEFAULT_TEXT.startswith("".join(received))
    assert received
    assert len(fake_llm.posts) == 1


def test_stalled_stream_is_provider_timeout_and_not_retried(fake_llm: FakeLLMServer) -> None:
    fake_llm.queue_text(DEFAULT_TEXT, end="stall")
    fake_llm.queue_text("second attempt")

    error = Run(fake_llm, llm_stall_timeout=0.3).error()

    assert error.code == "provider_timeout"
    assert len(fake_llm.posts) == 1


def test_in_band_error_maps_to_its_code_and_is_not_retried(fake_llm: FakeLLMServer) -> None:
    kind, code = IN_BAND[fake_llm.provider]
    fake_llm.queue_text("<kiln-file", error=kind)
    fake_llm.queue_text("second attempt")

    error = Run(fake_llm).error()

    assert error.code == code
    assert len(fake_llm.posts) == 1


def test_stream_ending_without_a_finish_is_unavailable(fake_llm: FakeLLMServer) -> None:
    # A clean end of the HTTP body, but the provider never said the reply was done.
    events = fake_llm.stream_events(
        ["half a re"], stop="end", input_tokens=1, output_tokens=1, complete=False
    )
    fake_llm.queue(Reply(200, {"Content-Type": fake_llm.content_type}, events))

    assert Run(fake_llm).error().code == "provider_unavailable"


# --- HTTP providers ----------------------------------------------------------------------


@pytest.fixture(params=HTTP_PROVIDERS)
def fake_http(request: pytest.FixtureRequest) -> FakeLLMServer:
    fake: FakeLLMServer = request.getfixturevalue(f"fake_{request.param}")
    return fake


def test_retry_after_ms_wins_over_retry_after(fake_http: FakeLLMServer) -> None:
    fake_http.queue_error(429, headers={"retry-after-ms": "20", "retry-after": "5"})
    fake_http.queue_text("ok")
    run = Run(fake_http)

    run.collect()

    assert run.delays == [0.02]


def test_retry_after_as_http_date_is_honoured(fake_http: FakeLLMServer) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake_http.queue_error(429, headers={"retry-after": when})
    fake_http.queue_text("ok")
    run = Run(fake_http)

    run.collect()

    assert len(run.delays) == 1
    assert 20 < run.delays[0] <= 31


def test_x_should_retry_false_stops_a_retry(fake_http: FakeLLMServer) -> None:
    fake_http.queue_error(500, headers={"x-should-retry": "false"})
    fake_http.queue_text("ok")

    error = Run(fake_http).error()

    assert error.code == "provider_unavailable"
    assert len(fake_http.posts) == 1


def test_x_should_retry_true_retries_even_a_a_400(fake_http: FakeLLMServer) -> None:
    fake_http.queue_error(400, headers={"x-should-retry": "true"})
    fake_http.queue_text("ok")

    text, _ = Run(fake_http).collect()

    assert text == "ok"
    assert len(fake_http.posts) == 2


def test_529_is_provider_overloaded_after_retries(fake_http: FakeLLMServer) -> None:
    for _ in range(3):
        fake_http.queue_error(529)

    error = Run(fake_http).error()

    assert error.code == "provider_overloaded"
    assert len(fake_http.posts) == 3


def test_unreachable_server_is_unavailable_after_retries(fake_http: FakeLLMServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connections are refused
    dead = f"http://127.0.0.1:{port}"
    field = {"openai": "openai_base_url", "anthropic": "anthropic_base_url"}.get(
        fake_http.provider, "ollama_host"
    )
    run = Run(fake_http, **{field: dead})

    error = run.error()

    assert error.code == "provider_unavailable"
    assert len(run.delays) == 2
    assert fake_http.posts == []


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_api_key_never_reaches_logs_or_errors(
    provider: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    fake: FakeLLMServer = request.getfixturevalue(f"fake_{provider}")
    caplog.set_level(logging.DEBUG)
    fake.queue_error(429, headers={"retry-after-ms": "1"})
    fake.queue_error(401, message=f"Incorrect API key provided: {TEST_KEY}.")
    run = Run(fake)

    error = run.error()

    assert error.code == "provider_auth"
    assert caplog.records  # the retry was logged
    for text in (str(error), repr(error), error.message, repr(run.provider), repr(run.settings)):
        assert TEST_KEY not in text
    assert TEST_KEY not in caplog.text
    from kiln.api.app import error_response

    body = error_response(error.status, error.code, error.message, error.details).body
    assert TEST_KEY.encode() not in bytes(body)


def test_key_echoed_in_a_server_message_is_scrubbed(fake_openai: FakeLLMServer) -> None:
    fake_openai.queue_error(400, message=f"bad key {TEST_KEY} in request")

    error = Run(fake_openai).error()

    assert TEST_KEY not in error.message
    assert "[redacted]" in error.message


def test_auth_message_tells_which_setting_to_check(fake_anthropic: FakeLLMServer) -> None:
    fake_anthropic.queue_error(401)

    error = Run(fake_anthropic).error()

    assert error.message == "Anthropic rejected the API key (401). Check ANTHROPIC_API_KEY."


# --- request shapes ----------------------------------------------------------------------


def test_openai_request_asks_for_a_stream_with_usage(fake_openai: FakeLLMServer) -> None:
    Run(fake_openai).collect(max_tokens=1234)

    sent = fake_openai.posts[0]
    body = sent.json()
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 1234  # a compatible server, not api.openai.com
    assert body["messages"][0]["role"] == "system"
    assert body["model"] == "gpt-4.1-mini"


def test_official_openai_gets_max_completion_tokens(fake_openai: FakeLLMServer) -> None:
    seen: list[dict[str, Any]] = []

    def official(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=b"data: [DONE]\n\n"
        )

    settings = fake_openai.settings(openai_base_url="https://api.openai.com/v1")
    client = httpx.Client(transport=httpx.MockTransport(official))
    provider = OpenAIProvider(settings, client=client)

    list(provider.stream(ChatRequest(system="", messages=[], model="gpt-4.1", max_tokens=99)))

    assert seen[0]["max_completion_tokens"] == 99
    assert "max_tokens" not in seen[0]


def test_official_openai_without_a_key_fails_before_any_request(
    fake_openai: FakeLLMServer,
) -> None:
    settings = fake_openai.settings(
        openai_base_url="https://api.openai.com/v1", openai_api_key=None
    )

    with pytest.raises(ProviderError) as info:
        list(get_provider("openai", settings).stream(ChatRequest("", [], "gpt-4.1")))

    assert info.value.code == "provider_auth"
    assert "OPENAI_API_KEY" in info.value.message


def test_anthropic_request_carries_key_version_and_system(fake_anthropic: FakeLLMServer) -> None:
    Run(fake_anthropic).collect(max_tokens=2048)

    sent = fake_anthropic.posts[0]
    body = sent.json()
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == TEST_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert body["max_tokens"] == 2048
    assert body["system"].startswith("You write web apps")
    assert body["stream"] is True
    assert body["model"] == "claude-sonnet-4-5"


def test_ollama_context_fits_a_small_prompt_in_8k(fake_ollama: FakeLLMServer) -> None:
    Run(fake_ollama).collect(max_tokens=4000)

    body = fake_ollama.posts[0].json()
    assert fake_ollama.posts[0].path == "/api/chat"
    assert body["stream"] is True
    assert body["options"] == {"num_ctx": 8192, "num_predict": 4000}
    assert body["model"] == "qwen2.5-coder:7b"


def test_ollama_context_grows_with_the_prompt(fake_ollama: FakeLLMServer) -> None:
    big = [Message("user", "x" * 30_000)]  # about 10k tokens

    Run(fake_ollama).collect(messages=big, max_tokens=4000)

    assert fake_ollama.posts[0].json()["options"]["num_ctx"] == 16384


def test_ollama_reply_budget_shrinks_to_fit_the_largest_context(
    fake_ollama: FakeLLMServer,
) -> None:
    huge = [Message("user", "x" * 75_000)]  # about 25k tokens

    Run(fake_ollama).collect(messages=huge, max_tokens=16000)

    options = fake_ollama.posts[0].json()["options"]
    assert options["num_ctx"] == 32768
    assert options["num_predict"] < 16000


def test_ollama_unknown_model_says_how_to_pull_it(fake_ollama: FakeLLMServer) -> None:
    fake_ollama.queue_error(404, message="model 'qwen9' not found")

    with pytest.raises(ProviderError) as info:
        run = Run(fake_ollama)
        list(run.provider.stream(run.request(model="qwen9")))

    assert info.value.code == "provider_bad_request"
    assert "ollama pull qwen9" in info.value.message


def test_bedrock_request_is_a_signed_converse_stream(fake_bedrock: FakeLLMServer) -> None:
    Run(fake_bedrock).collect(max_tokens=3000)

    sent = fake_bedrock.posts[0]
    body = sent.json()
    assert sent.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256")
    assert body["inferenceConfig"] == {"maxTokens": 3000}
    assert body["system"] == [{"text": "You write web apps as <kiln-file> blocks."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "a counter app"}]}]


# --- choosing a provider -------------------------------------------------------------------


def test_a_reachable_ollama_is_chosen_when_nothing_else_is_configured(
    fake_ollama: FakeLLMServer,
) -> None:
    clear_probe_cache()
    settings = fake_ollama.settings(llm_provider=None)

    assert resolve_provider_name(settings) == "ollama"
    assert [r.path for r in fake_ollama.requests] == ["/api/tags"]


def test_the_ollama_probe_is_cached(fake_ollama: FakeLLMServer) -> None:
    clear_probe_cache()
    settings = fake_ollama.settings(llm_provider=None)

    resolve_provider_name(settings)
    resolve_provider_name(settings)

    assert len(fake_ollama.requests) == 1


def test_env_points_a_fresh_settings_at_the_fake(
    fake_openai: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiln.config import Settings

    for name, value in fake_openai.env().items():
        monkeypatch.setenv(name, value)

    settings = Settings(_env_file=None)
    text = "".join(
        x
        for x in get_provider(None, settings).stream(
            ChatRequest(system="s", messages=[Message("user", "hi")], model="gpt-4.1-mini")
        )
        if isinstance(x, str)
    )

    assert text == DEFAULT_TEXT
