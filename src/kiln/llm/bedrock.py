"""Amazon Bedrock through boto3's `converse_stream`, so any Bedrock model speaks one format.

botocore's own retries are switched off: kiln's RetryPolicy retries the call (which
returns as soon as the response headers arrive), never the stream that follows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import botocore.config
import botocore.exceptions
import urllib3.exceptions

from kiln.config import Settings
from kiln.errors import ProviderError
from kiln.http_answers import parse_retry_after
from kiln.llm.base import ChatRequest, Finish, StopReason
from kiln.llm.http import MAX_RETRY_AFTER_S
from kiln.retry import Retryable, RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

log = logging.getLogger("kiln.llm")

BASE_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
TRUNCATED = frozenset({"max_tokens", "model_context_window_exceeded"})
AUTH_CODES = frozenset(
    {
        "accessdenied",
        "unrecognizedclient",
        "invalidsignature",
        "expiredtoken",
        "invalidclienttokenid",
        "missingauthenticationtoken",
        "unauthorized",
    }
)
# code (lowercase, without "Exception") -> (kiln code, retried before the stream?)
ERROR_CODES: dict[str, tuple[str, bool]] = {
    "throttling": ("provider_rate_limited", True),
    "serviceunavailable": ("provider_unavailable", True),
    "internalserver": ("provider_unavailable", True),
    "modelnotready": ("provider_unavailable", True),
    "modelstreamerror": ("provider_unavailable", False),
    "modeltimeout": ("provider_timeout", True),
    "validation": ("provider_bad_request", False),
    "resourcenotfound": ("provider_bad_request", False),
    "modelerror": ("provider_bad_request", False),
}


def inference_profile(region: str) -> str:
    """The cross-region inference profile id for our default model in `region`."""
    prefix = "global"
    for start, name in (("us-", "us"), ("eu-", "eu"), ("ap-", "apac")):
        if region.startswith(start):
            prefix = name
    return f"{prefix}.{BASE_MODEL}"


def _short_code(code: str) -> str:
    code = code.lower()
    return code.removesuffix("exception")


def error_for_client_error(
    exc: botocore.exceptions.ClientError, region: str
) -> tuple[ProviderError, bool]:
    """(the ProviderError, whether to retry) for an AWS error, before or during the stream."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))[:300]
    meta = exc.response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    short = _short_code(code)
    label = f"{code}: {message}" if message else code
    if short in AUTH_CODES or status in (401, 403):
        return ProviderError(
            f"Bedrock refused the request ({label}). Check the AWS credentials and that "
            f"model access is enabled in {region}.",
            code="provider_auth",
        ), False
    kiln_code, retry = ERROR_CODES.get(
        short, ("provider_unavailable", True) if status >= 500 else ("provider_bad_request", False)
    )
    retry_after = parse_retry_after(meta.get("HTTPHeaders") or {})
    if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
        retry = False
    if kiln_code == "provider_rate_limited":
        text = f"Bedrock is throttling requests ({label})."
    else:
        text = f"Bedrock failed ({label})."
    return ProviderError(text, code=kiln_code, retry_after=retry_after), retry


def error_for_transport(exc: Exception, *, started: bool) -> ProviderError:
    """The ProviderError for a network failure talking to Bedrock."""
    timeouts = (
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
        urllib3.exceptions.TimeoutError,
    )
    if isinstance(exc, timeouts):
        where = "stalled mid-stream" if started else "did not answer in time"
        return ProviderError(f"Bedrock {where}.", code="provider_timeout")
    if started:
        return ProviderError(
            f"Bedrock dropped the connection mid-stream ({type(exc).__name__}).",
            code="provider_unavailable",
        )
    return ProviderError(
        f"Could not reach Bedrock ({type(exc).__name__}).", code="provider_unavailable"
    )


class BedrockProvider:
    """Streams Bedrock's ConverseStream; the boto3 client is built lazily unless given."""

    name = "bedrock"
    is_model = True

    def __init__(
        self,
        settings: Settings,
        *,
        client: BedrockRuntimeClient | None = None,
        endpoint_url: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._endpoint_url = endpoint_url
        self._retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return f"BedrockProvider(region={self._settings.aws_region!r})"

    def default_model(self) -> str:
        return self._settings.llm_model or inference_profile(self._settings.aws_region)

    def _bedrock(self) -> BedrockRuntimeClient:
        if self._client is None:
            import boto3

            config = botocore.config.Config(
                connect_timeout=self._settings.llm_connect_timeout,
                read_timeout=self._settings.llm_stall_timeout,
                retries={"total_max_attempts": 1},
            )
            self._client = boto3.client(
                "bedrock-runtime",
                region_name=self._settings.aws_region,
                endpoint_url=self._endpoint_url,
                config=config,
            )
        return self._client

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        inference: dict[str, Any] = {"maxTokens": request.max_tokens}
        if request.temperature is not None:
            inference["temperature"] = request.temperature
        params: dict[str, Any] = {
            "modelId": request.model,
            "messages": [
                {"role": m.role, "content": [{"text": m.content}]} for m in request.messages
            ],
            "inferenceConfig": inference,
        }
        if request.system:
            params["system"] = [{"text": request.system}]
        return params

    def _open(self, request: ChatRequest) -> Any:
        """Call converse_stream, retrying per policy until the stream starts."""
        params = self._params(request)
        return call_with_retries(lambda: self._start(params), self._retry, what="Bedrock request")

    def _start(self, params: dict[str, Any]) -> Any:
        try:
            return self._bedrock().converse_stream(**params)["stream"]
        except botocore.exceptions.NoCredentialsError as exc:
            raise ProviderError(
                "No AWS credentials found for Bedrock. Configure AWS credentials "
                "(environment, profile or role).",
                code="provider_auth",
            ) from exc
        except botocore.exceptions.ClientError as exc:
            error, retry = error_for_client_error(exc, self._settings.aws_region)
            if not retry:
                raise error from exc
            raise Retryable(error, error.retry_after) from exc
        except (botocore.exceptions.BotoCoreError, urllib3.exceptions.HTTPError) as exc:
            raise Retryable(error_for_transport(exc, started=False)) from exc

    def stream(self, request: ChatRequest) -> Iterator[str | Finish]:
        events = self._open(request)
        region = self._settings.aws_region
        stop: StopReason | None = None
        usage: dict[str, Any] = {}
        try:
            for event in events:
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"].get("delta", {}).get("text")
                    if text:
                        yield text
                elif "messageStop" in event:
                    reason = event["messageStop"].get("stopReason")
                    stop = "max_tokens" if reason in TRUNCATED else "end"
                elif "metadata" in event:
                    usage = event["metadata"].get("usage") or {}
        except botocore.exceptions.ClientError as exc:  # EventStreamError: in-band exception
            raise error_for_client_error(exc, region)[0] from exc
        except (botocore.exceptions.BotoCoreError, urllib3.exceptions.HTTPError) as exc:
            raise error_for_transport(exc, started=True) from exc
        finally:
            events.close()
        if stop is None:
            raise ProviderError(
                "Bedrock closed the stream before the reply finished.",
                code="provider_unavailable",
            )
        extra = {
            name: int(usage[key])
            for key, name in (
                ("cacheReadInputTokens", "cache_read_input_tokens"),
                ("cacheWriteInputTokens", "cache_creation_input_tokens"),
            )
            if usage.get(key)
        }
        yield Finish(
            stop_reason=stop,
            input_tokens=int(usage.get("inputTokens") or 0),
            output_tokens=int(usage.get("outputTokens") or 0),
            extra=extra,
        )
