"""The one streaming interface every model provider implements.

A provider's `stream(request)` yields `str` text deltas, then exactly one `Finish`.
Retries happen only before the first byte; a stream that breaks part-way raises
`ProviderError` (code `provider_unavailable` or `provider_timeout`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

StopReason = Literal["end", "max_tokens"]


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ChatRequest:
    system: str
    messages: list[Message]
    model: str
    max_tokens: int = 16000
    temperature: float | None = None
    framework: str = "react"
    # the project's current files when the request is an edit (the starter edits them offline)
    project_files: dict[str, str] | None = None


@dataclass(frozen=True)
class Finish:
    stop_reason: StopReason
    input_tokens: int = 0
    output_tokens: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Provider(Protocol):
    name: str
    is_model: bool

    def default_model(self) -> str: ...

    def stream(self, request: ChatRequest) -> Iterator[str | Finish]: ...
