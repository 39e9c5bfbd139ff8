"""Pydantic models shared by the API, the store and the workers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    field_validator,
)
from pydantic_core import CoreSchema


class Framework(StrEnum):
    react = "react"
    vue = "vue"
    vanilla = "vanilla"
    python = "python"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class JobKind(StrEnum):
    generate = "generate"
    build = "build"
    deploy = "deploy"


class BuildState(StrEnum):
    green = "green"
    red = "red"
    unknown = "unknown"
    unchecked = "unchecked"  # saved while the build gate was off: nothing will check it


# --- stream events (the same names are used by web/src/events.ts) ---------------------


class FileStart(BaseModel):
    type: Literal["file_start"] = "file_start"
    path: str


class FileChunk(BaseModel):
    type: Literal["file_chunk"] = "file_chunk"
    path: str
    text: str


class FileEnd(BaseModel):
    type: Literal["file_end"] = "file_end"
    path: str


class Edit(BaseModel):
    """One SEARCH/REPLACE block applied to an existing file."""

    type: Literal["edit"] = "edit"
    path: str
    search: str
    replace: str


class Delete(BaseModel):
    type: Literal["delete"] = "delete"
    path: str


class Deps(BaseModel):
    type: Literal["deps"] = "deps"
    add: list[str]


class CheckBlock(BaseModel):
    """A `<kiln-check name>` block of the reply: an acceptance check (kiln.checks), added or
    replaced by name; `body` None (`<kiln-check name="x"/>`) removes it. The job's events
    show it as the new content of the checks file, so it is not an `Event` of its own."""

    type: Literal["check"] = "check"
    name: str
    body: str | None = None


class Text(BaseModel):
    """Prose outside any tag: the model's plan or remarks."""

    type: Literal["text"] = "text"
    text: str


class Usage(BaseModel):
    type: Literal["usage"] = "usage"
    input_tokens: int = 0
    output_tokens: int = 0


class Status(BaseModel):
    """Progress a person can read: phase changes, retries, the starter notice."""

    type: Literal["status"] = "status"
    phase: str
    message: str = ""


Event = Annotated[
    FileStart | FileChunk | FileEnd | Edit | Delete | Deps | Text | Usage | Status,
    Field(discriminator="type"),
]
ParsedEvent = FileStart | FileChunk | FileEnd | Edit | Delete | Deps | CheckBlock | Text


class _DocumentedAsSequencedEvents:
    """Documents a list of stored events in the OpenAPI schema as `Event`s with their `seq`,
    while the field stays a list of dicts: validating 5000 events per poll costs too much,
    and an event the models no longer know must reach the client rather than fail the poll."""

    def __get_pydantic_json_schema__(
        self, _schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        seq = {"type": "object", "properties": {"seq": {"type": "integer"}}, "required": ["seq"]}
        event = handler(TypeAdapter(Event).core_schema)
        # openapi-typescript reads a discriminated base under allOf as a parent and drops `type`.
        event.pop("discriminator", None)
        return {"type": "array", "items": {"allOf": [event, seq]}}


SequencedEvents = Annotated[list[dict[str, Any]], _DocumentedAsSequencedEvents()]


# --- API bodies ----------------------------------------------------------------------


class SessionPublic(BaseModel):
    token: str


class GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str
    framework: Framework = Framework.react
    project_id: str | None = None
    base_version: int | None = None
    provider: str | None = None
    model: str | None = None
    context: Any = None


class GenerationAccepted(BaseModel):
    job_id: str
    project_id: str
    status_url: str
    provider: str
    notice: str | None = None


class ErrorInfo(BaseModel):
    code: str
    message: str


class JobPublic(BaseModel):
    job_id: str
    kind: JobKind
    status: JobStatus
    project_id: str | None = None
    version: int | None = None
    provider: str | None = None
    model: str | None = None
    notice: str | None = None
    attempt: int = 0
    events: SequencedEvents = []
    next: int = 0
    error: ErrorInfo | None = None
    usage: dict[str, Any] | None = None
    created_at: str | None = None
    finished_at: str | None = None
    plan: str | None = None
    context: dict[str, Any] | None = None


class ProjectPublic(BaseModel):
    project_id: str
    name: str
    framework: Framework
    latest_version: int = 0
    last_green_version: int | None = None
    budget_usd: float | None = None
    usage: dict[str, Any] | None = None
    created_at: str
    updated_at: str


class FileEntry(BaseModel):
    sha256: str
    size: int


class CheckResult(BaseModel):
    """One acceptance check's run (kiln.checks): where it failed, what the step expected,
    what the page showed, and whether a screenshot of the failure is stored."""

    name: str
    passed: bool
    steps: int = 0
    failed_step: int | None = None
    step: str | None = None
    source: str | None = None
    expected: str | None = None
    observed: str | None = None
    blocked: list[str] = []
    screenshot: bool = False
    seconds: float = 0.0


class BuildHealth(BaseModel):
    """The badge: does the version build, render something, run without page errors and
    pass its checks. `renders`/`page_errors`/`checks` are None where no browser checked."""

    builds: bool
    renders: bool | None = None
    page_errors: int | None = None
    messages: list[str] = []
    checks: list[CheckResult] | None = None
    """Each check's result; version lists leave it out (GET .../checks has it)."""
    checks_passed: int | None = None
    checks_total: int | None = None


class BuildErrorPublic(BaseModel):
    file: str | None = None
    line: int | None = None
    column: int | None = None
    message: str


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_hours: float | None = Field(default=None, gt=0)


class PreviewLink(BaseModel):
    url: str
    token: str
    expires_at: str


class PackagesError(BaseModel):
    """Why a version's dependencies could not be resolved into package-lock.json."""

    code: str
    message: str
    package: str | None = None


class VersionPublic(BaseModel):
    project_id: str
    version: int
    files: dict[str, str]
    manifest: dict[str, FileEntry]
    parent: int | None = None
    prompt: str | None = None
    job_id: str | None = None
    build: BuildState = BuildState.unknown
    health: BuildHealth | None = None
    build_errors: list[BuildErrorPublic] | None = None
    build_job_id: str | None = None
    fix_of: int | None = None
    fix_job_id: str | None = None
    charged: bool = True
    created_at: str
    packages_error: PackagesError | None = None


class VersionSummary(BaseModel):
    version: int
    parent: int | None = None
    prompt: str | None = None
    job_id: str | None = None
    build: BuildState = BuildState.unknown
    health: BuildHealth | None = None
    build_errors: list[BuildErrorPublic] | None = None
    build_job_id: str | None = None
    fix_of: int | None = None
    fix_job_id: str | None = None
    charged: bool = True
    files: int
    created_at: str
    packages_error: PackagesError | None = None


class HandEdit(BaseModel):
    """Files changed in the editor; `base_version` guards against lost updates."""

    model_config = ConfigDict(extra="forbid")

    base_version: int
    files: dict[str, str] = {}
    deleted: list[str] = []
    message: str | None = None


class CheckEdit(BaseModel):
    """A check written by hand: its name and steps (the kiln.checks grammar, one per line)."""

    model_config = ConfigDict(extra="forbid")

    base_version: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=80)
    body: str = Field(min_length=1, max_length=16_000)
    replaces: str | None = Field(default=None, max_length=80)


class CheckPublic(BaseModel):
    name: str
    body: str
    steps: list[str]
    """The steps in plain words."""
    error: str | None = None
    """Why the check does not parse (it then fails in the gate with this message)."""
    result: CheckResult | None = None


class VersionChecks(BaseModel):
    version: int
    checks: list[CheckPublic]
    ran: bool
    """Whether the gate ran this version's checks (no browser: no results)."""


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
        | None
    ) = None
    """Shown in lists and used for deploy slugs: a blank one would name nothing."""
    budget_usd: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    clear_budget: bool = False

    @field_validator("budget_usd")
    @classmethod
    def _to_micro_dollars(cls, value: float | None) -> float | None:
        """DynamoDB numbers stop at 38 digits: 1e-320 would fail to store, so keep 6 places."""
        return None if value is None else round(value, 6)


class ProjectCopy(BaseModel):
    """Which version to copy (default: the latest) and the copy's name
    (default: "<name> (copy)")."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
        | None
    ) = None


class TurnPublic(BaseModel):
    job_id: str
    prompt: str
    status: str
    version: int | None = None
    plan: str | None = None
    changed: list[str] | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    provider: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    charged: bool | None = None
    created_at: str | None = None


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    store: bool
    provider: str
    pyodide_packages_url: str | None = None  # None: the official CDN
    push_url: str | None = None  # the WebSocket for pushed job events; None: the site's /push


# --- deployments and schedules ---------------------------------------------------------

DeployTarget = Literal["vercel", "netlify", "github", "s3"]
DeployOptionValue = str | bool | int


class DeploymentRequest(BaseModel):
    """`token` is used for this deploy only: kept in Secrets Manager until it ends."""

    model_config = ConfigDict(extra="forbid")

    project_id: str
    version: int | None = Field(default=None, ge=1)
    target: DeployTarget
    token: SecretStr | None = None
    options: dict[str, DeployOptionValue] = {}


class DeploymentAccepted(BaseModel):
    deployment_id: str
    job_id: str
    status_url: str
    version: int


class DeploymentPublic(BaseModel):
    deployment_id: str
    job_id: str
    project_id: str
    version: int
    target: DeployTarget
    state: str
    step: str = "start"
    url: str | None = None
    provider_ids: dict[str, str] = {}
    log: list[str] = []
    error: ErrorInfo | None = None
    schedule_id: str | None = None
    created_at: str
    updated_at: str


class ScheduleRequest(BaseModel):
    """Redeploy on `rate(N unit)` or a 6-field `cron(...)`; no `version` = the latest."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=6, max_length=200)
    target: DeployTarget
    version: int | None = Field(default=None, ge=1)
    token: SecretStr | None = None
    options: dict[str, DeployOptionValue] = {}


class ScheduleRun(BaseModel):
    time: str
    deployment_id: str | None = None
    state: str
    error: str | None = None


class SchedulePublic(BaseModel):
    schedule_id: str
    project_id: str
    expression: str
    target: DeployTarget
    version: int | None = None
    options: dict[str, DeployOptionValue] = {}
    has_token: bool
    next_run: str
    runs: list[ScheduleRun] = []
    created_at: str
