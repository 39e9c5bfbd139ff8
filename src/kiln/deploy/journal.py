"""What a deploy is given, what it remembers between attempts, and what it returns.

A target writes its progress into a `Journal` and hands it to the caller's `save`
callback after every step, *before* any non-idempotent call it depends on, so a
retried deploy (Lambda timeout, crash, re-enqueued poll) resumes instead of
creating a second deployment, site or repository. The journal never holds a token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from kiln.gate.build import BuildResult

DeployState = Literal["pending", "ready", "error"]
Progress = Callable[[str, str], None]
Save = Callable[["Journal"], None]

LOG_KEEP = 200
"""Journal log lines kept: the journal lives in one DynamoDB item."""


class Journal(BaseModel):
    """Durable state of one deploy; the store persists it as part of `DEPLOY#id/META`."""

    target: str
    step: str = "start"
    provider_ids: dict[str, str] = Field(default_factory=dict)
    uploaded: dict[str, str] = Field(default_factory=dict)
    """path -> sha of every file the provider has confirmed."""
    url: str | None = None
    state: DeployState = "pending"
    log: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class SiteFiles:
    """One project version to deploy: its source files and how it is built."""

    deployment_id: str
    """kiln's id for this deploy; also the idempotency key sent to providers."""
    name: str
    """Slug for the provider's project, site or repository."""
    files: dict[str, str]
    framework: str = "vanilla"
    build: Callable[[dict[str, str], str, str], BuildResult] | None = field(
        default=None, compare=False, repr=False
    )
    """How to build it: (files, framework, base). The worker passes `kiln.gate.builder`'s, so
    the build runs in the builder function or the sandbox; None builds here, sandboxed."""


@dataclass(frozen=True)
class DeployOutcome:
    state: DeployState
    url: str | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)


def no_progress(step: str, message: str) -> None:
    """Default `progress`: nobody is listening."""


def no_save(journal: Journal) -> None:
    """Default `save`: the caller keeps the journal object itself."""


@dataclass
class Recorder:
    """Writes steps into the journal, persists it, and tells the listener, in that order."""

    journal: Journal
    save: Save = no_save
    progress: Progress = no_progress

    def step(self, step: str, message: str) -> None:
        """Enter `step` and persist it; a crash after this resumes from here."""
        self.journal.step = step
        self.note(step, message)
        self.save(self.journal)

    def note(self, step: str, message: str) -> None:
        """Tell the listener and keep a log line, without a save."""
        self.journal.log.append(f"{step}: {message}")
        del self.journal.log[:-LOG_KEEP]
        self.progress(step, message)

    def ids(self, **ids: str) -> None:
        """Remember provider ids and persist at once: they are what makes a retry safe."""
        self.journal.provider_ids.update(ids)
        self.save(self.journal)

    def finish(self, state: DeployState, url: str | None, message: str) -> DeployOutcome:
        self.journal.state = state
        self.journal.url = url
        self.step("ready" if state == "ready" else state, message)
        return self.outcome()

    def outcome(self) -> DeployOutcome:
        j = self.journal
        return DeployOutcome(state=j.state, url=j.url, provider_ids=dict(j.provider_ids))
