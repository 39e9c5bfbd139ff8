"""One Settings object, read once from the environment (and `.env` when present)."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KILN_", env_file=".env", extra="ignore")

    # AWS resources (names come from infra/template.yaml; the local stack sets them)
    table_name: str = "kiln"
    bucket: str = "kiln-artifacts"
    generate_queue_url: str = ""
    deploy_queue_url: str = ""
    aws_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("KILN_AWS_REGION", "AWS_REGION")
    )
    aws_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("KILN_AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL")
    )

    # Models
    llm_provider: str | None = None
    llm_model: str | None = None
    llm_max_tokens: int = 16000
    llm_connect_timeout: float = 10.0
    llm_stall_timeout: float = 60.0
    llm_retry_initial_delay_s: float = 0.5  # first backoff before a retried model request
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str = Field(
        default="https://api.openai.com/v1", validation_alias="OPENAI_BASE_URL"
    )
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str = Field(
        default="https://api.anthropic.com", validation_alias="ANTHROPIC_BASE_URL"
    )
    # On AWS the keys stay in Secrets Manager (names or ARNs here): see `provider_key`
    openai_key_secret: str = ""
    anthropic_key_secret: str = ""
    ollama_host: str = Field(default="http://127.0.0.1:11434", validation_alias="OLLAMA_HOST")
    bedrock_enabled: bool = False
    bedrock_endpoint_url: str | None = None  # a fake ConverseStream endpoint in tests
    # {"model": {"input": $/Mtok, "output": $/Mtok}}; overrides kiln.llm.pricing defaults
    prices_json: str | None = Field(
        default=None, validation_alias=AliasChoices("KILN_PRICES", "prices_json")
    )

    # Limits
    max_prompt_chars: int = 20_000
    max_context_chars: int = 8_000  # a client's `context`, as sent to the model
    max_body_bytes: int = 2_000_000
    max_file_bytes: int = 1_000_000
    max_files: int = 300
    daily_job_quota: int = 500
    rate_limit_per_minute: int = 60  # mutating requests per owner per minute
    default_budget_usd: float | None = None

    # Spend ceilings (SECURITY.md "What a visitor can cost the operator")
    address_rate_limit_per_minute: int = 60  # sessions + work-starting requests per address
    trusted_proxy_hops: int = 0  # proxies in front whose X-Forwarded-For entry is believed
    daily_spend_usd: float | None = 25.0  # all owners together, per UTC day; None: no ceiling
    max_budget_usd: float | None = 5.0  # no project may spend more, whatever its budget says
    allowed_models: str = ""  # comma-separated; "" = priced models + providers' defaults
    origin_verify_secret: SecretStr | None = None  # CloudFront's header; direct calls refused
    origin_verify_secret_arn: str = ""  # AWS: the same, read from Secrets Manager at start
    # Other origins whose pages may call the API and open /ws (comma-separated; the
    # template's AllowedOrigins sets it and API Gateway's CORS). "": the site's own only.
    allowed_origins: str = ""
    # kiln dev's emulator checks a random key per run; real AWS uses the default chain
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None

    # Job lifecycle
    flush_interval_s: float = 0.25
    flush_bytes: int = 32_768
    heartbeat_timeout_s: float = 60.0
    max_attempts: int = 3
    job_ttl_days: int = 30
    sync_wait_s: float = 25.0

    # Deploy targets (tests point these at fake servers)
    vercel_api: str = "https://api.vercel.com"
    netlify_api: str = "https://api.netlify.com/api/v1"
    github_api: str = "https://api.github.com"
    deploy_poll_budget_s: float = 60.0  # then the deploy worker re-enqueues itself
    cloudfront_distribution_id: str = ""  # s3 target: invalidate when set
    sites_public_base: str = ""  # s3 target: public URL of the bucket's sites/ (CloudFront)
    deploy_poll_interval_s: float = 2.0
    deploy_requeue_delay_s: int = 20  # a pending or transiently failed deploy comes back then
    deploy_max_requeues: int = 30  # ~10 min of provider-side building at the default delay
    # The operator's provider tokens: Secrets Manager names/ARNs, used when a request has none
    vercel_token_secret: str = ""
    netlify_token_secret: str = ""
    github_token_secret: str = ""
    # Schedules (issue 21): caps, fairness of the tick, expiry of abandoned owners' schedules
    schedules_per_owner: int = 10
    schedules_per_project: int = 3
    schedule_runs_per_owner_per_tick: int = 5
    schedule_idle_days: int = 30  # an owner not seen for this long loses their schedules
    secret_sweep_grace_s: int = 900  # a younger deploy secret may not have its item yet

    # Build gate
    build_timeout_s: float = 300.0
    npm_cache_dir: Path | None = None  # default: <system temp>/kiln-npm-cache
    build_gate: bool = True  # build every generated version; one auto-fix round when red
    render_check: bool = Field(default_factory=lambda: find_chromium() is not None)
    chromium_path: str | None = None  # default: /usr/bin/chromium or `chromium` on PATH
    render_wait_s: float = 1.5  # how long the rendered page may log errors
    # Acceptance checks (kiln.checks): time limits per step and per version
    check_step_timeout_s: float = 5.0
    checks_timeout_s: float = 60.0
    # where untrusted builds run: bubblewrap when installed ("auto"), required, or not at
    # all ("none": only where the process holds no credential, i.e. the builder function)
    build_sandbox: Literal["auto", "bwrap", "none"] = "auto"
    # reused installs (kiln.gate.installs): default <data_dir>/installs, <tmp> on the builder
    install_cache_dir: Path | None = None
    install_cache_max_bytes: int = 2_000_000_000  # the local level; S3 expires by lifecycle
    builder_function: str = ""  # AWS: the credential-less function that builds (kiln.gate.builder)
    lambda_endpoint_url: str | None = None  # Lambda's API, when not at aws_endpoint_url
    preview_ttl_hours: int = 168
    preview_max_ttl_hours: int = 720
    preview_base_url: str = ""  # public origin for preview links; "" answers a relative URL

    # Package service (kiln.packages): resolution, lockfiles and /pkg browser ESM
    npm_registry: str = "https://registry.npmjs.org"
    lock_dependencies: bool = True  # resolve package.json into package-lock.json per version
    pkg_store: Literal["dir", "s3"] = "dir"  # dir: <data_dir>/pkg; s3: <bucket>/pkg/
    pkg_tools_dir: Path | None = None  # esbuild + cjs-module-lexer; default tools/pkgbuild
    pkg_metadata_ttl_s: float = 300.0
    pkg_max_packages: int = 1500
    pkg_max_tarball_bytes: int = 40_000_000
    pkg_max_unpacked_bytes: int = 250_000_000
    pkg_max_output_bytes: int = 15_000_000
    pkg_build_timeout_s: float = 60.0
    pkg_resolution_ttl_s: float = 86_400.0  # a resolved graph answers the same ranges this long

    # Pyodide's package repository (pyodide-lock.json + wheels); "": the official CDN
    pyodide_packages_url: str = ""

    # Push (kiln.push): the WebSocket URL browsers open ("": the site's own /push, as kiln
    # dev serves it) and the API Gateway Management API endpoint connections are posted to
    push_url: str = ""
    push_endpoint: str = ""

    # Cognito (template parameters CognitoUserPoolId, CognitoAppClientId): both set, the
    # JWT's `sub` is the owner; the WebSocket's $connect verifies it itself (kiln.cognito)
    cognito_user_pool_id: str = ""
    cognito_app_client_id: str = ""
    cognito_issuer: str = ""  # "": https://cognito-idp.{aws_region}.amazonaws.com/{pool}

    # Telemetry: the CloudWatch namespace the template sets for powertools' Metrics
    metrics_namespace: str = Field(
        default="kiln",
        validation_alias=AliasChoices("KILN_METRICS_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"),
    )

    # Local stack
    data_dir: Path = Path(".kiln")
    web_dist: Path = Path("web/dist")


def allowed_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.allowed_origins.split(",") if o.strip()]


def find_chromium() -> str | None:
    """The machine's Chromium for the render check (none on Lambda)."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def provider_key(settings: Settings, provider: Literal["openai", "anthropic"]) -> SecretStr | None:
    """A provider's API key: given directly (one machine), else read from Secrets Manager
    when a model is called, through Powertools' parameters utility (cached an hour).
    Only the generation worker may read it; the key never sits in an environment."""
    direct, name = (
        (settings.openai_api_key, settings.openai_key_secret)
        if provider == "openai"
        else (settings.anthropic_api_key, settings.anthropic_key_secret)
    )
    if direct is not None or not name:
        return direct
    return secret_value(settings, name)


def secret_value(settings: Settings, name: str) -> SecretStr:
    """A secret's value from Secrets Manager (Powertools' parameters utility, cached an
    hour): what must not sit in a function's environment is read into memory instead."""
    return SecretStr(str(_secrets_provider(settings).get(name, max_age=3600)))


def has_provider_key(settings: Settings, provider: Literal["openai", "anthropic"]) -> bool:
    direct, name = (
        (settings.openai_api_key, settings.openai_key_secret)
        if provider == "openai"
        else (settings.anthropic_api_key, settings.anthropic_key_secret)
    )
    return direct is not None or bool(name)


_SECRETS: dict[tuple[str, str | None], Any] = {}


def _secrets_provider(settings: Settings) -> Any:
    """One Powertools provider (and so one cache) per AWS endpoint."""
    where = (settings.aws_region, settings.aws_endpoint_url)
    if where not in _SECRETS:
        import boto3
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        client = boto3.session.Session().client(
            "secretsmanager", region_name=where[0], endpoint_url=where[1]
        )
        _SECRETS[where] = SecretsProvider(boto3_client=client)
    return _SECRETS[where]
